"""What an operator reads at a glance: Prefect artifacts and the daily HTML report."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)

from arrears.report import run_summary, write_report
from arrears.settings import Settings


@task(name="report")
def report_run(run_id: str, snapshot_date: date, settings: Settings, outbox_folder: str) -> str:
    logger = get_run_logger()
    with settings.open_warehouse() as con:
        summary = run_summary(con, snapshot_date)
        path = write_report(
            con,
            snapshot_date,
            settings.reports,
            settings.outbox.resolve(),
            manifest_url=settings.manifest_link(summary.action_date),
        )
    for key, rows in summary.artifact_tables().items():
        create_table_artifact(
            key=key, table=rows, description=f"{key} for snapshot {snapshot_date}"
        )
    url = settings.report_link(path)
    if url is not None:
        create_link_artifact(
            key="report",
            link=url,
            link_text=f"report for snapshot {snapshot_date}",
            description=f"the HTML report of snapshot {snapshot_date}",
        )
    logger.info("report written to %s", path)
    return str(path)


@task(name="run-summary")
def summarize_run(run_id: str, snapshot_date: date, settings: Settings, outbox_folder: str) -> None:
    """The `run-summary` artifact, read once ops.runs holds the run's final status."""
    manifest = str(Path(outbox_folder) / "_manifest.json")
    with settings.open_warehouse(read_only=True) as con:
        summary = run_summary(con, snapshot_date)
    create_markdown_artifact(
        key="run-summary",
        markdown=summary.markdown(manifest, settings.manifest_link(summary.action_date)),
        description=f"arrears run {run_id} for snapshot {snapshot_date}",
    )
