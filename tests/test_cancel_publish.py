"""The cancel set <outbox>/<A>/cancel/: same payments same bytes, cumulative over the day's calls,
atomic under a kill, and left alone by the night's publish of the date."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from cancel_support import ACTION, at, cancel_and_publish, commit_night, land
from fixtures.pii_support import TEST_KEY

from arrears import warehouse
from arrears.pii.sealing import seal_table
from arrears.publish import cancel_folder, publish_outbox, verify_outbox
from arrears.publish.cancel import CANCEL_COLUMNS

REPO = Path(__file__).resolve().parent.parent
CHANNELS = ["sms", "call", "email", "letter", "visit", "legal"]


@pytest.fixture
def con(tmp_path):
    connection = warehouse.connect(tmp_path / "wh.duckdb")
    commit_night(connection)
    yield connection
    connection.close()


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def ids(outbox: Path, channel: str) -> list[str]:
    path = cancel_folder(outbox, ACTION) / f"{channel}.parquet"
    return [r[0] for r in duckdb.sql(f"select action_id from '{path}'").fetchall()]


def test_a_cancel_set_has_every_channel_and_a_manifest_listing_them(con, tmp_path):
    land(tmp_path / "landing", "p.csv", [f"P1,L2,{at('09:00')},299.00"])
    manifest = cancel_and_publish(con, tmp_path / "landing", tmp_path / "outbox", "run-1")
    folder = cancel_folder(tmp_path / "outbox", ACTION)
    assert verify_outbox(folder) == manifest
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{c}.parquet" for c in CHANNELS] + ["_manifest.json"]
    )
    assert {f.name: f.rows for f in manifest.files} == {
        "sms.parquet": 1,
        "call.parquet": 1,
        "email.parquet": 0,
        "letter.parquet": 0,
        "visit.parquet": 0,
        "legal.parquet": 0,
    }
    assert manifest.variant_counts == {"champion": 2}
    call = duckdb.sql(f"select * from '{folder / 'call.parquet'}'")
    assert tuple(call.columns) == CANCEL_COLUMNS
    assert call.fetchall()[0][:5] == ("A-call-two", ACTION, "C1", "CALL", "PAID")


def test_the_same_payments_give_the_same_bytes(con, tmp_path):
    landing = tmp_path / "landing"
    land(landing, "a.csv", [f"P1,L2,{at('09:00')},299.00", f"P2,L4,{at('10:00')},120.00"])
    first = cancel_and_publish(con, landing, tmp_path / "outbox", "run-1")
    before = files(cancel_folder(tmp_path / "outbox", ACTION))
    second = cancel_and_publish(con, landing, tmp_path / "outbox", "run-2")
    after = files(cancel_folder(tmp_path / "outbox", ACTION))
    assert {k: v for k, v in after.items() if k != "_manifest.json"} == {
        k: v for k, v in before.items() if k != "_manifest.json"
    }
    assert first.content_sha256 == second.content_sha256
    assert (first.run_id, second.run_id) == ("run-1", "run-2")


def test_three_calls_publish_a_growing_cumulative_list(con, tmp_path):
    landing, outbox = tmp_path / "landing", tmp_path / "outbox"
    land(landing, "payments-12.csv", [f"P1,L3,{at('09:00')},250.00"])
    cancel_and_publish(con, landing, outbox, "run-1")
    assert ids(outbox, "sms") == []

    land(landing, "payments-16.csv", [f"P2,L3,{at('14:00')},249.00"])
    cancel_and_publish(con, landing, outbox, "run-2")
    assert ids(outbox, "sms") == ["A-reminder"]
    assert ids(outbox, "call") == []

    land(
        landing,
        "payments-20.csv",
        [f"P3,L1,{at('17:00')},299.00", f"P4,L4,{at('18:30')},109.40"],
    )
    manifest = cancel_and_publish(con, landing, outbox, "run-3")
    assert ids(outbox, "sms") == ["A-pre-due", "A-reminder", "A-sms-two"]
    assert ids(outbox, "call") == ["A-call-two"]
    assert sum(f.rows for f in manifest.files) == 4
    # the first cancellation kept what completed it in the second call
    reminder = duckdb.sql(
        f"select payment_ids from '{cancel_folder(outbox, ACTION) / 'sms.parquet'}' "
        "where action_id = 'A-reminder'"
    ).fetchall()
    assert reminder == [(["P1", "P2"],)]


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from cancel_support import cancel_and_publish
    from arrears import warehouse

    con = warehouse.connect(sys.argv[1])
    cancel_and_publish(con, Path(sys.argv[2]), Path(sys.argv[3]), "killed-run")
    """
)


def test_a_kill_while_publishing_leaves_the_old_complete_set_visible(con, tmp_path):
    landing, outbox = tmp_path / "landing", tmp_path / "outbox"
    land(landing, "a.csv", [f"P1,L3,{at('09:00')},499.00"])
    old_manifest = cancel_and_publish(con, landing, outbox, "run-old")
    old = files(cancel_folder(outbox, ACTION))
    land(landing, "b.csv", [f"P2,L2,{at('10:00')},299.00"])
    con.close()

    script = tmp_path / "kill.py"
    script.write_text(KILL_SCRIPT, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "wh.duckdb"), str(landing), str(outbox)],
        cwd=REPO,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")]),
            "ARREARS_FAILPOINT": "cancel:before-swap",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == -9, result.stderr

    day = outbox / ACTION.isoformat()
    assert (day / ".cancel.tmp-killed-run" / "_manifest.json").is_file()
    assert files(cancel_folder(outbox, ACTION)) == old
    assert verify_outbox(cancel_folder(outbox, ACTION)) == old_manifest
    # the next call cleans the leftover up and publishes the new set
    with warehouse.opened(tmp_path / "wh.duckdb") as again:
        cancel_and_publish(again, landing, outbox, "run-new")
    assert sorted(p.name for p in day.iterdir()) == ["cancel"]
    assert verify_outbox(cancel_folder(outbox, ACTION)).run_id == "run-new"
    assert ids(outbox, "sms") == ["A-reminder", "A-sms-two"]


def test_the_nights_publish_of_the_date_keeps_the_cancel_set(con, tmp_path):
    landing, outbox = tmp_path / "landing", tmp_path / "outbox"
    con.execute(
        "insert into raw.customers (snapshot_date, customer_id, full_name) values "
        "('2025-06-30', 'C1', 'x')"
    )
    seal_table(con, "raw.customers", TEST_KEY)
    publish_outbox(con, ACTION, outbox, "night-1", [], key=TEST_KEY)
    land(landing, "a.csv", [f"P1,L2,{at('09:00')},299.00"])
    cancel_and_publish(con, landing, outbox, "cancel-1")
    cancelled = files(cancel_folder(outbox, ACTION))

    # a rerun of the night republishes the whole date folder
    night = publish_outbox(con, ACTION, outbox, "night-2", [], key=TEST_KEY)
    assert verify_outbox(outbox / ACTION.isoformat()) == night
    assert files(cancel_folder(outbox, ACTION)) == cancelled
    verify_outbox(cancel_folder(outbox, ACTION))
    assert [f.name for f in night.files] == [f"{c}.parquet" for c in CHANNELS]


def test_cancellations_published_before_the_nights_set_survive_its_first_publish(con, tmp_path):
    landing, outbox = tmp_path / "landing", tmp_path / "outbox"
    land(landing, "a.csv", [f"P1,L3,{at('09:00')},499.00"])
    cancel_and_publish(con, landing, outbox, "cancel-1")
    cancelled = files(cancel_folder(outbox, ACTION))
    publish_outbox(con, ACTION, outbox, "night-1", [])
    assert files(cancel_folder(outbox, ACTION)) == cancelled
    assert (outbox / ACTION.isoformat() / "_manifest.json").is_file()
