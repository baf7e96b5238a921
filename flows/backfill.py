"""backfill_collections: run daily_collections for every snapshot date of a range, in order.

The `backfill` deployment and `arrears backfill` both run this flow. Each date is its own
daily_collections flow run (a subflow of the backfill's run); the first failure stops the
range, and running the range again from that date resumes it (a date already done is simply
recomputed to the same results). Progress is logged per date, on the console and in the UI.
"""

from __future__ import annotations

import time
import traceback
from datetime import date, timedelta
from typing import cast

from arrears.prefect_env import configure

configure()

from prefect import flow, get_run_logger  # noqa: E402

from arrears.errors import ArrearsError, ConfigError  # noqa: E402
from arrears.settings import load_settings  # noqa: E402
from flows import operator  # noqa: E402
from flows.daily_collections import daily_collections  # noqa: E402


@flow(
    name="backfill_collections",
    flow_run_name=operator.backfill_run_name,
    timeout_seconds=operator.timeout("ARREARS_BACKFILL_TIMEOUT_SECONDS"),
    on_failure=[operator.on_failure],
    on_crashed=[operator.on_failure],
)
def backfill_collections(
    start: date, end: date, settings: operator.SettingsParameter = None
) -> list[dict[str, object]]:
    """Process snapshot dates start..end (inclusive) one after the other."""
    if end < start:
        raise ConfigError(f"end {end} is before start {start}")
    settings = settings or load_settings()
    logger = get_run_logger()
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    began = time.monotonic()
    results = []
    for number, day in enumerate(days, start=1):
        logger.info("snapshot %s (%d of %d)", day, number, len(days))
        try:
            results.append(daily_collections(snapshot_date=day, settings=settings))
        except BaseException as exc:
            # Prefect keeps the failed run's exception until the process exits; without their
            # locals its frames no longer hold that run's objects (a DuckDB connection).
            traceback.clear_frames(exc.__traceback__)
            logger.error(
                "backfill stopped at %s (%d of %d): fix the cause, then resume from that date: "
                "arrears backfill --from %s --to %s, or this deployment with start=%s",
                day,
                number,
                len(days),
                day,
                end,
                day,
            )
            if isinstance(exc, ArrearsError):
                # A Failed state with a one-line message; calling the flow still raises exc.
                return cast(list[dict[str, object]], operator.failed(exc))
            raise
        logger.info(
            "snapshot %s done (%d of %d, %.0f s since the backfill started)",
            day,
            number,
            len(days),
            time.monotonic() - began,
        )
    logger.info("backfill done: %d snapshot dates, %s .. %s", len(days), start, end)
    return results
