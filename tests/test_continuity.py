"""A missing or empty warehouse never silently starts over when the outbox or landing folder
shows earlier dates: the run refuses (exit 2, nothing written) unless asked to initialise."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from fixtures.reliability_support import capture_stderr, outbox_state

from arrears import continuity, warehouse
from arrears.cli import main
from arrears.generate import generate_landing
from arrears.settings import Settings, load_settings

D1 = date(2025, 6, 1)
D2 = D1 + timedelta(days=1)


def landing_with(root: Path, *days: date) -> Path:
    for day in days:
        (root / "landing" / day.isoformat()).mkdir(parents=True)
        (root / "landing" / day.isoformat() / "loans.csv").write_text("loan_id\n")
    return root / "landing"


def check(root: Path, day: date, *, init: bool = False) -> continuity.Evidence:
    return continuity.check(
        root / "data" / "arrears.duckdb",
        root / "landing",
        root / "outbox",
        day,
        init=init,
        wait_seconds=1,
    )


def test_earlier_landing_dates_refuse_a_missing_warehouse(tmp_path):
    landing_with(tmp_path, D1, D2)
    with pytest.raises(continuity.FreshWarehouse) as refused:
        check(tmp_path, D2)
    message = str(refused.value)
    assert f"{tmp_path / 'data' / 'arrears.duckdb'} does not exist" in message
    assert f"snapshots before {D2} ({D1})" in message and "--init" in message
    assert not (tmp_path / "data").exists()
    # The first date of the landing folder, or an initialising run, goes ahead.
    assert not check(tmp_path, D1)
    assert check(tmp_path, D2, init=True).landed == (D1,)


def test_published_outbox_dates_refuse_a_missing_or_empty_warehouse(tmp_path):
    landing_with(tmp_path, D2)
    for day in (D2, D2 + timedelta(days=1)):
        (tmp_path / "outbox" / day.isoformat()).mkdir(parents=True)
    (tmp_path / "outbox" / D2.isoformat() / "_manifest.json").write_text("{}")
    with pytest.raises(continuity.FreshWarehouse, match=f"published action dates {D2}:"):
        check(tmp_path, D2)

    # A warehouse file without any committed snapshot is no better.
    warehouse.connect(tmp_path / "data" / "arrears.duckdb").close()
    with pytest.raises(continuity.FreshWarehouse, match="holds no committed snapshot"):
        check(tmp_path, D2)


def test_a_warehouse_with_history_or_initialised_goes_ahead(tmp_path):
    landing_with(tmp_path, D1, D2)
    db = tmp_path / "data" / "arrears.duckdb"
    with warehouse.opened(db) as con:
        seen = continuity.evidence(tmp_path / "landing", tmp_path / "outbox", D2)
        assert continuity.record_initialisation(
            con, db, D2, seen, tmp_path / "landing", tmp_path / "outbox"
        )
        # once only
        assert not continuity.record_initialisation(
            con, db, D2, seen, tmp_path / "landing", tmp_path / "outbox"
        )
        recorded = con.execute("select warehouse, snapshot_date, evidence from ops.initialisations")
        assert recorded.fetchall() == [
            (str(db.resolve()), D2, seen.describe(tmp_path / "landing", tmp_path / "outbox", D2))
        ]
    assert check(tmp_path, D2).landed == (D1,)

    other = tmp_path / "other"
    landing_with(other, D1, D2)
    with warehouse.opened(other / "data" / "arrears.duckdb") as con:
        con.execute(
            "insert into raw.loans (snapshot_date, loan_id, customer_id, product, branch, "
            "currency, origination_date, principal_amount, outstanding_principal, status) "
            "values ($d, 'L1', 'C1', 'microloan', 'B1', 'CNY', $d, 1, 1, 'ACTIVE')",
            {"d": D1},
        )
    assert check(other, D2).landed == (D1,)


def test_the_project_dir_anchors_the_relative_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARREARS_PROJECT_DIR", "/srv/arrears")
    settings = load_settings()
    assert settings.warehouse == Path("/srv/arrears/data/arrears.duckdb")
    assert settings.landing == Path("/srv/arrears/landing")
    assert settings.outbox == Path("/srv/arrears/outbox")
    assert settings.reports == Path("/srv/arrears/reports")
    # What is given is used as given.
    monkeypatch.setenv("ARREARS_WAREHOUSE", "elsewhere.duckdb")
    assert load_settings().warehouse == Path("elsewhere.duckdb")
    monkeypatch.delenv("ARREARS_PROJECT_DIR")
    monkeypatch.delenv("ARREARS_WAREHOUSE")
    assert Settings().warehouse == Path("data/arrears.duckdb")


def cli(root: Path, *args: str) -> int:
    return main(
        [
            *args,
            "--landing",
            str(root / "landing"),
            "--warehouse",
            str(root / "data" / "arrears.duckdb"),
            "--outbox",
            str(root / "outbox"),
        ]
    )


@pytest.mark.integration
def test_a_lost_warehouse_refuses_to_rerun_and_init_starts_over_on_purpose(
    prefect_harness, tmp_path, monkeypatch
):
    monkeypatch.setenv("ARREARS_REPORTS", str(tmp_path / "reports"))
    generate_landing(tmp_path / "landing", D1, 2, loans=120, seed=3)
    db = tmp_path / "data" / "arrears.duckdb"

    # A mis-pathed first run of D2: refused, nothing created (not even the lock file).
    captured = capture_stderr(monkeypatch)
    assert cli(tmp_path, "run", "--date", D2.isoformat()) == 2
    assert "does not exist" in captured.getvalue() and "--init" in captured.getvalue()
    assert not (tmp_path / "data").exists() and not (tmp_path / "outbox").exists()

    assert cli(tmp_path, "backfill", "--from", D1.isoformat(), "--to", D2.isoformat()) == 0
    published = outbox_state(tmp_path / "outbox")
    assert published

    # The warehouse goes missing (moved, another disk): the rerun would send letters again.
    shutil.move(db, tmp_path / "moved.duckdb")
    assert cli(tmp_path, "run", "--date", D2.isoformat()) == 2
    assert not db.exists()
    assert outbox_state(tmp_path / "outbox") == published

    # Asked to start over, it does; `arrears init` then lets later runs go ahead.
    assert cli(tmp_path, "run", "--date", D2.isoformat(), "--init") == 0
    with warehouse.opened(db, read_only=True) as con:
        assert con.execute("select snapshot_date from ops.initialisations").fetchall() == [(D2,)]
        assert con.execute("select status from ops.runs").fetchall() == [("SUCCEEDED",)]
    db.unlink()
    assert (
        main(
            [
                "init",
                "--warehouse",
                str(db),
                "--landing",
                str(tmp_path / "landing"),
                "--outbox",
                str(tmp_path / "outbox"),
            ]
        )
        == 0
    )
    assert cli(tmp_path, "run", "--date", D2.isoformat()) == 0
