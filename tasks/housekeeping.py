"""Retention after the night: raw snapshots to the archive, personal data and old outbox
folders erased, each recorded in ops.housekeeping (arrears/housekeeping.py)."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task

from arrears import housekeeping
from arrears.settings import Settings
from tasks.retries import transient_only


# Idempotent: a retry writes byte-identical archive files and finds nothing more to do.
@task(name="housekeeping", retries=2, retry_delay_seconds=5, retry_condition_fn=transient_only)
def keep_house(run_id: str, snapshot_date: date, settings: Settings) -> dict[str, int]:
    logger = get_run_logger()
    with settings.open_warehouse() as con:
        report = housekeeping.run(
            con, snapshot_date, housekeeping.Retention.from_settings(settings), run_id
        )
    for entry in report.entries:
        logger.info(entry.describe())
    for note in report.notes:
        logger.warning(note)
    if not report.entries:
        logger.info(
            "nothing to archive or erase (raw.* keeps %d snapshots, outbox %d days)",
            settings.raw_keep_days,
            settings.outbox_keep_days,
        )
    return report.totals()
