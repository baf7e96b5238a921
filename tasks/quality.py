"""Great Expectations audits: on what landed, and on the action lists before publishing."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact

from arrears.contract import CHANNELS
from arrears.publish import channel_columns
from arrears.quality import ValidationReport, preload, validate_actions, validate_landed
from arrears.runs import action_date_for
from arrears.settings import Settings


def headline(report: ValidationReport) -> str:
    suites = report.suites
    failed = [s.suite for s in suites if not s.success]
    quarantined = sum(report.quarantined.values())
    return (
        f"{len(suites)} suites, {sum(s.evaluated for s in suites)} expectations, "
        f"failed: {', '.join(failed) or 'none'}, {quarantined} rows quarantined, "
        f"{len(report.warnings)} warnings"
    )


@task(name="validate-landing")
def validate_landing(
    run_id: str,
    snapshot_date: date,
    settings: Settings,
    sources: dict[str, str] | None = None,
) -> ValidationReport:
    logger = get_run_logger()
    preload.wait()
    with settings.open_warehouse() as con:
        report = validate_landed(con, snapshot_date, run_id, settings, sources=sources)
    create_table_artifact(
        key="validation-landing",
        table=report.as_rows(),
        description=f"Validation of the landing files of {snapshot_date}",
    )
    for dataset, rows in report.quarantined.items():
        if rows:
            logger.warning("%s: %d rows quarantined (see quality.quarantine)", dataset, rows)
    for warning in report.warnings:
        logger.warning(warning)
    logger.info("landing validated: %s", headline(report))
    return report


@task(name="validate-actions")
def validate_action_lists(run_id: str, snapshot_date: date, settings: Settings) -> ValidationReport:
    logger = get_run_logger()
    action_date = action_date_for(snapshot_date)
    columns = {channel: channel_columns(channel) for channel in CHANNELS}
    with settings.open_warehouse() as con:
        report = validate_actions(con, action_date, run_id, settings, outbox_columns=columns)
    create_table_artifact(
        key="validation-actions",
        table=report.as_rows(),
        description=f"Pre-publish checks of the actions for {action_date}",
    )
    logger.info("action lists validated: %s", headline(report))
    return report
