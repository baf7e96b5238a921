"""cancel_actions: withdraw the day's actions that the day's payments made unnecessary.

    landing/<A>/payments/ -> read -> cancel (marts.cancelled_actions) -> publish cancel set
        -> PostgreSQL (optional)

It reads what the night of A - 1 committed and never re-runs it. Every call recomputes the
whole list from all of the day's payment files so far, so calls are cumulative and idempotent;
the prefect.yaml deployment `cancel` runs it every 30 minutes during the day.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import cast

from arrears.prefect_env import configure

configure()

from zoneinfo import ZoneInfo  # noqa: E402

from prefect import flow, get_run_logger  # noqa: E402
from prefect.runtime import flow_run  # noqa: E402

from arrears import faults, warehouse  # noqa: E402
from arrears.errors import ArrearsError  # noqa: E402
from arrears.settings import Settings, load_settings  # noqa: E402
from flows import operator  # noqa: E402
from tasks.cancel import (  # noqa: E402
    cancel_paid_actions,
    clear_scratch,
    publish_cancel_set,
    read_payments,
    sink_cancellations_to_postgres,
)


def today(timezone: str) -> date:
    """The default action date: the current day in the lender's time zone."""
    return datetime.now(ZoneInfo(timezone)).date()


@flow(
    name="cancel_actions",
    flow_run_name=operator.cancel_run_name,
    timeout_seconds=operator.timeout("ARREARS_CANCEL_TIMEOUT_SECONDS"),
    on_failure=[operator.on_failure],
    on_crashed=[operator.on_failure],
    log_prints=True,
)
def cancel_actions(
    action_date: date | None = None, settings: operator.SettingsParameter = None
) -> dict[str, object]:
    """Publish the cumulative cancellations of `action_date` (default: today)."""
    try:
        return cancel_night(action_date, settings)
    except ArrearsError as exc:
        # A Failed state with a one-line message; calling the flow still raises exc.
        return cast(dict[str, object], operator.failed(exc))


def cancel_night(action_date: date | None, settings: Settings | None) -> dict[str, object]:
    settings = settings or load_settings()
    action_date = action_date or today(settings.timezone)
    run_id = str(flow_run.id or uuid.uuid4())
    get_run_logger().info("cancellations for action date %s", action_date)

    holder = f"cancel_actions {action_date} run {run_id}"
    with warehouse.run_lock(settings.warehouse, settings.lock_timeout_seconds, holder):
        try:
            read = read_payments(action_date, settings)
            faults.checkpoint("cancel:after-read")
            cancelled = cancel_paid_actions(action_date, settings)
            faults.checkpoint("cancel:after-commit")
            published = publish_cancel_set(run_id, action_date, settings)
            sunk = (
                sink_cancellations_to_postgres(action_date, settings) if settings.postgres else None
            )
        finally:
            clear_scratch(settings)
    return {
        "run_id": run_id,
        "action_date": action_date.isoformat(),
        "actions": read["actions"],
        "payments": read["rows"],
        "cancelled": cancelled,
        "folder": published["folder"],
        "files": published["files"],
        "postgres": sunk,
    }
