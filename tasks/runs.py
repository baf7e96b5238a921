"""ops.runs bookkeeping at the start and end of every run."""

# settings_summary: re-exported, what a run records of its settings (arrears.runs).

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import task

from arrears import continuity, runs, warehouse
from arrears.runs import settings_summary
from arrears.settings import Settings


@task(name="check-continuity")
def check_continuity(snapshot_date: date, settings: Settings) -> None:
    """Refuse, before anything is written, a run that would start a new history by mistake."""
    continuity.check(
        settings.warehouse,
        settings.landing,
        settings.outbox,
        snapshot_date,
        init=settings.init,
        wait_seconds=settings.lock_timeout_seconds,
    )


@task(name="start-run")
def start_run(
    run_id: str, snapshot_date: date, flow_run_id: str | None, settings: Settings
) -> None:
    with settings.open_warehouse() as con:
        # Leftovers of a run that was killed are never read, but may hold personal data.
        warehouse.clear_work(con)
        if settings.init:
            seen = continuity.evidence(settings.landing, settings.outbox, snapshot_date)
            continuity.record_initialisation(
                con, settings.warehouse, snapshot_date, seen, settings.landing, settings.outbox
            )
        runs.start(
            con,
            run_id,
            snapshot_date,
            flow_run_id,
            settings_summary(settings),
            outbox=settings.outbox,
        )


@task(name="record-run-state")
def record_run_state(run_id: str, status: str, settings: Settings) -> None:
    """The state that holds if the run stops from here on (runs.record_state)."""
    with settings.open_warehouse() as con:
        runs.record_state(con, run_id, status)


@task(name="finish-run")
def finish_run(
    run_id: str,
    status: str,
    settings: Settings,
    error: str | None = None,
    inputs: dict[str, Any] | None = None,
    row_counts: dict[str, Any] | None = None,
) -> None:
    with settings.open_warehouse() as con:
        runs.finish(con, run_id, status, error=error, inputs=inputs, row_counts=row_counts)
        warehouse.clear_work(con)
