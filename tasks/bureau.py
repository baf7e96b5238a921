"""The reporting night's bureau rows, and the month's bureau files once they are committed."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task

from arrears.aging import load_aging_config
from arrears.bureau import files, month
from arrears.pii.keys import configured_key
from arrears.settings import Settings
from arrears.strategy import load_strategy


def reporting(snapshot_date: date, settings: Settings) -> bool:
    return month.is_reporting_day(snapshot_date, settings.bureau_day)


@task(name="bureau-month")
def build_bureau_month(snapshot_date: date, settings: Settings) -> int | None:
    """work.bureau_accounts on the reporting night (None on other nights)."""
    if not reporting(snapshot_date, settings):
        return None
    strategy = load_strategy(settings.strategy, settings.profile)
    with settings.open_warehouse() as con:
        rows = month.build(
            con,
            snapshot_date,
            tolerance=load_aging_config(settings.aging).tolerance,
            dispute_days=strategy.outcomes.dispute_days,
            default_timezone=settings.timezone,
        )
    get_run_logger().info("bureau month %s: %d accounts", f"{snapshot_date:%Y-%m}", rows)
    return rows


@task(name="publish-bureau")
def publish_bureau(run_id: str, snapshot_date: date, settings: Settings) -> int | None:
    """`<outbox>/bureau/<YYYY-MM>/` from the committed rows (None on other nights)."""
    if not reporting(snapshot_date, settings):
        return None
    with settings.open_warehouse() as con:
        content = files.publish(
            con,
            settings.outbox,
            month.month_of(snapshot_date),
            run_id,
            files.Reporter(settings.bureau_reporter_id, settings.bureau_reporter_name),
            configured_key(settings),
        )
    get_run_logger().info(
        "bureau files %s: %s", content["report_month"], [f["name"] for f in content["files"]]
    )
    return len(content["files"])
