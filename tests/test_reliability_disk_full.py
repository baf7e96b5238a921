"""Disk full at every step boundary: the disk fills (an injected ENOSPC that stays for the rest
of the run, so the run's own bookkeeping fails too) and ops.runs still ends in the state of what
was published: RUNNING rows settled as ABANDONED, published ones as PUBLISHED_SINK_FAILED or
PUBLISHED_UNFINISHED, never RUNNING while the day's files are out.

Like the crash chain: each failing run of D2 is the rerun of the previous one (whose row its
start settles), then one clean run must equal an uninterrupted run.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from fixtures.reliability_support import (
    capture_stderr,
    copy_warehouse,
    outbox_state,
    pg_database,
    pg_drop,
    pg_reachable,
    pg_state,
    state,
)

from arrears import faults, warehouse
from arrears.cli import main
from arrears.generate import generate_landing

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

D1 = date(2025, 6, 1)
D2 = D1 + timedelta(days=1)
A2 = D2 + timedelta(days=1)

# (failpoint where the disk fills, what was out when it did, status recorded meanwhile)
CHAIN = (
    ("runs:start", "nothing", None),
    ("flow:after-start", "nothing", "RUNNING"),
    ("flow:after-ingest", "nothing", "RUNNING"),
    ("flow:after-validate-landing", "nothing", "RUNNING"),
    ("flow:after-age", "nothing", "RUNNING"),
    ("flow:after-decide", "nothing", "RUNNING"),
    ("flow:after-validate-actions", "nothing", "RUNNING"),
    ("commit:after:marts.collection_actions", "nothing", "RUNNING"),
    ("flow:after-commit", "committed", "RUNNING"),
    ("runs:record", "committed", "RUNNING"),  # the state before the swap cannot be written
    ("publish:before-swap", "committed", "PUBLISHED"),  # recorded, not swapped: settled later
    ("flow:after-publish", "published", "PUBLISHED"),
    ("publish:exchanged", "published", "PUBLISHED"),
    ("postgres:before-commit", "published", "PUBLISHED"),
    ("flow:after-sink-postgres", "sunk", "PUBLISHED"),
    ("flow:after-report", "sunk", "PUBLISHED"),
    ("runs:finish", "sunk", "PUBLISHED"),  # everything out, the last write of ops.runs refused
)


def published_status(out: str, sink: bool) -> str:
    """What a run records once its outbox is (about to be) out: until the sink is done, that
    the sink failed."""
    return "PUBLISHED_SINK_FAILED" if sink and out != "sunk" else "PUBLISHED_UNFINISHED"


def final_status(point: str, out: str, sink: bool) -> str | None:
    if point == "runs:start":
        return None  # no row: nothing of the run was written
    if out in ("nothing", "committed"):
        return "ABANDONED"
    return published_status(out, sink)


def rows(db: Path) -> list[tuple]:
    with warehouse.opened(db, read_only=True) as con:
        return con.execute(
            "select run_id, status, finished_at is not null, error from ops.runs "
            "where snapshot_date = $d order by started_at",
            {"d": D2},
        ).fetchall()


@pytest.fixture(scope="module")
def scene(prefect_harness, tmp_path_factory):
    root = tmp_path_factory.mktemp("diskfull")
    generate_landing(root / "landing", D1, 2, loans=150, seed=7)
    use_pg = pg_reachable()
    names = [f"arrears_disk_{tag}_{uuid.uuid4().hex[:12]}" for tag in ("ref", "chain")]
    dsns = [pg_database(n) for n in names] if use_pg else [None, None]
    ref, chain = root / "ref", root / "chain"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ARREARS_REPORTS", str(ref / "reports"))
        assert run(root, ref, D1, None) == 0  # PostgreSQL gets D2 only, as the chain does
        copy_warehouse(ref / "arrears.duckdb", chain / "arrears.duckdb")
        shutil.copytree(ref / "outbox", chain / "outbox")
        before = {"state": state(ref / "arrears.duckdb"), "outbox": outbox_state(ref / "outbox")}
        assert run(root, ref, D2, dsns[0]) == 0
    reference = {
        "state": state(ref / "arrears.duckdb"),
        "outbox": outbox_state(ref / "outbox"),
        "pg": pg_state(dsns[0]) if use_pg else None,
    }
    yield {"root": root, "chain": chain, "dsn": dsns[1], "before": before, "ref": reference}
    if use_pg:
        for name in names:
            pg_drop(name)


def run(root: Path, where: Path, day: date, dsn: str | None) -> int:
    args = ["run", "--date", day.isoformat(), "--landing", str(root / "landing")]
    args += ["--warehouse", str(where / "arrears.duckdb"), "--outbox", str(where / "outbox")]
    return main([*args, *(["--postgres", dsn] if dsn else [])])


def test_a_full_disk_at_every_step_leaves_ops_runs_saying_what_was_published(scene, monkeypatch):
    root, chain, dsn = scene["root"], scene["chain"], scene["dsn"]
    sink = dsn is not None
    points = [c for c in CHAIN if sink or "postgres" not in c[0]]
    db = chain / "arrears.duckdb"
    monkeypatch.setenv("ARREARS_REPORTS", str(chain / "reports"))
    monkeypatch.setenv("ARREARS_FAILPOINT_ACTION", "enospc")
    seen: list[tuple[str, str, str]] = []  # (point, run_id, out) of each run that left a row
    for point, out, recorded in points:
        monkeypatch.setenv("ARREARS_FAILPOINT", point)
        captured = capture_stderr(monkeypatch)
        before_rows = rows(db)
        try:
            code = run(root, chain, D2, dsn)
        finally:
            faults.reset()
        assert code == 1, f"{point}: {captured.getvalue()[-2000:]}"
        assert "No space left on device" in captured.getvalue(), point

        after = rows(db)
        if recorded is None:
            assert len(after) == len(before_rows), f"{point}: a run row was written"
        else:
            run_id, status, finished, _ = after[-1]
            expected = published_status(out, sink) if recorded == "PUBLISHED" else recorded
            # The disk refused the run's last write: the row says what holds if it stops here.
            assert (status, finished) == (expected, False), point
            seen.append((point, run_id, out))
        is_out = out in ("published", "sunk")
        assert outbox_state(chain / "outbox") == scene["ref" if is_out else "before"]["outbox"]
        expected_state = scene["before" if out == "nothing" else "ref"]["state"]
        assert state(db) == expected_state, f"{point}: raw/marts not all-or-nothing"
        if sink:
            sunk = pg_state(dsn)
            if out == "sunk":
                assert sunk == scene["ref"]["pg"], point
            else:
                assert not sunk["collection_actions"], point

    monkeypatch.delenv("ARREARS_FAILPOINT")
    assert run(root, chain, D2, dsn) == 0

    settled = {run_id: (status, finished, error) for run_id, status, finished, error in rows(db)}
    for point, run_id, out in seen:
        status, finished, error = settled[run_id]
        assert (status, finished) == (final_status(point, out, sink), True), (point, error)
    assert list(settled.values())[-1][:2] == ("SUCCEEDED", True)
    assert state(db) == scene["ref"]["state"]
    assert outbox_state(chain / "outbox") == scene["ref"]["outbox"]
    if sink:
        assert pg_state(dsn) == scene["ref"]["pg"]
