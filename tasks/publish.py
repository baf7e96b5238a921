"""Channel outbox files (atomic per action date) and the optional PostgreSQL sink."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from arrears import warehouse
from arrears.errors import InputRejected
from arrears.publish import publish_outbox
from arrears.publish.postgres_sink import Timeouts, export_sink_rows, send_sink_rows
from arrears.redact import describe_dsn
from arrears.runs import action_date_for
from arrears.settings import Settings
from tasks.retries import transient_only


def _require_passed_audit(con, run_id: str, action_date: date) -> None:
    """Nothing reaches a channel unless this run's pre-publish suite succeeded."""
    passed = warehouse.scalar(
        con,
        "select bool_and(success) from quality.runs "
        "where run_id = $run_id and suite = 'actions.critical'",
        {"run_id": run_id},
    )
    if not passed:
        raise InputRejected(
            f"marts.collection_actions (action date {action_date})",
            "the pre-publish validation did not pass for this run; refusing to publish",
            0,
            hint="see quality.runs for this run_id",
        )


@task(name="publish")
def publish_actions(run_id: str, snapshot_date: date, settings: Settings) -> dict[str, object]:
    logger = get_run_logger()
    action_date = action_date_for(snapshot_date)
    with settings.open_warehouse() as con:
        _require_passed_audit(con, run_id, action_date)
        manifest = publish_outbox(
            con,
            action_date,
            settings.outbox,
            run_id,
            settings.csv_channels,
            settings.csv_encoding,
        )
    folder = settings.outbox.resolve() / action_date.isoformat()
    rows = {f.name: f.rows for f in manifest.files}
    logger.info("outbox %s: %s", folder, rows)
    lines = [
        f"# Outbox for {action_date}",
        "",
        f"Manifest: `{folder / '_manifest.json'}`",
        "",
        "| file | rows | sha256 |",
        "|---|---:|---|",
        *(f"| {f.name} | {f.rows:,} | `{f.sha256[:16]}…` |" for f in manifest.files),
    ]
    create_markdown_artifact(
        key="outbox", markdown="\n".join(lines), description=f"Outbox for {action_date}"
    )
    return {"folder": str(folder), "files": rows}


@task(name="sink-postgres", retries=3, retry_delay_seconds=10, retry_condition_fn=transient_only)
def sink_to_postgres(snapshot_date: date, settings: Settings) -> int:
    return sink_date(snapshot_date, settings, get_run_logger())


def sink_date(snapshot_date: date, settings: Settings, logger: Any) -> int:
    """The sink of one date: the rows are read out of the warehouse, which is closed before
    PostgreSQL is asked for anything, so a wait there never keeps readers out of the file."""
    dsn = settings.postgres_dsn()
    assert dsn is not None
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
        sent = send_sink_rows(staged, action_date, dsn, timeouts=timeouts, log=logger)
    logger.info("postgres sink: %d actions for %s committed", sent, action_date)
    return sent
