"""The one module that touches GX internals: fails loudly when GX changes under it."""

from __future__ import annotations

import importlib

import duckdb
import pytest

from arrears.quality import gx_duckdb


def test_pinned_version_and_internals_present() -> None:
    import great_expectations as gx

    assert gx.__version__ == gx_duckdb.GX_VERSION, (
        f"great-expectations {gx.__version__} installed, the DuckDB patch was written for "
        f"{gx_duckdb.GX_VERSION}: re-check arrears/quality/gx_duckdb.py before moving the pin"
    )
    engine = importlib.import_module(
        "great_expectations.execution_engine.sqlalchemy_execution_engine"
    )
    assert isinstance(engine._PERSISTED_CONNECTION_DIALECTS, tuple), (
        "GX no longer keeps _PERSISTED_CONNECTION_DIALECTS: the duckdb persisted-connection "
        "patch does nothing"
    )
    assert callable(getattr(engine.SqlAlchemyExecutionEngine, "get_connection", None))
    gx_duckdb.check_internals()


def test_check_internals_names_a_changed_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import great_expectations as gx

    monkeypatch.setattr(gx, "__version__", "1.99.0")
    with pytest.raises(gx_duckdb.GxInternalsChanged, match="1.99.0"):
        gx_duckdb.check_internals()


def test_check_internals_names_a_missing_attribute(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = importlib.import_module(
        "great_expectations.execution_engine.sqlalchemy_execution_engine"
    )
    monkeypatch.delattr(engine, "_PERSISTED_CONNECTION_DIALECTS")
    with pytest.raises(gx_duckdb.GxInternalsChanged, match="_PERSISTED_CONNECTION_DIALECTS"):
        gx_duckdb.check_internals()


def test_second_connection_by_path_fails_so_the_engine_shares_ours(tmp_path) -> None:
    """Why add_warehouse uses creator=: duckdb-engine's own connect() cannot share the file."""
    import sqlalchemy as sa

    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create table t as select 42 as answer")
    try:
        with pytest.raises(sa.exc.OperationalError, match="different configuration"):
            with sa.create_engine(f"duckdb:///{path}").connect() as other:
                other.execute(sa.text("select 1"))

        ctx = gx_duckdb.context()
        source = gx_duckdb.add_warehouse(ctx, con)
        engine = source.get_execution_engine()
        assert engine.dialect_module.__name__ == "sqlalchemy.dialects.postgresql"
        assert gx_duckdb.is_installed()
        rows = engine.execute_query(sa.text("select answer from t")).fetchall()
        assert rows == [(42,)]
        gx_duckdb.release(source)
    finally:
        con.close()


def test_expectations_run_and_regex_compiles(tmp_path) -> None:
    """End to end on a file warehouse: nulls, regex (as `~`) and a row query catch the rows."""
    import great_expectations as gx

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute(
        "create table t as select * from (values ('a', '13812345678'), ('b', '42'), "
        "(null, '+14155550123')) v(k, phone)"
    )
    try:
        ctx = gx_duckdb.context()
        source = gx_duckdb.add_warehouse(ctx, con)
        batch = (
            source.add_table_asset("t", table_name="t")
            .add_batch_definition_whole_table("all")
            .get_batch()
        )
        suite = gx.ExpectationSuite(
            "t.critical",
            expectations=[
                gx.expectations.ExpectColumnValuesToNotBeNull(column="k"),
                gx.expectations.ExpectColumnValuesToMatchRegex(
                    column="phone", regex=r"^(\+86)?1[3-9][0-9]{9}$|^\+[1-9][0-9]{6,14}$"
                ),
                gx.expectations.UnexpectedRowsExpectation(
                    unexpected_rows_query="select * from {batch} where k = 'a'"
                ),
            ],
        )
        result = batch.validate(suite, result_format="BASIC")
        counts = [
            (r.success, r.result.get("unexpected_count", r.result.get("observed_value")))
            for r in result.results
        ]
        assert counts == [(False, 1), (False, 1), (False, 1)]
        assert all(not r.exception_info.get("raised_exception") for r in result.results)
        gx_duckdb.release(source)
    finally:
        con.close()


def _statements(source: object) -> list[str]:
    """Every statement the data source's SQLAlchemy engine sends, in order."""
    import sqlalchemy as sa

    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        sent.append(statement)

    sa.event.listen(source.get_execution_engine().engine, "before_cursor_execute", record)
    return sent


def test_unexpected_rows_query_is_sent_once_with_the_full_count(tmp_path) -> None:
    """GX 1.24.1 runs each unexpected-rows query twice (sample rows, then COUNT(*)); patched,
    DuckDB gets one statement per expectation and the count still covers every row, not only
    the 200 GX keeps as a sample."""
    import great_expectations as gx

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create table t as select range as k, range % 10 as m from range(1000)")
    try:
        ctx = gx_duckdb.context()
        source = gx_duckdb.add_warehouse(ctx, con)
        batch = (
            source.add_table_asset("t", table_name="t")
            .add_batch_definition_whole_table("all")
            .get_batch()
        )
        queries = {
            "many": "select * from {batch} where m < 3",
            "some": "select * from {batch} where k in (7, 8)",
            "none": "select * from {batch} where k < 0",
        }
        suite = gx.ExpectationSuite(
            "t.rows",
            expectations=[
                gx.expectations.UnexpectedRowsExpectation(unexpected_rows_query=q)
                for q in queries.values()
            ],
        )
        sent = _statements(source)
        result = batch.validate(suite, result_format="COMPLETE")

        observed = [r.result["observed_value"] for r in result.results]
        assert observed == [300, 2, 0]
        assert [r.success for r in result.results] == [False, False, True]
        samples = [r.result["details"]["unexpected_rows"] for r in result.results]
        assert [len(s) for s in samples] == [200, 2, 0]
        assert sorted(row["k"] for row in samples[1]) == [7, 8]
        assert all(set(row) == {"k", "m"} for s in samples for row in s)
        for label, where in (("many", "m < 3"), ("some", "k in (7, 8)"), ("none", "k < 0")):
            carrying = [s for s in sent if where in s]
            assert len(carrying) == 1, f"{label}: {len(carrying)} statements ran its query"
        assert not [s for s in sent if "unexpected_row_count" in s]
        gx_duckdb.release(source)
    finally:
        con.close()


def test_other_dialects_keep_gx_own_unexpected_rows_metrics(tmp_path) -> None:
    """The one-query patch applies to DuckDB only: on SQLite GX's own two queries still run."""
    import sqlite3

    import great_expectations as gx

    path = tmp_path / "s.db"
    with sqlite3.connect(path) as lite:
        lite.execute("create table t (k integer)")
        lite.executemany("insert into t values (?)", [(i,) for i in range(250)])
    gx_duckdb.install()
    ctx = gx_duckdb.context()
    source = ctx.data_sources.add_sqlite("lite", connection_string=f"sqlite:///{path}")
    batch = (
        source.add_table_asset("t", table_name="t")
        .add_batch_definition_whole_table("all")
        .get_batch()
    )
    sent = _statements(source)
    suite = gx.ExpectationSuite(
        "t.lite",
        expectations=[
            gx.expectations.UnexpectedRowsExpectation(
                unexpected_rows_query="select * from {batch} where k >= 20"
            )
        ],
    )
    result = batch.validate(suite, result_format="BASIC")
    assert result.results[0].result["observed_value"] == 230
    assert len([s for s in sent if "k >= 20" in s]) == 2
    source.get_execution_engine().engine.dispose()


def test_check_internals_names_a_changed_unexpected_rows_metric(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from great_expectations.expectations import registry
    from great_expectations.expectations.core.unexpected_rows_expectation import (
        UnexpectedRowsExpectation,
    )

    monkeypatch.setattr(
        UnexpectedRowsExpectation, "metric_dependencies", ("unexpected_rows_query.table",)
    )
    with pytest.raises(gx_duckdb.GxInternalsChanged, match="no longer depends on exactly"):
        gx_duckdb.check_internals()
    monkeypatch.undo()

    providers = dict(registry._registered_metrics["unexpected_rows_query.row_count"]["providers"])
    providers.pop("SqlAlchemyExecutionEngine")
    monkeypatch.setitem(
        registry._registered_metrics["unexpected_rows_query.row_count"], "providers", providers
    )
    with pytest.raises(gx_duckdb.GxInternalsChanged, match="unexpected_rows_query.row_count"):
        gx_duckdb.check_internals()
    assert not gx_duckdb.is_installed()
