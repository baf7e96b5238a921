"""Tonight's version of the state carried from night to night, ready for the commit."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task

from arrears import state
from arrears.settings import Settings


@task(name="carry-state")
def carry_state(snapshot_date: date, settings: Settings) -> dict[str, int]:
    """work.<state> for D from the previous night's version and the run's results."""
    logger = get_run_logger()
    with settings.open_warehouse() as con:
        previous = state.previous_snapshot(con, snapshot_date)
        counts = state.build(con, snapshot_date, previous)
    logger.info(
        "state after %s (from %s): %s",
        snapshot_date,
        previous or "no earlier night",
        ", ".join(f"{name} {rows}" for name, rows in counts.items()),
    )
    return counts
