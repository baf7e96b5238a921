"""backfill_collections: run daily_collections for every snapshot date of a range, in order.

Each date is its own (sub)flow run; the first failure stops the range, and rerunning the
range from that date resumes it (finished dates are simply recomputed identically).
"""

from __future__ import annotations

from datetime import date, timedelta

from arrears.prefect_env import configure

configure()

from prefect import flow, get_run_logger  # noqa: E402

from arrears.errors import ConfigError  # noqa: E402
from arrears.settings import Settings, load_settings  # noqa: E402
from flows.daily_collections import daily_collections  # noqa: E402


@flow(name="backfill_collections")
def backfill_collections(
    start: date, end: date, settings: Settings | None = None
) -> list[dict[str, object]]:
    """Process snapshot dates start..end (inclusive) one after the other."""
    if end < start:
        raise ConfigError(f"end {end} is before start {start}")
    settings = settings or load_settings()
    logger = get_run_logger()
    days = (end - start).days + 1
    results = []
    for i in range(days):
        day = start + timedelta(days=i)
        logger.info("snapshot %s (%d of %d)", day, i + 1, days)
        results.append(daily_collections(snapshot_date=day, settings=settings))
    return results
