"""The PostgreSQL sink of one snapshot date, from the settings: the nightly task's body, and
`arrears sink --date D`, which sends a published date again after PUBLISHED_SINK_FAILED.

The rows are read out of the warehouse, which is closed before PostgreSQL is asked for
anything: a lock wait there never keeps readers or the next run out of the file.
"""

from __future__ import annotations

import json
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from arrears import runs, warehouse
from arrears.errors import ConfigError
from arrears.publish.postgres_sink import Timeouts, export_sink_rows, send_sink_rows
from arrears.redact import describe_dsn
from arrears.runs import action_date_for
from arrears.settings import Settings


def sink_date(
    snapshot_date: date, settings: Settings, logger: Any, run_id: str | None = None
) -> int:
    """Replace the action date's rows in PostgreSQL by the committed marts; returns actions.
    `run_id` is the run whose marts are sent: it goes on the rows and the `loads` row."""
    dsn = settings.postgres_dsn()
    if dsn is None:
        raise ConfigError("no PostgreSQL sink is configured (--postgres / ARREARS_POSTGRES)")
    action_date = action_date_for(snapshot_date)
    timeouts = Timeouts(
        connect=settings.postgres_connect_timeout,
        lock=settings.postgres_lock_timeout,
        statement=settings.postgres_statement_timeout,
    )
    with tempfile.TemporaryDirectory(prefix="arrears-sink-") as scratch:
        with settings.open_warehouse(read_only=True) as con:
            staged = export_sink_rows(con, action_date, Path(scratch))
        logger.info(
            "postgres sink: %d actions for %s read, warehouse closed; sending to %s",
            staged[0].rows,
            action_date,
            describe_dsn(dsn),
        )
        sent = send_sink_rows(
            staged, action_date, dsn, timeouts=timeouts, log=logger, run_id=run_id
        )
    logger.info("postgres sink: %d actions for %s committed", sent, action_date)
    return sent


def retry_sink(snapshot_date: date, settings: Settings, logger: Any) -> tuple[int, str]:
    """Send the published actions of D + 1 to PostgreSQL again; only the sink runs.

    Under the run lock (no run of the warehouse meanwhile): unfinished runs are settled first,
    then the date's latest run must be the one whose outbox is published, so the committed
    marts are what went out. On success a PUBLISHED_SINK_FAILED run becomes SUCCEEDED (or
    PUBLISHED_UNFINISHED when its report was not written). Returns (actions, the run's status).
    """
    if settings.postgres is None:
        raise ConfigError("no PostgreSQL sink is configured (--postgres / ARREARS_POSTGRES)")
    action_date = action_date_for(snapshot_date)
    holder = f"sink {snapshot_date}"
    with warehouse.run_lock(settings.warehouse, settings.lock_timeout_seconds, holder):
        if not settings.warehouse.exists():
            raise ConfigError(f"--warehouse: {settings.warehouse.resolve()} does not exist")
        with settings.open_warehouse() as con:
            runs.reconcile(con, settings.outbox)
            latest = con.execute(
                "select run_id, status, row_counts_json from ops.runs where snapshot_date = $d "
                "order by started_at desc limit 1",
                {"d": snapshot_date},
            ).fetchall()
        published_by = runs.published_run_id(settings.outbox, action_date)
        sendable = (*runs.PUBLISHED, "SUCCEEDED")
        if not latest or latest[0][0] != published_by or latest[0][1] not in sendable:
            found = f"its latest run is {latest[0][1]}" if latest else "it has no run"
            outbox = "is not published" if published_by is None else "was published by another run"
            raise ConfigError(
                f"snapshot {snapshot_date}: {found}, and the outbox of {action_date} {outbox}: "
                "only a date whose latest run published its outbox is sent again. Rerun the "
                f"date: arrears run --date {snapshot_date}"
            )
        run_id, status, counts_json = latest[0]
        sent = sink_date(snapshot_date, settings, logger, run_id)
        counts = json.loads(counts_json) if counts_json else {}
        if status == runs.PUBLISHED_SINK_FAILED:
            status = "SUCCEEDED" if counts.get("report") else runs.PUBLISHED_UNFINISHED
        with settings.open_warehouse() as con:
            con.execute(
                "update ops.runs set status = $status, "
                "row_counts_json = json_merge_patch(coalesce(row_counts_json, '{}'), $sunk) "
                "where run_id = $run_id",
                {"status": status, "sunk": json.dumps({"postgres": sent}), "run_id": run_id},
            )
            runs.add_note(
                con, run_id, f"postgres sink sent again by `arrears sink`: {sent} actions"
            )
    return sent, status
