"""Days past due, buckets, loan classes, transitions and roll rates for the snapshot."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task

from arrears import warehouse
from arrears.aging import build_aging, load_aging_config
from arrears.settings import Settings


@task(name="age")
def age_loans(snapshot_date: date, settings: Settings) -> dict[str, int]:
    logger = get_run_logger()
    config = load_aging_config(settings.aging)
    with settings.open_warehouse() as con:
        counts = build_aging(con, snapshot_date, config)
        buckets = con.execute(
            "select bucket, count(*) from work.loan_aging where is_aged "
            "group by bucket order by bucket"
        ).fetchall()
        mismatches = warehouse.scalar(
            con, "select count(*) from work.loan_aging where has_source_dpd_mismatch"
        )
    logger.info("loan_aging: %d loans; by bucket: %s", counts["loan_aging"], dict(buckets))
    if mismatches:
        logger.warning("source_dpd disagrees with the computed dpd for %d loans", mismatches)
    return counts
