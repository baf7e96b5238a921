"""Replace partition D of raw.* and marts.* with the run's results, in one transaction."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task

from arrears import commit
from arrears.settings import Settings


@task(name="commit")
def commit_results(snapshot_date: date, settings: Settings) -> dict[str, int]:
    logger = get_run_logger()
    with settings.open_warehouse() as con:
        counts = commit.commit(con, snapshot_date, keep_nights=settings.raw_keep_days)
    for table, rows in counts.items():
        logger.info("%s: partition replaced with %d rows", table, rows)
    return counts
