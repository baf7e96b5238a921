"""Great Expectations 1.24.1 on the DuckDB warehouse, in-process, with SQL pushed down.

GX has no DuckDB data source. Through duckdb-engine (a subclass of SQLAlchemy's PostgreSQL
dialect) two things go wrong, and this module, the only one that touches GX internals, mends
both (and makes a third change, for speed):

1. GX opens a SQLAlchemy connection per metric query, closes it (rolling back) and only then
   fetches the result; DuckDB drops a pending result on rollback, so every expectation fails with
   `IndexError` in resolve_metric_bundle. GX already keeps one persisted connection for sqlite
   and SQL Server (`_PERSISTED_CONNECTION_DIALECTS`); duckdb is added to that list.
2. GX picks the module that compiles regex expectations by dialect name and knows no "duckdb";
   it is given `sqlalchemy.dialects.postgresql`, so regexes compile to `~`, which DuckDB reads
   as a partial (search) match, exactly as PostgreSQL does.
3. GX runs every `UnexpectedRowsExpectation` query twice: once for up to 200 sample rows
   (`unexpected_rows_query.table`) and once wrapped in `COUNT(*)` (`.row_count`). On DuckDB
   the table metric runs the query once with `COUNT(*) OVER ()` beside the rows, and the
   row-count metric depends on it and reads that total, so each query is sent once. Other
   dialects keep GX's own functions.
4. `Expectation.configuration` is a property that rebuilds the configuration from the model
   (a pydantic v1 `.dict()`) on every access, and one validation reads it ~60 times per
   expectation: a third of a landing validation's time. Inside `validating()` it is built once
   per expectation (the suites are not changed while they are validated), then the property is
   GX's again.

Sharing the warehouse: a second `duckdb.connect(path)` in the same process succeeds only with
the very same configuration, and duckdb-engine always adds its own `custom_user_agent`, so a
connection-string engine fails with "Can't open a connection to same database file with a
different configuration". The engine is therefore built with SQLAlchemy's `creator=`, handing it
a cursor of the pipeline's own connection (`con.cursor()`: a second connection to the same
in-process database, which also works for `:memory:`).

GX is imported lazily: importing it costs seconds and the CLI must not pay that at start-up.
"""

from __future__ import annotations

import contextlib
import functools
import re
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

GX_VERSION = "1.24.1"
DUCKDB_DIALECT = "duckdb"
_ENGINE_MODULE = "great_expectations.execution_engine.sqlalchemy_execution_engine"
_SQL_ENGINE = "SqlAlchemyExecutionEngine"
ROWS_METRIC = "unexpected_rows_query.table"
COUNT_METRIC = "unexpected_rows_query.row_count"
# The total rides along as an extra column; a name no landing column uses.
_TOTAL_COLUMN = "__arrears_unexpected_row_total"


class GxInternalsChanged(RuntimeError):
    """The GX internals this module patches are not what it was written against."""


class UnexpectedRows(list[dict[str, Any]]):
    """The sample rows of an unexpected-rows query, with the query's total row count."""

    def __init__(self, rows: list[dict[str, Any]], total: int) -> None:
        super().__init__(rows)
        self.total = total


class _DialectName(str):
    """A dialect name usable where GX expects a `GXSqlDialect` member (`.value`, `==` a str)."""

    @property
    def value(self) -> str:
        return str(self)


def check_internals() -> None:
    """Fail loudly, saying what changed, when the patched GX internals moved."""
    import great_expectations as gx

    if gx.__version__ != GX_VERSION:
        raise GxInternalsChanged(
            f"great-expectations {gx.__version__} is installed; arrears.quality.gx_duckdb was "
            f"written against {GX_VERSION}. Re-check the DuckDB patches before changing the pin."
        )
    engine_module = _engine_module()
    for name in ("_PERSISTED_CONNECTION_DIALECTS", "SqlAlchemyExecutionEngine"):
        if not hasattr(engine_module, name):
            raise GxInternalsChanged(f"{_ENGINE_MODULE}.{name} is gone: the DuckDB patch needs it")
    dialects = engine_module._PERSISTED_CONNECTION_DIALECTS
    if not isinstance(dialects, tuple) or not all(hasattr(d, "value") for d in dialects):
        raise GxInternalsChanged(
            f"{_ENGINE_MODULE}._PERSISTED_CONNECTION_DIALECTS is no longer a tuple of dialects"
        )
    engine_class = engine_module.SqlAlchemyExecutionEngine
    for name in (
        "get_connection",
        "dialect_name",
        "__init__",
        "get_compute_domain",
        "execute_query",
    ):
        if not hasattr(engine_class, name):
            raise GxInternalsChanged(f"SqlAlchemyExecutionEngine.{name} is gone")
    _check_unexpected_rows_internals()
    from great_expectations.expectations.expectation import Expectation

    if not isinstance(Expectation.__dict__.get("configuration"), property):
        raise GxInternalsChanged("Expectation.configuration is no longer a property")


def _check_unexpected_rows_internals() -> None:
    """What the one-query patch for UnexpectedRowsExpectation relies on (see _install_rows)."""
    from great_expectations.expectations import registry
    from great_expectations.expectations.core.unexpected_rows_expectation import (
        UnexpectedRowsExpectation,
    )
    from great_expectations.expectations.metrics.query_metric_provider import (
        QueryMetricProvider,
    )
    from great_expectations.expectations.metrics.query_metrics import (
        UnexpectedRowsQueryRowCount,
    )

    if tuple(UnexpectedRowsExpectation.metric_dependencies) != (ROWS_METRIC, COUNT_METRIC):
        raise GxInternalsChanged(
            "UnexpectedRowsExpectation no longer depends on exactly "
            f"({ROWS_METRIC!r}, {COUNT_METRIC!r}): the one-query patch would miss or break it"
        )
    metrics = getattr(registry, "_registered_metrics", None)
    for name in (ROWS_METRIC, COUNT_METRIC):
        try:
            provider = metrics[name]["providers"][_SQL_ENGINE]  # type: ignore[index]
        except (TypeError, KeyError) as exc:
            raise GxInternalsChanged(
                f"great_expectations.expectations.registry._registered_metrics has no "
                f"{_SQL_ENGINE} provider for {name!r}: the one-query patch needs it"
            ) from exc
        if not (isinstance(provider, tuple) and len(provider) == 2 and callable(provider[1])):
            raise GxInternalsChanged(
                f"the registered provider of {name!r} is no longer a (class, function) pair"
            )
    for name in (
        "_get_query_from_metric_value_kwargs",
        "_get_substituted_batch_subquery_from_query_and_batch_selectable",
    ):
        if not hasattr(QueryMetricProvider, name):
            raise GxInternalsChanged(f"QueryMetricProvider.{name} is gone")
    if not hasattr(UnexpectedRowsQueryRowCount, "_get_evaluation_dependencies"):
        raise GxInternalsChanged("UnexpectedRowsQueryRowCount._get_evaluation_dependencies is gone")


def _engine_module() -> Any:
    import importlib

    return importlib.import_module(_ENGINE_MODULE)


@functools.cache
def install() -> None:
    """Patch GX once per process (idempotent); raises GxInternalsChanged if GX moved."""
    check_internals()
    import sqlalchemy.dialects.postgresql as postgresql_dialect

    engine_module = _engine_module()
    dialects = engine_module._PERSISTED_CONNECTION_DIALECTS
    if DUCKDB_DIALECT not in [getattr(d, "value", d) for d in dialects]:
        engine_module._PERSISTED_CONNECTION_DIALECTS = (*dialects, _DialectName(DUCKDB_DIALECT))

    engine_class = engine_module.SqlAlchemyExecutionEngine
    original_init = engine_class.__init__

    @functools.wraps(original_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if self.dialect_name == DUCKDB_DIALECT:
            self.dialect_module = postgresql_dialect

    engine_class.__init__ = __init__
    _install_rows()


def _install_rows() -> None:
    """Patch 3 of the module doc: one statement per unexpected-rows query on DuckDB."""
    import sqlalchemy as sa
    from great_expectations.constants import MAX_RESULT_RECORDS
    from great_expectations.core.metric_domain_types import MetricDomainTypes
    from great_expectations.expectations import registry
    from great_expectations.expectations.metrics.query_metrics import (
        UnexpectedRowsQueryRowCount,
    )
    from great_expectations.validator.metric_configuration import MetricConfiguration

    providers = {
        n: registry._registered_metrics[n]["providers"] for n in (ROWS_METRIC, COUNT_METRIC)
    }
    rows_class, gx_rows = providers[ROWS_METRIC][_SQL_ENGINE]
    count_class, gx_count = providers[COUNT_METRIC][_SQL_ENGINE]

    def rows(
        cls: Any,
        execution_engine: Any,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: dict,
        runtime_configuration: dict | None,
    ) -> Any:
        if execution_engine.dialect_name != DUCKDB_DIALECT:
            return gx_rows(
                cls=cls,
                execution_engine=execution_engine,
                metric_domain_kwargs=metric_domain_kwargs,
                metric_value_kwargs=metric_value_kwargs,
                metrics=metrics,
                runtime_configuration=runtime_configuration,
            )
        # The same batch substitution GX does for both metrics.
        batch, _, _ = execution_engine.get_compute_domain(
            metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE
        )
        query = cls._get_substituted_batch_subquery_from_query_and_batch_selectable(
            query=cls._get_query_from_metric_value_kwargs(metric_value_kwargs),
            batch_selectable=batch,
            execution_engine=execution_engine,
        )
        limit = "" if metric_value_kwargs.get("fetch_all") else f" LIMIT {MAX_RESULT_RECORDS}"
        statement = (
            f'SELECT *, COUNT(*) OVER () AS "{_TOTAL_COLUMN}" '
            f"FROM ({query}) AS unexpected_rows{limit}"
        )
        records = [
            r._asdict() for r in execution_engine.execute_query(sa.text(statement)).fetchall()
        ]
        total = int(records[0][_TOTAL_COLUMN]) if records else 0
        for record in records:
            del record[_TOTAL_COLUMN]
        return UnexpectedRows(records, total)

    def count(
        cls: Any,
        execution_engine: Any,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: dict,
        runtime_configuration: dict | None,
    ) -> Any:
        found = metrics.get(ROWS_METRIC)
        if execution_engine.dialect_name == DUCKDB_DIALECT and isinstance(found, UnexpectedRows):
            return found.total
        return gx_count(
            cls=cls,
            execution_engine=execution_engine,
            metric_domain_kwargs=metric_domain_kwargs,
            metric_value_kwargs=metric_value_kwargs,
            metrics=metrics,
            runtime_configuration=runtime_configuration,
        )

    # The classmethod's function, called with our class below (GX internals: see module doc).
    gx_dependencies = UnexpectedRowsQueryRowCount._get_evaluation_dependencies.__func__  # type: ignore[attr-defined]

    def dependencies(
        cls: Any,
        metric: Any,
        configuration: Any = None,
        execution_engine: Any = None,
        runtime_configuration: dict | None = None,
    ) -> dict:
        found = gx_dependencies(cls, metric, configuration, execution_engine, runtime_configuration)
        if getattr(execution_engine, "dialect_name", None) == DUCKDB_DIALECT:
            # Same domain and value kwargs, so the graph shares the one the expectation asks for.
            found[ROWS_METRIC] = MetricConfiguration(
                ROWS_METRIC, metric.metric_domain_kwargs, metric.metric_value_kwargs
            )
        return found

    for function, original in ((rows, gx_rows), (count, gx_count)):
        for attribute in ("metric_engine", "metric_fn_type", "metric_definition_kwargs"):
            if hasattr(original, attribute):
                setattr(function, attribute, getattr(original, attribute))
    providers[ROWS_METRIC][_SQL_ENGINE] = (rows_class, rows)
    providers[COUNT_METRIC][_SQL_ENGINE] = (count_class, count)
    UnexpectedRowsQueryRowCount._get_evaluation_dependencies = classmethod(dependencies)  # type: ignore[method-assign,assignment]
    _PATCHED.update({ROWS_METRIC: rows, COUNT_METRIC: count})


# The functions _install_rows registered, so is_installed can tell whether they are still in place.
_PATCHED: dict[str, Any] = {}


def is_installed() -> bool:
    from great_expectations.expectations import registry

    engine_module = _engine_module()
    names = [getattr(d, "value", d) for d in engine_module._PERSISTED_CONNECTION_DIALECTS]
    registered = {
        name: registry._registered_metrics[name]["providers"].get(_SQL_ENGINE, (None, None))[1]
        for name in (ROWS_METRIC, COUNT_METRIC)
    }
    return DUCKDB_DIALECT in names and bool(_PATCHED) and registered == _PATCHED


def context() -> Any:
    """An ephemeral GX context (writes no files) with progress bars off."""
    install()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def add_warehouse(ctx: Any, con: duckdb.DuckDBPyConnection, name: str = "warehouse") -> Any:
    """A GX SQL data source that runs on `con`'s own DuckDB database (see the module doc)."""
    import duckdb_engine

    from arrears import warehouse

    def creator() -> Any:
        cursor = con.cursor()
        warehouse.route_work(cursor)  # work.* in the scratch file, as on `con`
        return duckdb_engine.ConnectionWrapper(cursor)

    # The URL only selects the dialect; `creator` supplies the connection.
    return ctx.data_sources.add_sql(
        name, connection_string="duckdb:///:memory:", kwargs={"creator": creator}
    )


def release(source: Any) -> None:
    """Close the persisted connection GX keeps for the data source (a cursor of ours)."""
    engine = source.get_execution_engine()
    connection = getattr(engine, "_connection", None)
    if connection is not None:
        connection.close()
        engine._connection = None
    engine.engine.dispose()
    source.get_engine().dispose()


# Result keys safe to render: counts and shares only. Value samples (partial_unexpected_list,
# unexpected rows) could hold personal data, which never goes into a report.
_SAFE_RESULT_KEYS = (
    "element_count",
    "missing_count",
    "missing_percent",
    "unexpected_count",
    "unexpected_percent",
    "unexpected_percent_total",
    "unexpected_percent_nonmissing",
)


def _scrub(result: Any) -> None:
    for expectation_result in result.results:
        data = expectation_result.result or {}
        kept = {k: data[k] for k in _SAFE_RESULT_KEYS if k in data}
        if isinstance(data.get("observed_value"), int | float):
            kept["observed_value"] = data["observed_value"]
        expectation_result.result = kept


def write_data_docs(ctx: Any, results: list[Any], folder: Any, label: str) -> None:
    """Render Data Docs HTML for `results` into `folder` (only ever called on request)."""
    from pathlib import Path

    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ctx.add_data_docs_site(
        site_name="arrears",
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(folder.resolve()),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    run_id = RunIdentifier(run_name="arrears")
    for result in results:
        _scrub(result)
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite_name),
            run_id=run_id,
            batch_identifier=re.sub(r"[^A-Za-z0-9_.-]+", "_", label),
        )
        ctx.validation_results_store.set(key, result)
    ctx.build_data_docs(site_names=["arrears"])


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence SQLAlchemy's reflection warning about DuckDB types it has no name for (LIST
    columns such as loan_ids): GX reflects every column, and the warning is harmless."""
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Did not recognize type", category=SAWarning)
        yield


@contextlib.contextmanager
def validating() -> Iterator[None]:
    """Patch 4 of the module doc, for the duration of one validation (not thread-safe: one
    validation at a time per process, as the pipeline runs them)."""
    from great_expectations.expectations.expectation import Expectation

    original = Expectation.__dict__["configuration"]
    built: dict[int, tuple[Any, Any]] = {}

    def configuration(self: Any) -> Any:
        # Keyed by identity; the expectation is kept with it so the id is not reused meanwhile.
        held = built.get(id(self))
        if held is None or held[0] is not self:
            held = built[id(self)] = (self, original.fget(self))
        return held[1]

    Expectation.configuration = property(configuration)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        Expectation.configuration = original  # type: ignore[method-assign]
