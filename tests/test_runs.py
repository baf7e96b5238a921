"""Run bookkeeping and the one-run-per-warehouse lock, across real processes."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date

import pytest

from arrears import runs, warehouse
from arrears.errors import RunLocked

HOLD = """
import sys, time
from arrears.warehouse import run_lock
with run_lock(sys.argv[1], 5, "daily_collections 2025-06-01 run A"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_lock(path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_second_run_fails_clearly_when_the_lock_is_held(tmp_path):
    db = tmp_path / "arrears.duckdb"
    holder = hold_lock(db, 5)
    try:
        with pytest.raises(RunLocked) as info:
            with warehouse.run_lock(db, 0.3, "run B"):
                pytest.fail("acquired a lock another process holds")
        assert "daily_collections 2025-06-01 run A" in str(info.value)
        assert "ARREARS_LOCK_TIMEOUT_SECONDS" in str(info.value)
    finally:
        holder.kill()
        holder.wait()


def test_second_run_waits_for_the_first_to_finish(tmp_path):
    db = tmp_path / "arrears.duckdb"
    holder = hold_lock(db, 1.5)
    started = time.monotonic()
    with warehouse.run_lock(db, 30, "run B"):
        waited = time.monotonic() - started
    holder.wait()
    # Run A held the lock for 1.5 s after saying so: B can only have entered after that.
    assert waited > 1.2


def test_a_killed_holder_releases_the_lock(tmp_path):
    db = tmp_path / "arrears.duckdb"
    holder = hold_lock(db, 60)
    holder.kill()
    holder.wait()
    with warehouse.run_lock(db, 2, "run B"):
        pass


def test_a_run_left_running_by_a_dead_process_is_marked_abandoned():
    con = warehouse.connect(":memory:")
    day = date(2025, 6, 1)
    runs.start(con, "run-a", day, None, {})
    runs.start(con, "run-b", day, None, {})
    runs.finish(con, "run-b", "SUCCEEDED", row_counts={"loans": 3})
    rows = con.execute("select run_id, status, row_counts_json from ops.runs order by run_id")
    assert rows.fetchall() == [
        ("run-a", "ABANDONED", None),
        ("run-b", "SUCCEEDED", '{"loans": 3}'),
    ]
    assert runs.action_date_for(day) == date(2025, 6, 2)


def test_commit_refuses_work_rows_of_another_date():
    from arrears import commit
    from arrears.errors import ArrearsError

    con = warehouse.connect(":memory:")
    day = date(2025, 6, 1)
    con.execute(warehouse.work_table_ddl("holds"))
    con.execute(
        "insert into work.holds values ('2025-05-31', 'K1', null, 'DISPUTE', '2025-05-01', null)"
    )
    with pytest.raises(ArrearsError, match="work.holds holds 1 rows whose snapshot_date"):
        commit.commit(con, day)
    assert warehouse.count(con, "raw.holds") == 0


def _inputs(loans: str, installments: str) -> dict:
    return {
        "loans": {"file": "/landing/x/loans.csv", "sha256": loans},
        "installments": {"file": "/landing/x/installments.csv", "sha256": installments},
        "holds": {"file": None, "sha256": None},
    }


def test_the_same_export_filed_again_is_flagged():
    con = warehouse.connect(":memory:")
    day1, day2 = date(2025, 6, 1), date(2025, 6, 2)
    runs.start(con, "run-1", day1, None, {})
    runs.finish(con, "run-1", "SUCCEEDED", inputs=_inputs("aa", "bb"))
    runs.start(con, "run-2", day2, None, {})

    assert runs.repeated_inputs_note(con, day2, _inputs("aa", "cc")) is None
    assert runs.repeated_inputs_note(con, day1, _inputs("aa", "bb")) is None  # nothing earlier
    note = runs.repeated_inputs_note(con, day2, _inputs("aa", "bb"))
    assert note is not None
    assert note.startswith("loans.csv and installments.csv are byte-identical to the files of")
    assert "2025-06-01" in note

    runs.add_note(con, "run-2", note)
    runs.add_note(con, "run-2", "second")
    notes = warehouse.scalar(con, "select notes from ops.runs where run_id = 'run-2'")
    assert notes == note + "\nsecond"


def test_a_failed_earlier_run_is_not_compared():
    con = warehouse.connect(":memory:")
    runs.start(con, "run-1", date(2025, 6, 1), None, {})
    runs.finish(con, "run-1", "REJECTED", inputs=_inputs("aa", "bb"))
    assert runs.repeated_inputs_note(con, date(2025, 6, 2), _inputs("aa", "bb")) is None
