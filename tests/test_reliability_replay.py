"""Replay: a corrected snapshot of an older date arrives after newer dates were processed.

Rerunning D1 after D2 recomputes D1's partitions only (raw.* and marts.* of snapshot D1, the
actions of D1 + 1 and their outbox folder). D2 is kept as it was, although it was computed from
the old D1 (e.g. a loan's previous bucket): the run says so in its log and in ops.runs.notes,
with the command that recomputes it, and that command does.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest
from fixtures.reliability_support import outbox_state, state_tables

from arrears import warehouse
from arrears.cli import main
from arrears.generate import generate_landing

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

D1 = date(2025, 6, 1)
D2 = D1 + timedelta(days=1)


def partitions(db: Path) -> dict[tuple[str, date], list[tuple]]:
    """Every raw/marts table's rows per snapshot date (actions carry theirs too)."""
    found: dict[tuple[str, date], list[tuple]] = {}
    with warehouse.opened(db, read_only=True) as con:
        for table in state_tables(con):
            for day in (D1, D2):
                rows = con.execute(
                    f"select * from {table} where snapshot_date = $d", {"d": day}
                ).fetchall()
                found[(table, day)] = sorted(rows, key=repr)
    return found


def settle_overdue(path: Path, day: date) -> str:
    """Mark every installment due before `day` of the first overdue loan paid; its loan_id."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    parts = ("principal", "interest", "fee", "penalty")

    def unpaid(r: dict) -> bool:
        due = sum(float(r[f"{p}_due"] or 0) for p in parts)
        paid = sum(float(r[f"{p}_paid"] or 0) for p in parts)
        return r["due_date"] < day.isoformat() and due - paid > 1

    loan = next(r["loan_id"] for r in rows if unpaid(r))
    for r in rows:
        if r["loan_id"] == loan and r["due_date"] < day.isoformat():
            for p in parts:
                r[f"{p}_paid"] = r[f"{p}_due"] or "0.00"
            r["last_payment_date"] = day.isoformat()
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return loan


def cli(root: Path, *command: str) -> int:
    return main(
        [
            *command,
            "--landing",
            str(root / "landing"),
            "--warehouse",
            str(root / "arrears.duckdb"),
            "--outbox",
            str(root / "outbox"),
        ]
    )


def previous_bucket(db: Path, loan: str, day: date) -> tuple:
    with warehouse.opened(db, read_only=True) as con:
        return con.execute(
            "select previous_bucket, bucket from marts.loan_aging "
            "where loan_id = $l and snapshot_date = $d",
            {"l": loan, "d": day},
        ).fetchall()[0]


def test_rerunning_an_older_date_replaces_that_date_only_and_says_later_ones_may_be_stale(
    prefect_harness, tmp_path, monkeypatch
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    monkeypatch.setenv("ARREARS_REPORTS", str(tmp_path / "reports"))
    db, outbox = tmp_path / "arrears.duckdb", tmp_path / "outbox"
    generate_landing(tmp_path / "landing", D1, 2, loans=150, seed=7)
    for day in (D1, D2):
        assert cli(tmp_path, "run", "--date", day.isoformat()) == 0
    before, files_before = partitions(db), outbox_state(outbox)
    loan = settle_overdue(tmp_path / "landing" / D1.isoformat() / "installments.csv", D1)
    stale = previous_bucket(db, loan, D2)
    assert stale[0] != "M0", "the corrected loan was not overdue at D1"

    assert cli(tmp_path, "run", "--date", D1.isoformat()) == 0

    after, files_after = partitions(db), outbox_state(outbox)
    changed = {key for key in before if before[key] != after[key]}
    # Recomputed: D1's partitions (the loan's payments, aging, KPIs, its actions) ...
    assert {("raw.installments", D1), ("marts.loan_aging", D1), ("marts.kpi_daily", D1)} <= changed
    # ... and nothing of D2.
    assert {day for _, day in changed} == {D1}
    action1 = (D1 + timedelta(days=1)).isoformat()
    assert {k for k in files_before if files_before[k] != files_after.get(k)} <= {
        k for k in files_before if k.startswith(action1)
    }
    assert files_after.keys() == files_before.keys()
    # Kept as computed from the old D1: the loan's previous bucket at D2 is now stale.
    assert previous_bucket(db, loan, D1)[1] == "M0"
    assert previous_bucket(db, loan, D2) == stale
    with warehouse.opened(db, read_only=True) as con:
        run_id, flow_run_id, notes = con.execute(
            "select run_id, flow_run_id, notes from ops.runs order by started_at desc limit 1"
        ).fetchall()[0]
    command = f"arrears backfill --from {D2} --to {D2}"
    assert notes and f"1 later snapshot(s) exist ({D2} .. {D2})" in notes and command in notes
    APILogWorker.drain_all(timeout=10)
    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
        )
    assert any(command in log.message and log.level >= 30 for log in logs), run_id

    # The command the note gives recomputes the later snapshot from the corrected D1.
    assert cli(tmp_path, *command.split()[1:]) == 0
    assert previous_bucket(db, loan, D2)[0] == "M0"
