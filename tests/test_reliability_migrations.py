"""Upgrades: a warehouse written by schema version 1 (the stored fixture) is migrated on open,
keeps its history, ends up with exactly the schema of a new warehouse, and runs; a warehouse
of a newer schema than the code knows is refused (exit 2) without being touched."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from fixtures.make_v1 import FIXTURE, build
from fixtures.reliability_support import capture_stderr

from arrears import migrations, runs, warehouse
from arrears.cli import main
from arrears.errors import ConfigError

pytestmark = pytest.mark.reliability


@pytest.fixture
def v1(tmp_path) -> Path:
    target = tmp_path / "arrears.duckdb"
    shutil.copy(FIXTURE, target)
    return target


def columns(path: Path | str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            "select table_schema, table_name, column_name, data_type, is_nullable "
            "from information_schema.columns where table_catalog = current_database() "
            "and table_schema <> 'work' order by all"
        ).fetchall()
    finally:
        con.close()


def versions(path: Path) -> list[int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute("select version from ops.schema_version order by 1").fetchall()
        return [v for (v,) in rows]
    finally:
        con.close()


def test_the_stored_fixture_is_what_make_v1_builds(tmp_path):
    # The fixture can be regenerated: the script still produces the same schema and rows.
    rebuilt = build(tmp_path / "rebuilt.duckdb")
    assert columns(rebuilt) == columns(FIXTURE)
    assert versions(rebuilt) == versions(FIXTURE) == [1]


def test_a_v1_warehouse_is_migrated_on_open_and_keeps_its_history(v1, tmp_path):
    con = warehouse.connect(v1)
    try:
        history = con.execute(
            "select run_id, status, arrears_version, notes from ops.runs order by run_id"
        ).fetchall()
        kpis = con.execute("select count(*) from marts.kpi_daily").fetchall()[0][0]
        validations = con.execute("select count(*) from quality.runs").fetchall()[0][0]
        # A new run on the upgraded warehouse: the killed v1 run is closed, the version recorded.
        runs.start(con, "run-v2", date(2025, 5, 31), None, {})
        runs.finish(con, "run-v2", "SUCCEEDED")
        after = con.execute(
            "select run_id, status, arrears_version from ops.runs order by run_id"
        ).fetchall()
    finally:
        con.close()

    assert history == [("run-v1-a", "SUCCEEDED", None, None), ("run-v1-b", "RUNNING", None, None)]
    assert (kpis, validations) == (1, 1)
    assert after == [
        ("run-v1-a", "SUCCEEDED", None),
        ("run-v1-b", "ABANDONED", None),
        ("run-v2", "SUCCEEDED", migrations.arrears_version()),
    ]
    assert versions(v1) == [1, *(m.version for m in migrations.MIGRATIONS)]
    assert versions(v1)[-1] == warehouse.SCHEMA_VERSION == migrations.LATEST
    # Upgraded and new warehouses are the same schema: a column added to a DDL file without a
    # migration would exist only in new warehouses and fail here.
    warehouse.connect(tmp_path / "new.duckdb").close()
    assert columns(v1) == columns(tmp_path / "new.duckdb")


def test_opening_again_applies_nothing(v1):
    warehouse.connect(v1).close()
    con = warehouse.connect(v1)
    try:
        assert migrations.migrate(con) == []
    finally:
        con.close()
    assert versions(v1) == [1, *(m.version for m in migrations.MIGRATIONS)]


def test_a_failing_migration_leaves_the_previous_version_complete(v1, monkeypatch):
    def half_then_fail(con):
        con.execute("alter table ops.runs add column arrears_version varchar")
        raise RuntimeError("disk full")

    broken = (migrations.Migration(2, "breaks halfway", half_then_fail),)
    monkeypatch.setattr(migrations, "MIGRATIONS", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        warehouse.connect(v1)

    assert versions(v1) == [1]
    assert "arrears_version" not in {c for _, t, c, *_ in columns(v1) if t == "runs"}
    monkeypatch.undo()
    warehouse.connect(v1).close()
    assert versions(v1)[-1] == migrations.LATEST


def newer(v1: Path) -> Path:
    warehouse.connect(v1).close()
    con = duckdb.connect(str(v1))
    con.execute("insert into ops.schema_version values ($v, now())", {"v": migrations.LATEST + 1})
    con.close()
    return v1


def test_a_newer_warehouse_is_refused_and_left_untouched(v1):
    path = newer(v1)
    before = path.read_bytes()

    for read_only in (False, True):
        with pytest.raises(ConfigError) as info:
            warehouse.connect(path, read_only=read_only)
        message = str(info.value)
        assert f"schema version {migrations.LATEST + 1}" in message
        assert f"up to {migrations.LATEST}" in message and "Upgrade arrears" in message
    assert path.read_bytes() == before


def test_the_cli_exits_2_on_a_newer_warehouse(v1, tmp_path, monkeypatch):
    path = newer(v1)
    stderr = capture_stderr(monkeypatch)

    code = main(["report", "--date", "2025-05-30", "--warehouse", str(path)])

    assert code == 2
    assert f"has schema version {migrations.LATEST + 1}" in stderr.getvalue()
