"""No clear personal value in the bytes of the warehouse file, free blocks included.

DuckDB marks the blocks of dropped tables and replaced column segments free without erasing
them, so a scan of the tables (tests/test_reliability_crash.py) cannot see what a scan of the
file's bytes does. The run's clear customers (work.customers) live in a scratch file of their
own (arrears.warehouse.attach_work), deleted at the start and the end of every run."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from fixtures.reliability_support import PersonalScanner, personal_values

from arrears import warehouse
from arrears.cli import main
from arrears.generate import generate_landing

pytestmark = [pytest.mark.integration]

D1 = date(2025, 6, 1)
NIGHTS = 2


def file_text(path: Path) -> str:
    # Invalid UTF-8 becomes U+FFFD, which parts tokens: a value is found only as written.
    return path.read_bytes().decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def nights(prefect_harness, tmp_path_factory):
    """Two nights of 300 loans through the real command line, each step on its own connection
    as the flow's tasks are."""
    root = tmp_path_factory.mktemp("clearfile")
    landing = root / "landing"
    generate_landing(landing, D1, NIGHTS, loans=300, seed=11)
    path = root / "arrears.duckdb"
    for night in range(NIGHTS):
        day = D1 + timedelta(days=night)
        args = ["run", "--date", day.isoformat(), "--landing", str(landing)]
        args += ["--warehouse", str(path), "--outbox", str(root / "outbox")]
        assert main(args) == 0
    return {"warehouse": path, "values": personal_values(landing)}


def test_the_nights_landed_personal_values(nights):
    # The scan below is only as good as what it looks for.
    values = nights["values"]
    for field in ("full_name", "national_id", "phone", "address"):
        assert len(values[field]) >= 100, field


def test_no_clear_personal_value_in_the_warehouse_file(nights):
    path: Path = nights["warehouse"]
    scanner = PersonalScanner(nights["values"])
    files = [p for p in (path, Path(f"{path}.wal")) if p.exists()]
    assert path in files
    leaks = {p.name: hits for p in files if (hits := scanner.find(file_text(p)))}
    assert leaks == {}


def test_the_scratch_file_holds_nothing_after_the_run(nights):
    # Deleted when the run ended; a later writable open attaches a new, empty one.
    scratch = warehouse.work_path(nights["warehouse"])
    scanner = PersonalScanner(nights["values"])
    for path in (scratch, Path(f"{scratch}.wal")):
        if path.exists():
            assert scanner.find(file_text(path)) == {}, path.name
    with warehouse.opened(nights["warehouse"]) as con:
        tables = "select count(*) from information_schema.tables where table_schema = 'work'"
        assert warehouse.scalar(con, tables) == 0


def test_work_tables_live_in_the_scratch_file(tmp_path):
    path = tmp_path / "w.duckdb"
    with warehouse.opened(path) as con:
        con.execute("create table work.customers as select '13800138000' as phone")
        con.execute("create table raw.kept as select 1 as x")
        where = con.execute(
            "select table_catalog from information_schema.tables "
            "where table_schema = 'work' and table_name = 'customers'"
        ).fetchall()
        assert where == [(warehouse.WORK_CATALOG,)]
    assert "13800138000" in file_text(warehouse.work_path(path))
    assert warehouse.work_path(path).stat().st_mode & 0o077 == 0
    assert "13800138000" not in file_text(path)
    with warehouse.opened(path) as con:
        # The next step of the run sees the table again; clearing deletes the file.
        assert con.execute("select phone from work.customers").fetchall() == [("13800138000",)]
        warehouse.clear_work(con)
        assert warehouse.count(con, "raw.kept") == 1
        tables = "select count(*) from information_schema.tables where table_schema = 'work'"
        assert warehouse.scalar(con, tables) == 0
    assert "13800138000" not in file_text(warehouse.work_path(path))


def test_a_work_schema_of_an_earlier_version_is_dropped_from_the_file(tmp_path):
    import duckdb

    path = tmp_path / "w.duckdb"
    with warehouse.opened(path):
        pass
    with duckdb.connect(str(path)) as con:
        con.execute("create schema work")
        con.execute("create table work.customers as select 'x' as full_name")
    with warehouse.opened(path) as con:
        schemas = con.execute(
            "select catalog_name from information_schema.schemata where schema_name = 'work'"
        ).fetchall()
        assert schemas == [(warehouse.WORK_CATALOG,)]
        with pytest.raises(duckdb.CatalogException):
            con.execute("select * from work.customers")


def test_an_unreadable_scratch_file_is_started_afresh(tmp_path):
    path = tmp_path / "w.duckdb"
    warehouse.work_path(path).write_bytes(b"not a database, left by a killed run " * 200)
    with warehouse.opened(path) as con:
        con.execute("create table work.x as select 1 as n")
        assert warehouse.scalar(con, "select n from work.x") == 1
