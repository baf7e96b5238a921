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
