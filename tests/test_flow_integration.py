"""The whole daily_collections flow on a generated book: three days, a rerun, exit codes."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import pytest

from arrears import warehouse
from arrears.cli import main
from arrears.generate import generate_landing
from arrears.settings import Settings

pytestmark = pytest.mark.integration

START = date(2025, 6, 1)
DAYS = 3
# Every table a rerun must leave exactly as it was (ops/quality hold run ids and timestamps).
STATE_TABLES = (
    "raw.loans",
    "raw.installments",
    "raw.customers",
    "raw.arrangements",
    "raw.contact_events",
    "raw.holds",
    "marts.loan_aging",
    "marts.kpi_daily",
    "marts.roll_rates",
    "marts.arrangement_status",
    "marts.collection_actions",
    "marts.suppressed_actions",
)


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    landing = tmp_path_factory.mktemp("book") / "landing"
    # Every second day lacks arrangements and holds: the flow must carry them forward.
    generate_landing(landing, START, DAYS, loans=400, seed=11, skip_optional_every=2)
    return landing


@pytest.fixture
def settings(book: Path, tmp_path: Path) -> Settings:
    return Settings(
        landing=book,
        warehouse=tmp_path / "arrears.duckdb",
        outbox=tmp_path / "outbox",
        reports=tmp_path / "reports",
    )


def state(path: Path) -> dict[str, list[tuple]]:
    with warehouse.opened(path, read_only=True) as con:
        return {
            t: sorted(con.execute(f"select * from {t}").fetchall(), key=repr) for t in STATE_TABLES
        }


def outbox_digests(outbox: Path) -> dict[str, str]:
    if not outbox.exists():
        return {}
    return {
        str(p.relative_to(outbox)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(outbox.rglob("*"))
        if p.is_file() and p.name != "_manifest.json"
    }


def cli(settings: Settings, *args: str) -> int:
    return main(
        [
            *args,
            "--landing",
            str(settings.landing),
            "--warehouse",
            str(settings.warehouse),
            "--outbox",
            str(settings.outbox),
        ]
    )


def test_three_days_then_a_rerun_leaves_the_warehouse_identical(prefect_harness, settings):
    from flows.daily_collections import daily_collections

    for i in range(DAYS):
        result = daily_collections(snapshot_date=START + timedelta(days=i), settings=settings)
        assert result["rows"]["ingest"]["loans"] > 0
    before, files_before = state(settings.warehouse), outbox_digests(settings.outbox)
    assert before["raw.loans"], "the runs committed nothing"

    daily_collections(snapshot_date=START + timedelta(days=1), settings=settings)

    assert state(settings.warehouse) == before
    assert outbox_digests(settings.outbox) == files_before
    with warehouse.opened(settings.warehouse, read_only=True) as con:
        runs = con.execute(
            "select snapshot_date, status from ops.runs order by started_at"
        ).fetchall()
        dates = con.execute("select distinct snapshot_date from raw.loans order by 1").fetchall()
    assert [s for _, s in runs] == ["SUCCEEDED"] * (DAYS + 1)
    assert [d for (d,) in dates] == [START + timedelta(days=i) for i in range(DAYS)]


def test_cli_run_then_rejected_input_exits_3_and_changes_nothing(
    prefect_harness, settings, tmp_path
):
    assert cli(settings, "run", "--date", START.isoformat()) == 0
    before = state(settings.warehouse)
    # A corrected but broken file for the same date arrives: it must not replace good data.
    bad_landing = tmp_path / "bad"
    day = bad_landing / START.isoformat()
    day.mkdir(parents=True)
    for path in (settings.landing / START.isoformat()).iterdir():
        (day / path.name).write_bytes(path.read_bytes())
    loans = day / "loans.csv"
    lines = loans.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(lines[1].split(",")[5], "2025-13-45", 1)
    loans.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = settings.model_copy(update={"landing": bad_landing})

    assert cli(bad, "run", "--date", START.isoformat()) == 3

    assert state(settings.warehouse) == before
    with warehouse.opened(settings.warehouse, read_only=True) as con:
        last = con.execute(
            "select status, error from ops.runs order by started_at desc limit 1"
        ).fetchall()[0]
    assert last[0] == "REJECTED"
    assert "loans.csv" in last[1] and "origination_date" in last[1]


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--date", "2025-02-30"],
        ["run", "--date", "2025-06-01", "--profile", "mars"],
        ["run", "--date", "2025-06-01", "--timezone", "Mars/Olympus"],
        ["backfill", "--from", "2025-06-03", "--to", "2025-06-01"],
        ["run"],
        ["explode"],
    ],
)
def test_bad_arguments_exit_2_before_touching_anything(settings, args):
    assert cli(settings, *args) == 2
    assert not settings.warehouse.exists()
