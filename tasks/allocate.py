"""Who works each CALL, VISIT and LEGAL action, and in which order the visits are made."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task

from arrears.allocation.config import load_allocation
from arrears.allocation.step import allocate_night
from arrears.settings import Settings


@task(name="allocate")
def allocate_actions(snapshot_date: date, settings: Settings) -> dict[str, int]:
    logger = get_run_logger()
    config = load_allocation(settings.allocation)
    with settings.open_warehouse() as con:
        counts = allocate_night(con, snapshot_date, config)
    logger.info(
        "allocation %s: %d actions assigned, %d deferred (capacity); %d placements made, %d "
        "ended; visit routes: %d solved, %d in grouped order",
        config.version,
        counts["assigned"],
        counts["deferred"],
        counts["placed"],
        counts["ended"],
        counts["routes_solved"],
        counts["routes_grouped"],
    )
    return counts
