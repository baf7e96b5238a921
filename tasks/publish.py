"""Channel outbox files (atomic per action date) and the optional PostgreSQL sink."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from arrears import runs, warehouse
from arrears.errors import InputRejected
from arrears.pii.keys import configured_key
from arrears.publish import publish_outbox
from arrears.publish.date_sink import sink_date
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
    # What ops.runs says if the run stops once the set is visible: recorded before the swap.
    published = runs.stopped_status(True, settings.postgres is not None, False, runs.RUNNING)
    with settings.open_warehouse() as con:
        _require_passed_audit(con, run_id, action_date)

        def record_before_swap(step: str) -> None:
            if step == "before_swap":
                runs.record_state(con, run_id, published)

        manifest = publish_outbox(
            con,
            action_date,
            settings.outbox,
            run_id,
            settings.csv_channels,
            settings.csv_encoding,
            key=configured_key(settings),
            on_step=record_before_swap,
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
def sink_to_postgres(snapshot_date: date, settings: Settings, run_id: str | None = None) -> int:
    return sink_date(snapshot_date, settings, get_run_logger(), run_id)
