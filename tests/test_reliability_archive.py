"""Crashes while archiving: `arrears housekeeping` killed with SIGKILL at every checkpoint of the
archive and of the retention transaction, and a night killed inside its housekeeping.

After every kill each snapshot is in exactly one place as one truth: in raw.* (with at most a
file of the same rows beside it in the archive) or in the archive alone, never in neither; a
published outbox set is whole or gone. The rerun ends exactly where an uninterrupted run does:
raw.*, marts.*, the archive byte for byte, the outbox, and ops.housekeeping (each move once).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from fixtures.reliability_support import Runner, leftovers, outbox_state, state
from retention_support import (
    archived_rows,
    copy_scene,
    digests,
    housekeeping_rows,
    raw_dates,
    run_night,
    snapshots,
)

from arrears import housekeeping, warehouse
from arrears.contract import DATASETS
from arrears.generate import generate_landing
from arrears.settings import Settings

pytestmark = pytest.mark.reliability

START = date(2025, 6, 1)
NIGHTS = [START + timedelta(days=k) for k in range(5)]
KEEP = 2
KILLED = -9
RETENTION_ENV = {"ARREARS_RAW_KEEP_DAYS": str(KEEP), "ARREARS_OUTBOX_KEEP_DAYS": "1"}

# Every checkpoint of housekeeping, in the order a run passes them.
POINTS = (
    "archive:tmp-written",  # the first file written as data.parquet.tmp and flushed
    "archive:renamed",  # the first file under its final name, its rows still in raw.*
    "housekeeping:outbox-hidden",  # the first expired outbox folder hidden, not recorded
    "housekeeping:before-commit",  # every file, delete and record done; not committed
    "housekeeping:after-commit",  # committed; the hidden outbox folders not yet removed
)


@pytest.fixture(scope="module")
def unkept(tmp_path_factory) -> Settings:
    """Five nights run without retention (raw.* keeps 10): housekeeping has all to catch up on."""
    root = tmp_path_factory.mktemp("unkept")
    landing = root / "landing"
    generate_landing(landing, START, len(NIGHTS) + 1, loans=150, seed=5, skip_optional_every=2)
    settings = Settings(
        landing=landing,
        warehouse=root / "arrears.duckdb",
        outbox=root / "outbox",
        archive=root / "archive",
        reports=root / "reports",
        raw_keep_days=10,
    )
    for day in NIGHTS:
        run_night(settings, day)
    return settings


def retained(scene: Settings, root: Path) -> Settings:
    return copy_scene(scene, root, raw_keep_days=KEEP, outbox_keep_days=1)


@pytest.fixture(scope="module")
def reference(unkept, tmp_path_factory) -> dict:
    """`arrears housekeeping` uninterrupted, on a copy."""
    ref = retained(unkept, tmp_path_factory.mktemp("reference"))
    with warehouse.opened(ref.warehouse) as con:
        housekeeping.run(con, NIGHTS[-1], housekeeping.Retention.from_settings(ref), "reference")
    return {
        "raw": snapshots(ref.warehouse),
        "archive": digests(ref.archive),
        "outbox": outbox_state(ref.outbox),
        "records": housekeeping_rows(ref.warehouse),
    }


def housekeeping_process(scene: Settings, failpoint: str | None = None):
    """`arrears housekeeping` in a process of its own (no Prefect: it starts in about 1 s)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARREARS_")}
    env.update(RETENTION_ENV)
    if failpoint:
        env["ARREARS_FAILPOINT"] = failpoint
    command = [sys.executable, "-m", "arrears.cli", "housekeeping"]
    command += ["--warehouse", str(scene.warehouse), "--archive", str(scene.archive)]
    command += ["--outbox", str(scene.outbox)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def assert_one_truth(scene: Settings, before: dict) -> None:
    """Every snapshot of `before` (raw.* rows by dataset and date) is in raw.* as it was, or in
    the archive alone with the same rows; a file beside rows still in raw.* holds those rows."""
    now, files = snapshots(scene.warehouse), archived_rows(scene.archive)
    in_raw = set(raw_dates(scene.warehouse))
    nights = sorted({day for name, day in before if name == "loans"})
    for day in nights:
        for name in DATASETS:
            rows, key = before.get((name, day), []), (name, day)
            if day in in_raw:
                assert now.get(key, []) == rows, f"{key}: raw.* changed"
                assert files.get(key, rows) == rows, f"{key}: a second, different truth"
            elif name == "customers":
                assert key not in now and key not in files, f"{key}: customers kept or archived"
            else:
                assert key not in now, f"{key}: half deleted"
                assert files.get(key) == rows, f"{key}: lost"
    assert set(now) <= set(before)


def assert_whole_sets(now: dict, before: dict) -> None:
    """Each outbox date a reader sees is the whole set it was, or gone."""
    dates = {key.split("/", 1)[0] for key in before}
    for day in dates:
        files = {k: v for k, v in before.items() if k.startswith(f"{day}/")}
        seen = {k: v for k, v in now.items() if k.startswith(f"{day}/")}
        assert seen in ({}, files), f"outbox/{day} half deleted"
    assert set(now) <= set(before)


@pytest.mark.parametrize("point", POINTS)
def test_a_kill_at_each_archiving_checkpoint_leaves_one_truth_and_a_rerun_finishes(
    unkept, reference, point, tmp_path
):
    scene = retained(unkept, tmp_path / "scene")
    before, outbox = snapshots(scene.warehouse), outbox_state(scene.outbox)

    killed = housekeeping_process(scene, point)

    assert killed.returncode == KILLED, f"{point} never fired:\n{killed.stdout}{killed.stderr}"
    assert_one_truth(scene, before)
    assert_whole_sets(outbox_state(scene.outbox), outbox)
    if point == "archive:tmp-written":
        assert any(name.endswith("data.parquet.tmp") for name in digests(scene.archive))

    done = housekeeping_process(scene)

    assert done.returncode == 0, done.stdout + done.stderr
    assert snapshots(scene.warehouse) == reference["raw"]
    assert digests(scene.archive) == reference["archive"]  # no .tmp left, same bytes
    assert outbox_state(scene.outbox) == reference["outbox"]
    assert leftovers(scene.outbox) == []
    assert housekeeping_rows(scene.warehouse) == reference["records"]


@pytest.mark.integration
def test_a_night_killed_while_archiving_reruns_to_the_uninterrupted_result(
    prefect_harness, unkept, tmp_path
):
    import prefect.settings

    from flows.daily_collections import daily_collections

    night = NIGHTS[-1] + timedelta(days=1)
    ref = retained(unkept, tmp_path / "ref")
    daily_collections(snapshot_date=night, settings=ref)
    crash = retained(unkept, tmp_path / "crash")
    runner = Runner(prefect.settings.PREFECT_API_URL.value(), tmp_path / "logs")
    args = ["run", "--date", night.isoformat(), "--landing", str(crash.landing)]
    args += ["--warehouse", str(crash.warehouse), "--outbox", str(crash.outbox)]
    args += ["--archive", str(crash.archive)]
    env = {**RETENTION_ENV, "ARREARS_REPORTS": str(crash.reports)}

    # Committed, then killed with the first archive file in place: all six nights in raw.*.
    done = runner.run(args, {**env, "ARREARS_FAILPOINT": "archive:renamed"})
    assert done.exitcode == KILLED, done.output[-3000:]
    assert raw_dates(crash.warehouse) == [*NIGHTS, night]
    assert len(digests(crash.archive)) == 1
    # Killed again after the retention commit: raw.* as the uninterrupted night left it.
    done = runner.run(args, {**env, "ARREARS_FAILPOINT": "housekeeping:after-commit"})
    assert done.exitcode == KILLED, done.output[-3000:]
    assert snapshots(crash.warehouse) == snapshots(ref.warehouse)

    done = runner.run(args, env)

    assert done.exitcode == 0, done.output[-3000:]
    assert state(crash.warehouse) == state(ref.warehouse)
    assert digests(crash.archive) == digests(ref.archive)
    assert outbox_state(crash.outbox) == outbox_state(ref.outbox)
    assert leftovers(crash.outbox) == []
    assert housekeeping_rows(crash.warehouse) == housekeeping_rows(ref.warehouse)


def night_rows(db: Path, day: date) -> dict[str, list[tuple]]:
    """The rows every mart holds for the night of `day` (actions: for day + 1)."""
    found = {}
    with warehouse.opened(db, read_only=True) as con:
        for (table,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "order by 1"
        ).fetchall():
            columns = {c for (c, *_) in con.execute(f"describe marts.{table}").fetchall()}
            column, value = (
                ("action_date", day + timedelta(days=1))
                if "action_date" in columns
                else ("snapshot_date", day)
            )
            rows = con.execute(f"select * from marts.{table} where {column} = $v", {"v": value})
            found[table] = sorted(rows.fetchall(), key=repr)
    return found


@pytest.mark.integration
def test_arrears_run_of_an_archived_date_whose_landing_is_gone_reads_the_archive(
    prefect_harness, unkept, tmp_path, monkeypatch
):
    import json
    import shutil

    from arrears import archive
    from arrears.cli import main

    scene = retained(unkept, tmp_path / "scene")
    assert housekeeping_process(scene).returncode == 0
    archived = digests(scene.archive)
    day = NIGHTS[1]
    landing = tmp_path / "landing"
    shutil.copytree(scene.landing, landing)
    shutil.rmtree(landing / day.isoformat())
    monkeypatch.setenv("ARREARS_RAW_KEEP_DAYS", str(KEEP))
    options = ["--warehouse", str(scene.warehouse)]

    # The state of the night before is gone (only the last nights' versions are kept).
    assert main(["rebuild-state", "--through", str(NIGHTS[0]), *options]) == 0
    options += ["--landing", str(landing), "--outbox", str(scene.outbox)]
    assert main(["run", "--date", str(day), *options, "--archive", str(scene.archive)]) == 0

    assert night_rows(scene.warehouse, day) == night_rows(unkept.warehouse, day)
    with warehouse.opened(scene.warehouse, read_only=True) as con:
        inputs = con.execute(
            "select inputs_json from ops.runs where snapshot_date = $d", {"d": day}
        ).fetchall()[-1][0]
    files = {name: landed["file"] for name, landed in json.loads(inputs).items()}
    assert files["loans"] == str(archive.snapshot_path(scene.archive, "loans", day))
    assert files["customers"].startswith("raw.customers (customers are never archived")
    # The night archived its snapshot again, byte for byte, and left raw.* as it was.
    assert raw_dates(scene.warehouse) == NIGHTS[-KEEP:]
    assert digests(scene.archive) == archived
