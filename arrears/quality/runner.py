"""validate_landed and validate_actions: run the suites, quarantine, record, decide.

write -> audit -> publish: row-level critical failures are quarantined out of work.* (with
their cascade), the run stops (InputRejected, exit 3) when a dataset loses more than
settings.quarantine_limit of its rows or a dataset-level critical check fails, and every suite
lands in quality.runs, whatever the outcome.

Orchestration only: the GX pass is validator, the comparison with the previous snapshot
across_days, the decision to stop rejection, what is written persistence and quarantine, the
personal-data checks before publishing personal_data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from types import ModuleType

import duckdb

from arrears import warehouse
from arrears.contract import DATASETS
from arrears.errors import InputRejected
from arrears.quality import quarantine as q
from arrears.quality.across_days import SEVERITIES, cross_day_suites
from arrears.quality.config import QualityConfig
from arrears.quality.persistence import record_runs
from arrears.quality.personal_data import COLUMN_CHECKS, personal_column_outcomes
from arrears.quality.rejection import dataset_failure, over_limit, warnings_of
from arrears.quality.report import ValidationReport
from arrears.quality.validator import Validator, empty_suite
from arrears.settings import Settings


def _suite_modules() -> dict[str, ModuleType]:
    from expectations import (
        arrangements,
        bureau,
        contact_events,
        customers,
        holds,
        installments,
        loans,
    )

    return {
        "loans": loans,
        "installments": installments,
        "customers": customers,
        "arrangements": arrangements,
        "contact_events": contact_events,
        "holds": holds,
        "bureau": bureau,
    }


def validate_landed(
    con: duckdb.DuckDBPyConnection,
    snapshot_date: date,
    run_id: str,
    settings: Settings,
    config: QualityConfig | None = None,
    sources: Mapping[str, str] | None = None,
) -> ValidationReport:
    """Validate work.<dataset> at `snapshot_date`; quarantine failing rows; raise when too many.

    Raises InputRejected (exit 3) on a dataset-level critical failure or when a dataset's
    quarantined share exceeds settings.quarantine_limit; quality.runs and quality.quarantine
    are written either way. `sources` (dataset -> landing file, from ingest) lets the
    rejection name the file an operator has to fix; without it the dataset is named.
    """
    config = config or QualityConfig()
    sources = sources or {}
    report = ValidationReport(run_id=run_id, snapshot_date=snapshot_date)
    modules = _suite_modules()
    present = [d for d in DATASETS if _table_exists(con, "work", d)]
    for dataset in present:
        report.rows[dataset] = _count(con, f"work.{dataset}", "snapshot_date", snapshot_date)

    q.create_pending(con)
    try:
        with Validator(con, settings) as validator:
            for dataset in present:
                for severity in SEVERITIES:
                    suite = getattr(modules[dataset], severity)(config)
                    if report.rows[dataset] == 0:
                        # GX finds no batch in an empty table; a required one is refused.
                        report.suites.append(empty_suite(suite.name, dataset, run_id, severity))
                        continue
                    report.suites.append(
                        validator.run(
                            suite,
                            dataset,
                            f"work.{dataset}",
                            "snapshot_date",
                            snapshot_date,
                            run_id,
                            quarantine=severity == "critical",
                        )
                    )
        if "loans" in present:
            report.suites += cross_day_suites(con, snapshot_date, run_id, config)
        q.cascade(con, snapshot_date, set(present))
        report.quarantined = q.counts(con)
        report.warnings = warnings_of(report)

        rejection = dataset_failure(report, sources) or over_limit(con, report, settings, sources)
        with warehouse.transaction(con):
            record_runs(con, report.suites, run_id, snapshot_date)
            q.persist(con, snapshot_date, run_id)
        if rejection is None:
            q.remove(con)
        validator.write_data_docs(f"{run_id}-{snapshot_date}")
        if rejection is not None:
            raise rejection
        return report
    finally:
        q.drop_pending(con)


def validate_actions(
    con: duckdb.DuckDBPyConnection,
    action_date: date,
    run_id: str,
    settings: Settings,
    outbox_columns: Mapping[str, Iterable[str]] | None = None,
) -> ValidationReport:
    """The pre-publish suite actions.critical on work.collection_actions at `action_date`.

    `outbox_columns` (channel -> the columns of its outbox file), when given, is checked against
    each channel's personal-data allowance too. Raises InputRejected on any failure; the run
    lands in quality.runs with snapshot_date = action_date - 1.
    """
    from expectations import actions

    snapshot_date = action_date - timedelta(days=1)
    report = ValidationReport(run_id=run_id, snapshot_date=snapshot_date)
    report.rows["collection_actions"] = _count(
        con, "work.collection_actions", "action_date", action_date
    )
    with Validator(con, settings) as validator:
        result = validator.run(
            actions.critical(settings.profile),
            "collection_actions",
            "work.collection_actions",
            "action_date",
            action_date,
            run_id,
            quarantine=False,
            extra=personal_column_outcomes(con, outbox_columns),
        )
    report.suites.append(result)
    with warehouse.transaction(con):
        record_runs(con, report.suites, run_id, snapshot_date)
    validator.write_data_docs(f"{run_id}-{action_date}")
    failed = [o for o in result.outcomes if not o.success]
    if failed:
        first = failed[0]
        others = f"; also failed: {', '.join(o.rule for o in failed[1:])}" if failed[1:] else ""
        raise InputRejected(
            f"collection_actions ({action_date})",
            first.rule + (f" [{first.error}]" if first.error else ""),
            first.unexpected_count,
            first.examples,
            hint="nothing was published" + others,
            unit="column" if first.expectation_type in COLUMN_CHECKS else "row",
        )
    return report


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = $schema and table_name = $table",
        {"schema": schema, "table": table},
    ).fetchone()
    return bool(row and row[0])


def _count(con: duckdb.DuckDBPyConnection, table: str, column: str, value: date) -> int:
    rows = con.execute(f"select count(*) from {table} where {column} = $value", {"value": value})
    return int(rows.fetchall()[0][0])
