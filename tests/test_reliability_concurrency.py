"""Concurrency: two runs of the same date at once, and a run while a reader holds the warehouse.

DuckDB allows one process to have a database file open for writing and then no other process
may open it at all, not even read-only. Runs serialize on the run lock (<warehouse>.lock), and
every open of the warehouse waits for another process's DuckDB lock up to the lock timeout,
then fails (exit 1) naming the process that holds it.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from fixtures.reliability_support import Runner, capture_stderr, outbox_state, state

from arrears import warehouse
from arrears.cli import main
from arrears.generate import generate_landing

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

D = date(2025, 6, 1)

HOLD_RUN_LOCK = """
import sys, time
from arrears.warehouse import run_lock
with run_lock(sys.argv[1], 5, "daily_collections 2025-06-01 run A"):
    print("held", flush=True)
    time.sleep(60)
"""
# A reader as an analyst's notebook would be: plain DuckDB, read-only, kept open.
HOLD_READER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("select count(*) from ops.runs").fetchall()
print("open", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
print(time.time(), flush=True)
"""


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    landing = tmp_path_factory.mktemp("concurrency") / "landing"
    generate_landing(landing, D, 1, loans=150, seed=7)
    return landing


def args(book: Path, root: Path) -> list[str]:
    return [
        "run",
        "--date",
        D.isoformat(),
        "--landing",
        str(book),
        "--warehouse",
        str(root / "arrears.duckdb"),
        "--outbox",
        str(root / "outbox"),
    ]


def hold(script: str, *argv: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *argv], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def test_two_runs_of_the_same_date_at_once_run_one_after_the_other(prefect_harness, book, tmp_path):
    import prefect.settings

    runner = Runner(prefect.settings.PREFECT_API_URL.value(), tmp_path / "logs")
    env = {"ARREARS_REPORTS": str(tmp_path / "reports")}
    first, second = (runner.start(args(book, tmp_path), env) for _ in range(2))
    done = [runner.wait(first), runner.wait(second)]

    assert [d.exitcode for d in done] == [0, 0], done[0].output[-2000:] + done[1].output[-2000:]
    with warehouse.opened(tmp_path / "arrears.duckdb", read_only=True) as con:
        runs = con.execute(
            "select status, started_at, finished_at from ops.runs order by started_at"
        ).fetchall()
        loans = con.execute("select count(*), count(distinct loan_id) from raw.loans").fetchall()
    assert [status for status, *_ in runs] == ["SUCCEEDED", "SUCCEEDED"]
    # The second started (took the lock) only after the first had finished.
    assert runs[1][1] >= runs[0][2]
    assert loans == [(150, 150)]
    assert [p.name for p in (tmp_path / "outbox").iterdir() if not p.name.startswith(".")] == [
        "2025-06-02"
    ]


def test_a_run_that_cannot_get_the_run_lock_in_time_exits_1_naming_the_holder(
    prefect_harness, book, tmp_path, monkeypatch
):
    monkeypatch.setenv("ARREARS_LOCK_TIMEOUT_SECONDS", "1")
    stderr = capture_stderr(monkeypatch)
    holder, said = hold(HOLD_RUN_LOCK, str(tmp_path / "arrears.duckdb"))
    try:
        assert said == "held"
        code = main(args(book, tmp_path))
    finally:
        holder.kill()
        holder.wait()

    err = " ".join(stderr.getvalue().split())
    assert code == 1
    assert "is locked by daily_collections 2025-06-01 run A" in err
    assert "ARREARS_LOCK_TIMEOUT_SECONDS" in err
    assert not (tmp_path / "arrears.duckdb").exists()


def test_a_run_waits_for_a_reader_to_close_the_warehouse(
    prefect_harness, book, tmp_path, monkeypatch
):
    db = tmp_path / "arrears.duckdb"
    warehouse.connect(db).close()
    reader, said = hold(HOLD_READER, str(db), "2")
    assert said == "open"

    code = main(args(book, tmp_path))

    closed_at = float(reader.stdout.readline())
    reader.wait()
    assert code == 0
    with warehouse.opened(db, read_only=True) as con:
        started = con.execute("select epoch(started_at) from ops.runs").fetchall()[0][0]
    # The run could not write anything (not even its ops.runs row) until the reader left.
    assert started >= closed_at


def test_a_reader_that_stays_past_the_timeout_fails_the_run_clearly(
    prefect_harness, book, tmp_path, monkeypatch
):
    db = tmp_path / "arrears.duckdb"
    warehouse.connect(db).close()
    before = state(db), outbox_state(tmp_path / "outbox")
    monkeypatch.setenv("ARREARS_LOCK_TIMEOUT_SECONDS", "1")
    stderr = capture_stderr(monkeypatch)
    reader, said = hold(HOLD_READER, str(db), "60")
    try:
        assert said == "open"
        code = main(args(book, tmp_path))
    finally:
        reader.kill()
        reader.wait()

    err = " ".join(stderr.getvalue().split())
    assert code == 1
    assert f"is open in another process (PID {reader.pid}: " in err
    assert "close that process" in err
    assert "ARREARS_LOCK_TIMEOUT_SECONDS" in err
    assert (state(db), outbox_state(tmp_path / "outbox")) == before


def test_the_holder_is_described_without_the_credentials_on_its_command_line():
    script = "import time; print('up', flush=True); time.sleep(30)"
    holder, said = hold(script, "postgresql://u:hunter2@db/x")
    try:
        assert said == "up"
        described = warehouse._describe(f"Conflicting lock is held in python (PID {holder.pid})")
    finally:
        holder.kill()
        holder.wait()
    assert described.startswith(f"PID {holder.pid}: {sys.executable} -c {script}")
    assert "postgresql://***@db/x" in described and "hunter2" not in described
