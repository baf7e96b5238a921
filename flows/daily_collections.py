"""daily_collections: one snapshot date in, tomorrow's collection actions out.

    landing/<D>/ -> ingest -> validate -> age -> decide -> allocate -> validate -> kpis -> state
        -> [bureau month] -> seal -> commit -> publish -> [bureau files] -> housekeeping -> report

The bracketed steps run on the month's reporting night only (docs/bureau.md).

Nothing reaches raw.* or marts.* unless every step before the commit succeeded, and the
commit replaces the date's partitions in one transaction. Housekeeping (retention, archive)
runs once the actions are out: publishing reads the night's raw.customers, and a failure to
archive must not hold back the actions. Once the outbox is out, ops.runs says so whatever
fails after (arrears/runs.py): PUBLISHED_SINK_FAILED, PUBLISHED_UNFINISHED.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from arrears.prefect_env import configure

configure()

from prefect import flow, get_run_logger  # noqa: E402
from prefect.runtime import flow_run  # noqa: E402

from arrears import faults, runs, warehouse  # noqa: E402
from arrears.errors import ArrearsError, InputRejected  # noqa: E402
from arrears.pii.keys import require_key  # noqa: E402
from arrears.quality import preload  # noqa: E402
from arrears.settings import Settings, load_settings  # noqa: E402
from flows import operator  # noqa: E402
from flows.partitioned_collections import age_and_decide  # noqa: E402
from tasks.aging import age_loans  # noqa: E402
from tasks.allocate import allocate_actions  # noqa: E402
from tasks.bureau import build_bureau_month, publish_bureau  # noqa: E402
from tasks.commit import commit_results  # noqa: E402
from tasks.decide import decide_actions  # noqa: E402
from tasks.housekeeping import keep_house  # noqa: E402
from tasks.ingest import ingest_landing  # noqa: E402
from tasks.kpis import compute_kpis  # noqa: E402
from tasks.pii import seal_personal_data  # noqa: E402
from tasks.publish import publish_actions, sink_to_postgres  # noqa: E402
from tasks.quality import validate_action_lists, validate_landing  # noqa: E402
from tasks.report import report_run, summarize_run  # noqa: E402
from tasks.runs import (  # noqa: E402
    check_continuity,
    finish_run,
    record_run_state,
    start_run,
)
from tasks.state import carry_state  # noqa: E402


def _message(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, ArrearsError) else f"{type(exc).__name__}: {exc}"


def stopped_status(run_id: str, snapshot_date: date, settings: Settings, sink_done: bool) -> str:
    """The final status of a run that stops on a failure: FAILED, unless its outbox is out."""
    action_date = snapshot_date + timedelta(days=1)
    published = runs.published_run_id(settings.outbox, action_date) == run_id
    return runs.stopped_status(published, settings.postgres is not None, sink_done, "FAILED")


def summarize(run_id: str, snapshot_date: date, settings: Settings, folder: str) -> None:
    """The run-summary artifact; the run's status is recorded already, so a failure to write
    it is logged, not the run's failure."""
    try:
        summarize_run(run_id, snapshot_date, settings, folder)
    except Exception as exc:
        get_run_logger().warning("the run-summary artifact was not written: %s", _message(exc))


def yesterday(timezone: str) -> date:
    """The default snapshot: the day that ended most recently in the lender's time zone."""
    return datetime.now(ZoneInfo(timezone)).date() - timedelta(days=1)


@flow(
    name="daily_collections",
    flow_run_name=operator.daily_run_name,
    timeout_seconds=operator.timeout("ARREARS_RUN_TIMEOUT_SECONDS"),
    on_failure=[operator.on_failure],
    on_crashed=[operator.on_failure],
    log_prints=True,
)
def daily_collections(
    snapshot_date: date | None = None, settings: operator.SettingsParameter = None
) -> dict[str, object]:
    """Process the loan snapshot of `snapshot_date` (default: yesterday) end to end."""
    try:
        return night(snapshot_date, settings)
    except ArrearsError as exc:
        # A Failed state with a one-line message; calling the flow still raises exc.
        return cast(dict[str, object], operator.failed(exc))


def night(snapshot_date: date | None, settings: Settings | None) -> dict[str, object]:
    settings = settings or load_settings()
    snapshot_date = snapshot_date or yesterday(settings.timezone)
    logger = get_run_logger()
    run_id = str(flow_run.id or uuid.uuid4())
    logger.info("snapshot %s -> actions for %s", snapshot_date, snapshot_date + timedelta(days=1))
    logger.info(
        "warehouse %s, landing %s, outbox %s",
        settings.warehouse.resolve(),
        settings.landing.resolve(),
        settings.outbox.resolve(),
    )
    check_continuity(snapshot_date, settings)

    holder = f"daily_collections {snapshot_date} run {run_id}"
    with warehouse.run_lock(settings.warehouse, settings.lock_timeout_seconds, holder):
        require_key(settings)  # a missing or wrong key: exit 2, nothing read or written
        start_run(run_id, snapshot_date, flow_run.id, settings)
        faults.checkpoint("flow:after-start")
        inputs: dict[str, dict] | None = None
        sunk: int | None = None
        sink_done, sink_error = False, None
        try:
            preload.start()  # GX loads while ingest reads the files
            landed = ingest_landing(snapshot_date, settings, run_id)
            inputs = landed.as_json()
            faults.checkpoint("flow:after-ingest")
            landing_audit = validate_landing(run_id, snapshot_date, settings, landed.sources())
            faults.checkpoint("flow:after-validate-landing")
            if settings.partitions > 1:
                # Customers in N partitions on Dask (docs/scaling.md); same results.
                aged, decided = age_and_decide(snapshot_date, settings)
            else:
                aged = age_loans(snapshot_date, settings)
                faults.checkpoint("flow:after-age")
                decided = decide_actions(snapshot_date, settings)
            faults.checkpoint("flow:after-decide")
            allocated = allocate_actions(snapshot_date, settings)
            validate_action_lists(run_id, snapshot_date, settings)
            faults.checkpoint("flow:after-validate-actions")
            kpi_rows = compute_kpis(snapshot_date, settings)
            carried = carry_state(snapshot_date, settings)
            bureau_rows = build_bureau_month(snapshot_date, settings)
            seal_personal_data(snapshot_date, settings)
            committed = commit_results(snapshot_date, settings)
            faults.checkpoint("flow:after-commit")
            published = publish_actions(run_id, snapshot_date, settings)
            faults.checkpoint("flow:after-publish")
            bureau_files = publish_bureau(run_id, snapshot_date, settings)
            if settings.postgres:
                # The outbox is out: a failed sink does not stop the report; the run then ends
                # PUBLISHED_SINK_FAILED and `arrears sink --date D` sends it again.
                try:
                    sunk = sink_to_postgres(snapshot_date, settings, run_id)
                except Exception as exc:
                    sink_error = exc
                else:
                    sink_done = True
                    record_run_state(run_id, runs.PUBLISHED_UNFINISHED, settings)
            faults.checkpoint("flow:after-sink-postgres")
            kept = keep_house(run_id, snapshot_date, settings)
            faults.checkpoint("flow:after-housekeeping")
            report = report_run(run_id, snapshot_date, settings, str(published["folder"]))
            faults.checkpoint("flow:after-report")
        except InputRejected as exc:
            finish_run(run_id, "REJECTED", settings, error=str(exc), inputs=inputs)
            operator.note_stopped(flow_run.id, "REJECTED")
            raise
        except Exception as exc:
            # What ops.runs says is what went out: the outbox manifest tells whether it did.
            status = stopped_status(run_id, snapshot_date, settings, sink_done)
            error = _message(exc) if sink_error is None else f"{_message(sink_error)}; {exc}"
            finish_run(run_id, status, settings, error=error, inputs=inputs)
            operator.note_stopped(flow_run.id, status)
            raise
        counts = {
            "ingest": landed.rows(),
            "quarantined": landing_audit.quarantined,
            "age": aged,
            "decide": decided,
            "allocate": allocated,
            "kpis": kpi_rows,
            "state": carried,
            "bureau": {"rows": bureau_rows, "files": bureau_files},
            "commit": committed,
            "publish": published["files"],
            "postgres": sunk,
            "housekeeping": kept,
            "report": report,
        }
        if sink_error is not None:
            finish_run(
                run_id,
                runs.PUBLISHED_SINK_FAILED,
                settings,
                error=_message(sink_error),
                inputs=inputs,
                row_counts=counts,
            )
            operator.note_stopped(flow_run.id, runs.PUBLISHED_SINK_FAILED)
            summarize(run_id, snapshot_date, settings, str(published["folder"]))
            raise sink_error
        finish_run(run_id, "SUCCEEDED", settings, inputs=inputs, row_counts=counts)
        # Written after finish-run, so it shows the run's final status.
        summarize(run_id, snapshot_date, settings, str(published["folder"]))
    return {"run_id": run_id, "snapshot_date": snapshot_date.isoformat(), "rows": counts}
