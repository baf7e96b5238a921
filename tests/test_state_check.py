"""The state a night reads must be the previous night's: anything else stops the run (exit 1)
before it computes, naming the command that rebuilds it; the rebuild restores the same state."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from arrears import commit, ingest, state, warehouse
from arrears.aging import build_aging, load_aging_config
from arrears.generate import generate_landing
from arrears.report.kpis import build_kpi_variants
from arrears.settings import Settings
from arrears.strategy import decide, load_strategy

START = date(2025, 3, 1)
NIGHTS = 9


def night(con, day: date, landing: Path) -> None:
    settings = Settings()
    warehouse.clear_work(con)
    ingest.ingest(con, day, landing)
    build_aging(con, day, load_aging_config())
    decide(con, day, load_strategy(settings.strategy, settings.profile), settings.timezone)
    build_kpi_variants(con, day)
    state.build(con, day, state.previous_snapshot(con, day))
    commit.commit(con, day)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("state")
    landing = root / "landing"
    generate_landing(landing, START, NIGHTS + 1, 300, seed=3)
    with warehouse.opened(root / "w.duckdb") as con:
        for k in range(NIGHTS):
            night(con, START + timedelta(days=k), landing)
    return root, landing


@pytest.fixture
def con(book, tmp_path: Path):
    root, _ = book
    copy = tmp_path / "w.duckdb"
    copy.write_bytes((root / "w.duckdb").read_bytes())
    with warehouse.opened(copy) as opened:
        yield opened


def snapshot(con, table: str) -> pl.DataFrame:
    df = con.sql(f"select * from marts.{table}").pl()
    return df.sort([c for c in df.columns if df.schema[c] != pl.List])


def test_only_the_last_nights_versions_are_kept(con) -> None:
    versions = con.execute("select distinct snapshot_date from marts.loan_state order by 1")
    dates = [d for (d,) in versions.fetchall()]
    last = START + timedelta(days=NIGHTS - 1)
    # the last 7 nights' versions and the one the oldest of them reads on a rerun
    assert dates == [last - timedelta(days=k) for k in reversed(range(8))]


def test_the_next_night_reads_the_previous_version(con) -> None:
    after = START + timedelta(days=NIGHTS)
    assert state.check(con, after) == after - timedelta(days=1)
    # a rerun of a kept night reads the version before it
    assert state.check(con, after - timedelta(days=3)) == after - timedelta(days=4)


def test_a_deleted_state_table_stops_the_night_naming_the_rebuild(con) -> None:
    con.execute("drop table marts.contact_state")
    with pytest.raises(state.StateError, match="marts.contact_state is missing") as raised:
        state.check(con, START + timedelta(days=NIGHTS))
    assert raised.value.exit_code == 1
    assert "arrears rebuild-state --through" in str(raised.value)


def test_a_version_of_another_night_stops_the_night(con) -> None:
    last = START + timedelta(days=NIGHTS - 1)
    con.execute("delete from marts.loan_state where snapshot_date = $d", {"d": last})
    with pytest.raises(state.StateError, match=f"previous snapshot is {last}"):
        state.check(con, last + timedelta(days=1))


def test_each_of_the_last_nights_can_be_rerun(con) -> None:
    last = START + timedelta(days=NIGHTS - 1)
    for k in range(7):
        night = last - timedelta(days=k)
        assert state.check(con, night) == night - timedelta(days=1)


def test_a_night_older_than_the_kept_versions_asks_for_a_rebuild(con) -> None:
    with pytest.raises(state.StateError, match="only the last nights' versions are kept"):
        state.check(con, START + timedelta(days=1))


def test_rebuilding_from_the_marts_gives_the_state_the_nights_carried(con) -> None:
    carried = {name: snapshot(con, name) for name in state.STATE_MODELS}
    for name in state.STATE_MODELS:
        con.execute(f"delete from marts.{name}")

    folded = state.rebuild(con)

    assert folded == NIGHTS
    for name in state.STATE_MODELS:
        assert_frame_equal(snapshot(con, name), carried[name])


def test_rebuilding_through_an_older_night_lets_it_rerun(con) -> None:
    older = START + timedelta(days=1)
    state.rebuild(con, through=older - timedelta(days=1))
    assert state.check(con, older) == older - timedelta(days=1)
