"""The steps of a same-day cancellation run: read the day's payments, find what they withdraw
and commit it, publish the cancel set, and the optional PostgreSQL copy."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from arrears import cancel, payments, warehouse
from arrears.aging import load_aging_config
from arrears.publish import cancel_folder, publish_cancellations, sink_cancellations
from arrears.settings import Settings
from arrears.strategy import load_strategy
from tasks.retries import transient_only


@task(name="read-payments", retries=2, retry_delay_seconds=5, retry_condition_fn=transient_only)
def read_payments(action_date: date, settings: Settings) -> dict[str, object]:
    """The day's payment files into work.payments; refuses a day whose night is not committed."""
    logger = get_run_logger()
    with settings.open_warehouse() as con:
        warehouse.clear_work(con)
        actions = cancel.require_committed_night(con, action_date)
        landed = payments.load_payments(
            con, action_date, settings.landing, settings.timezone, settings.encoding
        )
    for f in landed.files:
        logger.info("payments: %d rows from %s", f.rows, f.file)
    logger.info(
        "action date %s: %d committed actions, %d payments in %d files",
        action_date,
        actions,
        landed.rows,
        len(landed.files),
    )
    return {"actions": actions, **landed.as_json()}


@task(name="cancel-paid-actions")
def cancel_paid_actions(action_date: date, settings: Settings) -> dict[str, dict[str, int]]:
    """marts.cancelled_actions of the date replaced; withdrawn actions per channel and reason."""
    logger = get_run_logger()
    strategy = load_strategy(settings.strategy, settings.profile)
    tolerance = load_aging_config(settings.aging).tolerance
    with settings.open_warehouse() as con:
        counts = cancel.find_cancellations(con, action_date, strategy, tolerance)
    per_channel: dict[str, dict[str, int]] = {}
    for (channel, reason), n in counts.items():
        per_channel.setdefault(channel.lower(), {})[reason] = n
    logger.info("marts.cancelled_actions %s: %s", action_date, per_channel or "none")
    return per_channel


@task(name="publish-cancel-set")
def publish_cancel_set(run_id: str, action_date: date, settings: Settings) -> dict[str, object]:
    logger = get_run_logger()
    with settings.open_warehouse() as con:
        manifest = publish_cancellations(con, action_date, settings.outbox, run_id)
        figures = con.execute(
            "select lower(channel), reason, count(*), sum(covered_amount) "
            "from marts.cancelled_actions where action_date = $d group by all order by all",
            {"d": action_date},
        ).fetchall()
    folder = cancel_folder(settings.outbox.resolve(), action_date)
    rows = {f.name: f.rows for f in manifest.files}
    logger.info("cancel set %s: %s", folder, rows)
    # Ids and amounts only: the artifact carries no personal data.
    lines = [
        f"# Cancellations for {action_date}",
        "",
        f"Manifest: `{folder / '_manifest.json'}`",
        "",
        "| channel | reason | actions withdrawn | covered amount |",
        "|---|---|---:|---:|",
        *(f"| {c} | {r} | {n:,} | {amount:,.2f} |" for c, r, n, amount in figures),
        "",
        "| file | rows | sha256 |",
        "|---|---:|---|",
        *(f"| {f.name} | {f.rows:,} | `{f.sha256[:16]}…` |" for f in manifest.files),
    ]
    create_markdown_artifact(
        key="cancellations",
        markdown="\n".join(lines),
        description=f"Cancellations for {action_date}",
    )
    return {"folder": str(folder), "files": rows, "content_sha256": manifest.content_sha256}


@task(
    name="sink-cancellations-postgres",
    retries=3,
    retry_delay_seconds=10,
    retry_condition_fn=transient_only,
)
def sink_cancellations_to_postgres(action_date: date, settings: Settings) -> int:
    dsn = settings.postgres_dsn()
    assert dsn is not None
    with settings.open_warehouse() as con:
        sent = sink_cancellations(con, action_date, dsn)
    get_run_logger().info("postgres sink: %d cancellations for %s committed", sent, action_date)
    return sent


@task(name="clear-work")
def clear_scratch(settings: Settings) -> None:
    """The run's scratch tables go (the night starts from an empty work schema too)."""
    with settings.open_warehouse() as con:
        warehouse.clear_work(con)
