"""validate_landed and validate_actions: run the suites, quarantine, record, decide.

write -> audit -> publish: row-level critical failures are quarantined out of work.* (with
their cascade), the run stops (InputRejected, exit 3) when a dataset loses more than
settings.quarantine_limit of its rows or a dataset-level critical check fails, and every suite
lands in quality.runs, whatever the outcome.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from types import ModuleType
from typing import Any

import duckdb

from arrears import warehouse
from arrears.contract import DATASETS
from arrears.errors import InputRejected
from arrears.quality import quarantine as q
from arrears.quality.config import QualityConfig
from arrears.quality.report import Outcome, SuiteResult, ValidationReport
from arrears.settings import Settings

SEVERITIES = ("critical", "warning")

# Counts only: the runner reads unexpected counts, never GX's sample of unexpected values, which
# could hold personal data. With no sample asked for, GX sends those queries as `LIMIT 0`, so
# DuckDB does not scan the batch once more per column check.
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0}


def _suite_modules() -> dict[str, ModuleType]:
    from expectations import arrangements, contact_events, customers, holds, installments, loans

    return {
        "loans": loans,
        "installments": installments,
        "customers": customers,
        "arrangements": arrangements,
        "contact_events": contact_events,
        "holds": holds,
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
        with _Validator(con, settings) as validator:
            for dataset in present:
                for severity in SEVERITIES:
                    suite = getattr(modules[dataset], severity)(config)
                    if report.rows[dataset] == 0:
                        # GX finds no batch in an empty table; a required one is refused.
                        report.suites.append(_empty(suite.name, dataset, run_id, severity))
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
            report.suites += _cross_day(con, snapshot_date, run_id, config)
        q.cascade(con, snapshot_date, set(present))
        report.quarantined = q.counts(con)
        report.warnings = _warnings(report)

        rejection = _dataset_failure(report, sources) or _over_limit(con, report, settings, sources)
        with warehouse.transaction(con):
            _record_runs(con, report.suites, run_id, snapshot_date)
            q.persist(con, snapshot_date, run_id, remove=rejection is None)
        _write_data_docs(validator, settings, f"{run_id}-{snapshot_date}")
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
    ALLOWED_PERSONAL_COLUMNS too. Raises InputRejected on any failure; the run lands in
    quality.runs with snapshot_date = action_date - 1.
    """
    from expectations import actions

    snapshot_date = action_date - timedelta(days=1)
    report = ValidationReport(run_id=run_id, snapshot_date=snapshot_date)
    report.rows["collection_actions"] = _count(
        con, "work.collection_actions", "action_date", action_date
    )
    with _Validator(con, settings) as validator:
        result = validator.run(
            actions.critical(settings.profile),
            "collection_actions",
            "work.collection_actions",
            "action_date",
            action_date,
            run_id,
            quarantine=False,
            extra=_personal_column_outcomes(con, outbox_columns),
        )
    report.suites.append(result)
    with warehouse.transaction(con):
        _record_runs(con, report.suites, run_id, snapshot_date)
    _write_data_docs(validator, settings, f"{run_id}-{action_date}")
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
        )
    return report


class _Validator:
    """One ephemeral GX context and DuckDB data source for a validation pass."""

    def __init__(self, con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
        self.con = con
        self.settings = settings
        self.results: list[Any] = []

    def __enter__(self) -> _Validator:
        from arrears.quality import gx_duckdb

        self.ctx = gx_duckdb.context()
        self.source = gx_duckdb.add_warehouse(self.ctx, self.con)
        self.batches: dict[tuple[str, date], Any] = {}
        return self

    def __exit__(self, *exc: object) -> None:
        from arrears.quality import gx_duckdb

        gx_duckdb.release(self.source)

    def _batch(self, table: str, date_column: str, batch_date: date) -> Any:
        """One GX batch per table and date, shared by its suites.

        A query asset rather than a daily partitioner: GX lists a partitioned asset's batches
        by scanning the whole table for distinct dates, on every get_batch. The date is a
        `date` rendered in ISO form, never text from the data.
        """
        key = (table, batch_date)
        if key not in self.batches:
            query = (
                f"select * from {table} "
                f"where {date_column} = cast('{batch_date.isoformat()}' as date)"
            )
            name = f"{table}@{batch_date.isoformat()}"
            asset = self.source.add_query_asset(name, query=query)
            self.batches[key] = asset.add_batch_definition_whole_table("batch").get_batch()
        return self.batches[key]

    def run(
        self,
        suite: Any,
        dataset: str,
        table: str,
        date_column: str,
        batch_date: date,
        run_id: str,
        *,
        quarantine: bool,
        extra: Iterable[Outcome] = (),
    ) -> SuiteResult:
        started = time.perf_counter()
        from arrears.quality import gx_duckdb

        with gx_duckdb.quiet():
            batch = self._batch(table, date_column, batch_date)
            # A copy: GX fills its defaults into the dict it is given.
            result = batch.validate(suite, result_format=dict(RESULT_FORMAT))
        self.results.append(result)
        outcomes = [
            _outcome(self.con, dataset, table, date_column, batch_date, r, quarantine)
            for r in result.results
        ]
        outcomes += list(extra)
        return SuiteResult(
            validation_id=f"{run_id}:{suite.name}",
            suite=suite.name,
            dataset=dataset,
            duration_seconds=time.perf_counter() - started,
            outcomes=tuple(outcomes),
        )


def _empty(suite: str, dataset: str, run_id: str, severity: str) -> SuiteResult:
    required = DATASETS[dataset].required and severity == "critical"
    outcomes = (
        (Outcome("dataset is empty", "table_row_count", None, False, 0, row_level=False),)
        if required
        else ()
    )
    return SuiteResult(f"{run_id}:{suite}", suite, dataset, 0.0, outcomes)


def _outcome(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    table: str,
    date_column: str,
    batch_date: date,
    result: Any,
    quarantine: bool,
) -> Outcome:
    config = result.expectation_config
    meta = config.meta or {}
    rule = meta["rule"]
    column = config.kwargs.get("column") or config.kwargs.get("column_A")
    gx_count = _gx_unexpected_count(result)
    # GX could not evaluate the rule: never treat that as a pass.
    error = _gx_error(result.exception_info)
    if result.success and error is None:
        return Outcome(rule, config.type, column, True, 0)
    if error is not None or meta.get("dataset_level") or config.type not in q.ROW_LEVEL_TYPES:
        return Outcome(
            rule, config.type, column, False, gx_count or 0, error=error, row_level=False
        )
    sql, params = q.rows_sql(table, date_column, config)
    params["batch_date"] = batch_date
    if quarantine:
        found = q.add_rows(con, dataset, rule, meta.get("value"), sql, params)
        _, keys = q.examples(con, dataset, sql, params)
    else:
        found, keys = q.examples(con, dataset, sql, params)
    return Outcome(
        rule,
        config.type,
        column,
        False,
        found,
        tuple(keys),
        gx_unexpected_count=gx_count if gx_count != found else None,
    )


def _gx_error(info: Any) -> str | None:
    """The first error GX caught, whether reported flat or per metric."""
    if not info:
        return None
    entries = [info] if "raised_exception" in info else list(info.values())
    for entry in entries:
        if isinstance(entry, dict) and entry.get("raised_exception"):
            return str(entry.get("exception_message") or "expectation raised")[:300]
    return None


def _gx_unexpected_count(result: Any) -> int | None:
    data = result.result or {}
    if "unexpected_count" in data and data["unexpected_count"] is not None:
        return int(data["unexpected_count"])
    observed = data.get("observed_value")
    return int(observed) if isinstance(observed, int) else None


def _cross_day(
    con: duckdb.DuckDBPyConnection, snapshot_date: date, run_id: str, config: QualityConfig
) -> list[SuiteResult]:
    from expectations import cross_day

    previous = con.execute(cross_day.PREVIOUS_SNAPSHOT, {"snapshot_date": snapshot_date}).fetchone()
    previous_date = previous[0] if previous else None
    params = {
        "snapshot_date": snapshot_date,
        "previous_date": previous_date,
        "revolving_products": list(config.revolving_products),
        "overdue_tolerance": config.overdue_tolerance_amount,
    }
    results = []
    for severity in SEVERITIES:
        started = time.perf_counter()
        outcomes = []
        for check in (c for c in cross_day.checks() if c.severity == severity):
            if previous_date is None and check.query is not cross_day.SOURCE_DPD_MISMATCH:
                # The first snapshot has nothing to compare with.
                outcomes.append(Outcome(check.rule, "cross_day", None, True, 0, row_level=False))
                continue
            failing, base, examples = q.bind(con, check.query, params).fetchone()
            if check.count_change:
                moved = abs(int(failing) - int(base))
                share = moved / base if base else 0.0
                count = moved
            else:
                share = failing / base if base else 0.0
                count = int(failing)
            limit = getattr(config, check.share_setting) if check.share_setting else 0.0
            success = share <= limit if check.share_setting else count == 0
            outcomes.append(
                Outcome(
                    check.rule,
                    "cross_day",
                    None,
                    success,
                    0 if success else count,
                    tuple(examples or ()),
                    row_level=False,
                )
            )
        results.append(
            SuiteResult(
                validation_id=f"{run_id}:cross_day.{severity}",
                suite=f"cross_day.{severity}",
                dataset="loans",
                duration_seconds=time.perf_counter() - started,
                outcomes=tuple(outcomes),
            )
        )
    return results


def _warnings(report: ValidationReport) -> list[str]:
    out = []
    for suite in report.suites:
        for o in suite.outcomes:
            if o.success:
                continue
            if suite.severity == "warning":
                examples = f", e.g. {', '.join(o.examples)}" if o.examples else ""
                out.append(f"{suite.suite}: {o.rule} ({o.unexpected_count} rows{examples})")
            elif o.gx_unexpected_count is not None:
                out.append(
                    f"{suite.suite}: {o.rule}: GX counted {o.gx_unexpected_count} rows, "
                    f"{o.unexpected_count} quarantined"
                )
    for dataset, n in sorted(report.quarantined.items()):
        out.append(f"{dataset}: {n} of {report.rows.get(dataset, 0)} rows quarantined")
    return out


def _dataset_failure(report: ValidationReport, sources: Mapping[str, str]) -> InputRejected | None:
    """A critical failure no quarantine can fix: dataset-level, cross-day, not evaluable, or
    a row-level rule GX failed whose rows DuckDB could not find (never let that pass)."""
    for suite in report.suites:
        if suite.severity != "critical":
            continue
        for o in suite.outcomes:
            if o.success or (o.row_level and o.error is None and o.unexpected_count > 0):
                continue
            return InputRejected(
                sources.get(suite.dataset, suite.dataset),
                f"{suite.suite}: {o.rule}" + (f" [{o.error}]" if o.error else ""),
                o.unexpected_count,
                o.examples,
                hint=f"snapshot {report.snapshot_date}; nothing was aged or published",
            )
    return None


def _over_limit(
    con: duckdb.DuckDBPyConnection,
    report: ValidationReport,
    settings: Settings,
    sources: Mapping[str, str],
) -> InputRejected | None:
    cascade_rules = {rule for *_, rule in q.CASCADE}
    # Name a dataset with rows failing its own rules before one emptied by cascade.
    order = sorted(
        report.quarantined,
        key=lambda d: (q.top_rule(con, d)[0] in cascade_rules, list(DATASETS).index(d)),
    )
    for dataset in order:
        n = report.quarantined[dataset]
        total = report.rows.get(dataset, 0)
        share = n / total if total else 1.0
        if share > settings.quarantine_limit:
            rule, examples = q.top_rule(con, dataset)
            return InputRejected(
                sources.get(dataset, dataset),
                f"{dataset}.critical: {rule}",
                n,
                examples,
                hint=(
                    f"{share:.2%} of {total} rows quarantined, above the limit of "
                    f"{settings.quarantine_limit:.2%}; see quality.quarantine for run "
                    f"{report.run_id}"
                ),
            )
    return None


def _record_runs(
    con: duckdb.DuckDBPyConnection, suites: list[SuiteResult], run_id: str, snapshot_date: date
) -> None:
    for s in suites:
        con.execute(
            "insert into quality.runs values ($validation_id, $run_id, $snapshot_date, $suite, "
            "$dataset, $success, $evaluated, $failed, $unexpected_rows, $duration, $details, "
            "now())",
            {
                "validation_id": s.validation_id,
                "run_id": run_id,
                "snapshot_date": snapshot_date,
                "suite": s.suite,
                "dataset": s.dataset,
                "success": s.success,
                "evaluated": s.evaluated,
                "failed": s.failed,
                "unexpected_rows": s.unexpected_rows,
                "duration": s.duration_seconds,
                "details": json.dumps([o.as_dict() for o in s.outcomes], default=str),
            },
        )


def _personal_column_outcomes(
    con: duckdb.DuckDBPyConnection, outbox_columns: Mapping[str, Iterable[str]] | None
) -> list[Outcome]:
    from arrears.contract import PERSONAL_COLUMNS
    from expectations.actions import disallowed_columns

    columns = [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'work' and table_name = 'collection_actions'"
        ).fetchall()
    ]
    personal = tuple(c for c in columns if c in PERSONAL_COLUMNS)
    outcomes = [
        Outcome(
            "personal data column in the action list",
            "table_columns",
            None,
            not personal,
            len(personal),
            personal,
            row_level=False,
        )
    ]
    for channel, channel_columns in sorted((outbox_columns or {}).items()):
        bad = tuple(disallowed_columns(channel, channel_columns))
        outcomes.append(
            Outcome(
                f"{channel.upper()} outbox carries personal data it does not need",
                "outbox_columns",
                None,
                not bad,
                len(bad),
                bad,
                row_level=False,
            )
        )
    return outcomes


def _write_data_docs(validator: _Validator, settings: Settings, label: str) -> None:
    if settings.data_docs is None:
        return
    from arrears.quality import gx_duckdb

    gx_duckdb.write_data_docs(validator.ctx, validator.results, settings.data_docs, label)


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = $schema and table_name = $table",
        {"schema": schema, "table": table},
    ).fetchone()
    return bool(row and row[0])


def _count(con: duckdb.DuckDBPyConnection, table: str, column: str, value: date) -> int:
    row = con.execute(f"select count(*) from {table} where {column} = $value", {"value": value})
    return int(row.fetchone()[0])
