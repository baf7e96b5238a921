"""One validation pass with Great Expectations: a GX context and DuckDB data source, one batch
per table and date, and each suite's result as Outcomes (finding the failing rows in DuckDB).

GX's public API only; what touches GX internals is in gx_duckdb.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date
from typing import Any

import duckdb

from arrears.contract import DATASETS
from arrears.personal import mask, unquoted
from arrears.quality import quarantine as q
from arrears.quality.report import Outcome, SuiteResult
from arrears.settings import Settings

# Counts only: the runner reads unexpected counts, never GX's sample of unexpected values, which
# could hold personal data. With no sample asked for, GX sends those queries as `LIMIT 0`, so
# DuckDB does not scan the batch once more per column check.
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0}


class Validator:
    """One ephemeral GX context and DuckDB data source for a validation pass."""

    def __init__(self, con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
        self.con = con
        self.settings = settings
        self.results: list[Any] = []

    def __enter__(self) -> Validator:
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

        with gx_duckdb.quiet(), gx_duckdb.validating():
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

    def write_data_docs(self, label: str) -> None:
        """Data Docs of this pass, only when settings.data_docs names a folder."""
        if self.settings.data_docs is None:
            return
        from arrears.quality import gx_duckdb

        gx_duckdb.write_data_docs(self.ctx, self.results, self.settings.data_docs, label)


def empty_suite(suite: str, dataset: str, run_id: str, severity: str) -> SuiteResult:
    """The result of a suite over an empty table: GX finds no batch; a required one fails."""
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
    if error is not None and dataset in DATASETS and DATASETS[dataset].holds_personal_data:
        # The engine's message may quote the data; of personal data, only where it failed.
        error = unquoted(error)
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
            return mask(str(entry.get("exception_message") or "expectation raised")[:300])
    return None


def _gx_unexpected_count(result: Any) -> int | None:
    data = result.result or {}
    if "unexpected_count" in data and data["unexpected_count"] is not None:
        return int(data["unexpected_count"])
    observed = data.get("observed_value")
    return int(observed) if isinstance(observed, int) else None
