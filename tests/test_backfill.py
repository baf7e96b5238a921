"""Backfill stops at the first failed date and resumes from it; retries only transient I/O."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from prefect.states import Completed, Failed

from arrears import warehouse
from arrears.cli import main
from arrears.errors import InputRejected
from arrears.generate import generate_landing
from tasks.retries import transient_only

pytestmark = pytest.mark.integration


def statuses(db: Path) -> list[tuple[date, str]]:
    with warehouse.opened(db, read_only=True) as con:
        return con.execute(
            "select snapshot_date, status from ops.runs order by started_at"
        ).fetchall()


def test_backfill_stops_at_the_first_failure_and_resumes_from_it(prefect_harness, tmp_path):
    landing = tmp_path / "landing"
    generate_landing(landing, date(2025, 6, 1), 2, loans=150, seed=5)
    held = tmp_path / "held"
    shutil.move(landing / "2025-06-02" / "loans.csv", held)
    options = ["--landing", str(landing), "--warehouse", str(tmp_path / "w.duckdb")]
    options += ["--outbox", str(tmp_path / "outbox")]

    code = main(["backfill", "--from", "2025-06-01", "--to", "2025-06-02", *options])

    assert code == 3
    assert statuses(tmp_path / "w.duckdb") == [
        (date(2025, 6, 1), "SUCCEEDED"),
        (date(2025, 6, 2), "REJECTED"),
    ]
    shutil.move(held, landing / "2025-06-02" / "loans.csv")

    assert main(["backfill", "--from", "2025-06-02", "--to", "2025-06-02", *options]) == 0
    assert statuses(tmp_path / "w.duckdb")[-1] == (date(2025, 6, 2), "SUCCEEDED")
    assert (tmp_path / "outbox" / "2025-06-03" / "_manifest.json").exists()


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (OSError("landing share went away"), True),
        (TimeoutError("slow disk"), True),
        (InputRejected("loans.csv", "duplicate key (loan_id)", 2), False),
        (ValueError("a bug"), False),
    ],
)
def test_retries_only_transient_io(error, retried):
    assert transient_only(None, None, Failed(data=error)) is retried


def test_a_completed_state_is_not_retried():
    assert transient_only(None, None, Completed()) is False
