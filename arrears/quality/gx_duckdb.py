"""Great Expectations 1.24.1 on the DuckDB warehouse, in-process, with SQL pushed down.

GX has no DuckDB data source. Through duckdb-engine (a subclass of SQLAlchemy's PostgreSQL
dialect) two things go wrong, and this module, the only one that touches GX internals, mends
both:

1. GX opens a SQLAlchemy connection per metric query, closes it (rolling back) and only then
   fetches the result; DuckDB drops a pending result on rollback, so every expectation fails with
   `IndexError` in resolve_metric_bundle. GX already keeps one persisted connection for sqlite
   and SQL Server (`_PERSISTED_CONNECTION_DIALECTS`); duckdb is added to that list.
2. GX picks the module that compiles regex expectations by dialect name and knows no "duckdb";
   it is given `sqlalchemy.dialects.postgresql`, so regexes compile to `~`, which DuckDB reads
   as a partial (search) match, exactly as PostgreSQL does.

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


class GxInternalsChanged(RuntimeError):
    """The GX internals this module patches are not what it was written against."""


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
    for name in ("get_connection", "dialect_name", "__init__"):
        if not hasattr(engine_class, name):
            raise GxInternalsChanged(f"SqlAlchemyExecutionEngine.{name} is gone")


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


def is_installed() -> bool:
    engine_module = _engine_module()
    names = [getattr(d, "value", d) for d in engine_module._PERSISTED_CONNECTION_DIALECTS]
    return DUCKDB_DIALECT in names


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

    def creator() -> Any:
        return duckdb_engine.ConnectionWrapper(con.cursor())

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
