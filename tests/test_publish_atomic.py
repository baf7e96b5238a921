"""Atomic replacement of an action date's outbox set: injected failures, hard crashes, recovery."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest
from fixtures.pii_support import TEST_KEY

from arrears import warehouse
from arrears.pii.sealing import seal_table
from arrears.publish import OutboxBusy, folders, publish_outbox, recover_outbox, verify_outbox

ACTION = date(2025, 7, 1)
DAY = ACTION.isoformat()
REPO = Path(__file__).resolve().parent.parent
LOCK = f".{DAY}.lock"


class Injected(Exception):
    pass


def fill(con, priority_of_a2: int = 2) -> None:
    con.execute("delete from marts.collection_actions")
    con.execute("delete from raw.customers")
    con.execute(
        """insert into raw.customers (snapshot_date, customer_id, full_name, phone, email)
           values ('2025-06-30', 'C1', '张三', '+8613800000001', 'z@example.cn'),
                  ('2025-06-30', 'C2', '李四', '13900000002', 'l@example.cn')"""
    )
    seal_table(con, "raw.customers", TEST_KEY)
    for action_id, customer, channel, priority in [
        ("A1", "C1", "SMS", 1),
        ("A2", "C2", "SMS", priority_of_a2),
        ("A3", "C1", "CALL", 1),
        ("A4", "C2", "EMAIL", 1),
    ]:
        con.execute(
            """insert into marts.collection_actions (
            action_id, action_date, snapshot_date, customer_id, loan_ids, primary_loan_id,
            channel, stage, priority, risk_score, overdue_amount, outstanding_amount,
            window_start, window_end, timezone, max_attempts, template, strategy_version,
            strategy_variant
        ) values (
                   $id, '2025-07-01', '2025-06-30', $c, ['L-' || $c], 'L-' || $c, $channel,
                   'CALL', $priority, 0.1, 10.00, 100.00, timestamptz '2025-07-01 08:00:00+08',
                   timestamptz '2025-07-01 22:00:00+08', 'Asia/Shanghai',
                   case when $channel = 'CALL' then 6 end, 't', 'v1', 'champion')""",
            {"id": action_id, "c": customer, "channel": channel, "priority": priority},
        )


@pytest.fixture
def con():
    connection = warehouse.connect(":memory:")
    fill(connection)
    yield connection
    connection.close()


def publish(con, outbox: Path, run_id: str, **kwargs):
    return publish_outbox(con, ACTION, outbox, run_id, ["sms", "call"], key=TEST_KEY, **kwargs)


def snapshot_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def failing_at(point: str):
    def hook(step: str) -> None:
        if step == point:
            raise Injected(point)

    return hook


@pytest.mark.parametrize(
    "point",
    ["wrote:sms.parquet", "wrote:sms.csv", "wrote:call.parquet", "before_manifest", "before_swap"],
)
def test_failure_keeps_the_old_set_and_a_rerun_publishes_the_new(con, tmp_path, point):
    publish(con, tmp_path, "run-old")
    old = snapshot_of(tmp_path / DAY)
    fill(con, priority_of_a2=0)  # the new set differs from the old one

    with pytest.raises(Injected):
        publish(con, tmp_path, "run-new", on_step=failing_at(point))

    assert snapshot_of(tmp_path / DAY) == old
    assert verify_outbox(tmp_path / DAY).run_id == "run-old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [LOCK, DAY]

    manifest = publish(con, tmp_path, "run-new")
    assert verify_outbox(tmp_path / DAY) == manifest
    assert manifest.run_id == "run-new"
    assert snapshot_of(tmp_path / DAY)["sms.parquet"] != old["sms.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [LOCK, DAY]


def test_failure_of_a_first_publish_leaves_no_folder(con, tmp_path):
    with pytest.raises(Injected):
        publish(con, tmp_path, "run-1", on_step=failing_at("before_manifest"))
    assert sorted(p.name for p in tmp_path.iterdir()) == [LOCK]


def test_fallback_swap_by_two_renames(con, tmp_path, monkeypatch):
    monkeypatch.setattr(folders, "_exchange", lambda a, b: False)
    publish(con, tmp_path, "run-1")
    fill(con, priority_of_a2=0)
    manifest = publish(con, tmp_path, "run-2")
    assert verify_outbox(tmp_path / DAY) == manifest
    assert sorted(p.name for p in tmp_path.iterdir()) == [LOCK, DAY]


def test_exchange_swaps_two_folders_in_one_step(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "from_a").write_text("a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "from_b").write_text("b")
    if not folders._exchange(tmp_path / "a", tmp_path / "b"):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here; the two-rename swap is used")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["from_b"]
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["from_a"]


def test_a_second_publisher_of_the_same_date_is_refused(con, tmp_path):
    with folders.date_lock(tmp_path, ACTION), pytest.raises(OutboxBusy, match=DAY):
        publish(con, tmp_path, "run-2")


CRASH_SCRIPT = textwrap.dedent(
    """
    import os, shutil, sys
    from datetime import date
    from pathlib import Path
    from arrears import warehouse
    from arrears.pii.keys import PiiKey
    from arrears.publish import folders, publish_outbox

    warehouse_path, outbox, mode = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    con = warehouse.connect(warehouse_path)
    hook = None
    if mode.startswith("step:"):
        def hook(step):
            if step == mode[5:]:
                os._exit(9)
    elif mode == "between-renames":
        folders._exchange = lambda a, b: False
        real_rename, calls = os.rename, []
        def rename(a, b):
            calls.append(a)
            if len(calls) == 2:
                os._exit(9)
            real_rename(a, b)
        folders.os.rename = rename
    elif mode == "after-exchange":
        def rmtree(path, *args, **kwargs):
            os._exit(9)
        folders.shutil.rmtree = rmtree
    key = PiiKey.from_bytes(bytes(range(32)))
    publish_outbox(
        con, date(2025, 7, 1), outbox, "crash-run", ["sms", "call"], on_step=hook, key=key
    )
    """
)


def crash(tmp_path: Path, con, mode: str) -> None:
    """Publish in a child process that dies (os._exit, no cleanup) at `mode`."""
    con.execute("checkpoint")
    con.close()
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "wh.duckdb"), str(tmp_path / "outbox"), mode],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 9, result.stderr


@pytest.fixture
def file_con(tmp_path):
    connection = warehouse.connect(tmp_path / "wh.duckdb")
    fill(connection)
    return connection


@pytest.mark.parametrize("step", ["wrote:sms.csv", "before_manifest", "before_swap"])
def test_hard_crash_before_the_swap_keeps_old_set_and_leftovers_are_recovered(
    tmp_path, file_con, step
):
    outbox = tmp_path / "outbox"
    publish(file_con, outbox, "run-old")
    old = snapshot_of(outbox / DAY)
    fill(file_con, priority_of_a2=0)

    crash(tmp_path, file_con, f"step:{step}")

    assert (outbox / f".{DAY}.tmp-crash-run").is_dir()
    assert snapshot_of(outbox / DAY) == old
    with warehouse.opened(tmp_path / "wh.duckdb") as con:
        manifest = publish(con, outbox, "run-new")
    assert verify_outbox(outbox / DAY) == manifest
    assert sorted(p.name for p in outbox.iterdir()) == [LOCK, DAY]


def test_crash_between_the_two_renames_restores_the_old_set(tmp_path, file_con):
    outbox = tmp_path / "outbox"
    publish(file_con, outbox, "run-old")
    old = snapshot_of(outbox / DAY)
    fill(file_con, priority_of_a2=0)

    crash(tmp_path, file_con, "between-renames")

    # The published name is briefly absent: a reader sees "not yet published", never a mixture.
    assert not (outbox / DAY).exists()
    assert (outbox / f".{DAY}.old-crash-run").is_dir()
    done = recover_outbox(outbox)
    assert done[0] == f"restored {DAY} from .{DAY}.old-crash-run"
    assert snapshot_of(outbox / DAY) == old
    assert sorted(p.name for p in outbox.iterdir()) == [LOCK, DAY]


def test_crash_after_the_exchange_leaves_the_new_set_and_the_old_is_cleaned(tmp_path, file_con):
    outbox = tmp_path / "outbox"
    publish(file_con, outbox, "run-old")
    if not folders._exchange(outbox / DAY, outbox / DAY):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    fill(file_con, priority_of_a2=0)

    crash(tmp_path, file_con, "after-exchange")

    assert verify_outbox(outbox / DAY).run_id == "crash-run"
    assert verify_outbox(outbox / f".{DAY}.tmp-crash-run").run_id == "run-old"
    with warehouse.opened(tmp_path / "wh.duckdb") as con:
        publish(con, outbox, "run-again")
    assert sorted(p.name for p in outbox.iterdir()) == [LOCK, DAY]
    assert verify_outbox(outbox / DAY).run_id == "run-again"


def test_recover_outbox_without_leftovers_does_nothing(tmp_path):
    assert recover_outbox(tmp_path / "missing") == []
    (tmp_path / DAY).mkdir()
    assert recover_outbox(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == [DAY]
