"""Read the landing folder of one snapshot date into the run's work tables.

When the landing folder is gone (a replay or backfill of an older date), the files come from
what the warehouse kept: raw.* or the archive (arrears/restore.py)."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task

from arrears import ingest, restore, runs
from arrears.ingest import IngestSummary
from arrears.pii import keys
from arrears.settings import Settings
from tasks.retries import transient_only


@task(name="ingest", retries=2, retry_delay_seconds=5, retry_condition_fn=transient_only)
def ingest_landing(
    snapshot_date: date, settings: Settings, run_id: str | None = None
) -> IngestSummary:
    logger = get_run_logger()
    with (
        settings.open_warehouse() as con,
        restore.landing_for(
            con,
            settings.landing,
            settings.archive,
            snapshot_date,
            settings.warehouse,
            keys.configured_key(settings),
        ) as landing,
    ):
        for level, note in landing.notes(snapshot_date):
            logger.log(level, note)
        summary = ingest.ingest(
            con,
            snapshot_date,
            landing.root,
            encodings=settings.dataset_encodings,
            default_encoding=settings.encoding,
        )
        landing.name_sources(summary)
        repeated = runs.repeated_inputs_note(con, snapshot_date, summary.as_json())
        if repeated:
            logger.warning(repeated)
            if run_id:
                runs.add_note(con, run_id, repeated)
    for name, landed in summary.files.items():
        if landed.carried_forward_from:
            logger.info(
                "%s: no file for %s, carried forward %d rows from %s",
                name,
                snapshot_date,
                landed.rows,
                landed.carried_forward_from,
            )
        elif landed.file is None:
            logger.info("%s: no file (optional), 0 rows", name)
        else:
            extra = (
                f", {landed.duplicates_ignored} repeated events ignored"
                if landed.duplicates_ignored
                else ""
            )
            logger.info("%s: %d rows from %s%s", name, landed.rows, landed.file, extra)
    return summary
