"""ops.runs: one row per run, written at start and completed at the end, whatever the outcome.

Its status always says what the run published, even when the run cannot write its end (a full
disk after the outbox went out): before the outbox swap the row already takes the state that
holds if nothing more succeeds (PUBLISHED_SINK_FAILED, or PUBLISHED_UNFINISHED without a sink),
each later step moves it on, and the next run settles rows whose process ended (`reconcile`),
checking the outbox manifest for the run that published it.
"""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from arrears import faults, warehouse
from arrears.migrations import arrears_version
from arrears.redact import describe_dsn, redact

if TYPE_CHECKING:
    from arrears.settings import Settings

logger = logging.getLogger(__name__)

RUNNING = "RUNNING"
# The outbox of the action date is this run's; PostgreSQL was not updated (the sink failed, or
# the run ended before it): `arrears sink --date D` sends it.
PUBLISHED_SINK_FAILED = "PUBLISHED_SINK_FAILED"
# The outbox (and PostgreSQL, when configured) are this run's; the run ended before its report
# and its bookkeeping were done: `arrears report --date D` writes the report.
PUBLISHED_UNFINISHED = "PUBLISHED_UNFINISHED"
PUBLISHED = (PUBLISHED_SINK_FAILED, PUBLISHED_UNFINISHED)


def action_date_for(snapshot_date: date) -> date:
    """A run on the snapshot of day D decides the actions of D + 1."""
    return snapshot_date + timedelta(days=1)


def later_snapshots_note(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> str | None:
    """What an operator must know when an older date is (re)run after newer ones, else None.

    Only D's partitions are replaced; later snapshots keep what they computed from the
    previous version of D (their transitions, roll rates, cadences) until they are rerun.
    """
    # raw.loans keeps the last nights only (older ones are archived); marts keep them all.
    later = [
        day
        for (day,) in con.execute(
            "select distinct snapshot_date from (select snapshot_date from raw.loans "
            "union all select snapshot_date from marts.loan_aging) "
            "where snapshot_date > $d order by 1",
            {"d": snapshot_date},
        ).fetchall()
    ]
    if not later:
        return None
    return (
        f"{len(later)} later snapshot(s) exist ({later[0]} .. {later[-1]}); they were computed "
        f"from the previous state of {snapshot_date} and are kept as they are, so they may now "
        f"be stale: `arrears backfill --from {snapshot_date + timedelta(days=1)} --to "
        f"{later[-1]}` recomputes them"
    )


def repeated_inputs_note(
    con: duckdb.DuckDBPyConnection, snapshot_date: date, inputs: dict[str, Any]
) -> str | None:
    """A warning when today's landing files are byte-identical to the previous snapshot's.

    The same export filed again under the next date passes every row check: the loans simply
    age one more day. Identical loans and installments files are almost always that mistake (a
    real day moves at least one payment, due date or status), so the run says so. A warning,
    not a rejection: a book with no activity at all over a holiday can repeat its files.
    """
    previous = con.execute(
        "select snapshot_date, inputs_json from ops.runs "
        "where snapshot_date < $d and status = 'SUCCEEDED' and inputs_json is not null "
        "order by snapshot_date desc, finished_at desc limit 1",
        {"d": snapshot_date},
    ).fetchall()
    if not previous:
        return None
    previous_date, previous_json = previous[0]
    before = json.loads(previous_json)
    same = [
        Path(today["file"]).name
        for name, today in inputs.items()
        if today.get("sha256")
        and today.get("sha256") == (before.get(name) or {}).get("sha256")
        and name in ("loans", "installments")
    ]
    if len(same) < 2:
        return None
    return (
        f"{' and '.join(same)} are byte-identical to the files of snapshot {previous_date}: "
        "if that export was filed again under this date, land the right files and rerun the date"
    )


def add_note(con: duckdb.DuckDBPyConnection, run_id: str, note: str) -> None:
    """Append `note` to the run's notes (one per line)."""
    note = redact(note)
    con.execute(
        "update ops.runs set notes = case when notes is null or notes = '' then $note "
        "else notes || chr(10) || $note end where run_id = $run_id",
        {"note": note, "run_id": run_id},
    )


def published_run_id(outbox: Path, action_date: date) -> str | None:
    """The run_id in the published manifest of the action date (None: nothing published)."""
    path = Path(outbox) / action_date.isoformat() / "_manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("run_id")
    except (OSError, ValueError):
        return None


def stopped_status(published: bool, sink_on: bool, sink_done: bool, otherwise: str) -> str:
    """The final status of a run that stops now: what it published decides."""
    if not published:
        return otherwise
    return PUBLISHED_SINK_FAILED if sink_on and not sink_done else PUBLISHED_UNFINISHED


def record_state(con: duckdb.DuckDBPyConnection, run_id: str, status: str) -> None:
    """Move a run still in progress to the state that holds if it stops from here on."""
    faults.checkpoint("runs:record")
    con.execute(
        "update ops.runs set status = $status where run_id = $run_id and finished_at is null",
        {"status": status, "run_id": run_id},
    )


def reconcile(con: duckdb.DuckDBPyConnection, outbox: Path | None) -> list[tuple[str, str]]:
    """Settle every run whose process ended before its end was recorded (the caller holds
    the run lock, so no such run is alive); returns (run_id, final status) of each.

    RUNNING: ABANDONED. A PUBLISHED_* state recorded before the outbox swap: kept when the
    outbox manifest of its action date names the run, else ABANDONED (it died before the swap).
    Without an outbox to look at (None), only RUNNING rows are settled.
    """
    unfinished = con.execute(
        "select run_id, action_date, status from ops.runs where finished_at is null "
        "and status in ($running, $sink_failed, $unfinished) order by started_at",
        {
            "running": RUNNING,
            "sink_failed": PUBLISHED_SINK_FAILED,
            "unfinished": PUBLISHED_UNFINISHED,
        },
    ).fetchall()
    settled = []
    for run_id, action_date, status in unfinished:
        if status == RUNNING:
            final, error = "ABANDONED", "the process ended before the run finished"
        elif outbox is None:
            continue
        elif published_run_id(outbox, action_date) == run_id:
            final = status
            error = (
                f"the process ended after publishing the outbox of {action_date}, before the "
                "run recorded its end"
            )
        else:
            final, error = "ABANDONED", "the process ended before its outbox was published"
        con.execute(
            "update ops.runs set status = $status, finished_at = now(), "
            "error = coalesce(error, $error) where run_id = $run_id",
            {"status": final, "error": error, "run_id": run_id},
        )
        settled.append((run_id, final))
    return settled


def start(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    snapshot_date: date,
    flow_run_id: str | None,
    settings_json: dict[str, Any],
    *,
    outbox: Path | None = None,
) -> None:
    note = later_snapshots_note(con, snapshot_date)
    if note:
        # The arrears logger reaches the flow run's logs (arrears/prefect_env.py).
        logger.warning(note)
    faults.checkpoint("runs:start")
    with warehouse.transaction(con):
        # Runs whose process died are settled by what they published, not left RUNNING.
        reconcile(con, outbox)
        con.execute(
            "insert into ops.runs (run_id, flow_run_id, snapshot_date, action_date, started_at, "
            "status, settings_json, arrears_version, notes) "
            "values ($run_id, $flow_run_id, $d, $a, now(), 'RUNNING', $s, $version, $note)",
            {
                "run_id": run_id,
                "flow_run_id": flow_run_id,
                "d": snapshot_date,
                "a": action_date_for(snapshot_date),
                "s": redact(json.dumps(settings_json, default=str, sort_keys=True)),
                "version": arrears_version(),
                "note": note,
            },
        )


def finish(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    status: str,
    *,
    error: str | None = None,
    inputs: dict[str, Any] | None = None,
    row_counts: dict[str, Any] | None = None,
) -> None:
    faults.checkpoint("runs:finish")
    con.execute(
        "update ops.runs set status = $status, finished_at = now(), error = $error, "
        "inputs_json = coalesce($inputs, inputs_json), "
        "row_counts_json = coalesce($counts, row_counts_json) where run_id = $run_id",
        {
            "status": status,
            "error": redact(error) if error else error,
            "inputs": json.dumps(inputs, default=str, sort_keys=True) if inputs else None,
            "counts": json.dumps(row_counts, default=str, sort_keys=True) if row_counts else None,
            "run_id": run_id,
        },
    )


def settings_summary(settings: Settings) -> dict[str, Any]:
    """What a run records of its settings: locations and rules, never credentials."""
    dsn = settings.postgres_dsn()
    return {
        "landing": str(settings.landing),
        "warehouse": str(settings.warehouse),
        "outbox": str(settings.outbox),
        "archive": str(settings.archive),
        "strategy": str(settings.strategy),
        "aging": str(settings.aging),
        "profile": settings.profile,
        "timezone": settings.timezone,
        "postgres_sink": settings.postgres is not None,
        # where the sink writes, without the password (libpq's parse of the DSN)
        "postgres": describe_dsn(dsn) if dsn else None,
    }


def record_rejected(settings: Settings, snapshot_date: date, error: str) -> str | None:
    """A run refused by the command line's landing check, before Prefect started: one
    REJECTED row, as the run itself would have written, when the warehouse exists (nothing is
    created for it). Returns the run id."""
    import uuid

    if not Path(settings.warehouse).exists():
        return None
    run_id = f"cli-{uuid.uuid4()}"
    holder = f"arrears run {snapshot_date} (landing refused) {run_id}"
    with (
        warehouse.run_lock(settings.warehouse, settings.lock_timeout_seconds, holder),
        settings.open_warehouse() as con,
    ):
        start(con, run_id, snapshot_date, None, settings_summary(settings), outbox=settings.outbox)
        finish(con, run_id, "REJECTED", error=error)
    return run_id
