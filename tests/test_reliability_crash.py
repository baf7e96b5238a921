"""Crashes: a real `arrears run` process killed with SIGKILL at every step boundary and inside
the warehouse commit, the outbox swap and the PostgreSQL write; reruns must converge on exactly
what an uninterrupted run produces. Then the privacy scan over everything these runs left.

One reference run (in-process) and one chain of killed runs on a copy of the same warehouse:
each run of the chain is the rerun of the previous crash and is itself killed at a later point,
so every crash is followed by a run that passes the step where it happened.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from fixtures.reliability_support import (
    CHANNEL_ALLOWED,
    PersonalScanner,
    Runner,
    copy_warehouse,
    leftovers,
    ops_runs,
    outbox_state,
    outbox_texts,
    personal_values,
    pg_database,
    pg_drop,
    pg_reachable,
    pg_state,
    prefect_texts,
    state,
    table_texts,
)

from arrears.generate import generate_landing
from arrears.settings import Settings

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

D1 = date(2025, 6, 1)
D2 = D1 + timedelta(days=1)
ACTION2 = (D2 + timedelta(days=1)).isoformat()
KILLED = -9
# Where the landed customers file may live: raw.customers only. The run's scratch copy in
# work.customers is dropped when the run ends, whether it succeeded or was rejected.

# (failpoint, where the run is when it dies): which state a reader must see right after.
CHAIN = (
    ("flow:after-start", "before commit"),
    ("flow:after-ingest", "before commit"),
    ("flow:after-validate-landing", "before commit"),
    ("flow:after-age", "before commit"),
    ("flow:after-decide", "before commit"),
    ("flow:after-validate-actions", "before commit"),
    # Inside the commit transaction, all but the last partition replacement done.
    ("commit:after:marts.collection_actions", "before commit"),
    ("flow:after-commit", "before publish"),
    ("publish:before-swap", "before publish"),  # new set written, not visible
    ("flow:after-publish", "after publish"),
    ("publish:exchanged", "after publish"),  # second publish: swapped, old set not removed
    ("postgres:before-commit", "after publish"),  # rows written, transaction open
    ("flow:after-sink-postgres", "after sink"),
    ("flow:after-report", "after sink"),
)


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    landing = tmp_path_factory.mktemp("crash") / "landing"
    generate_landing(landing, D1, 2, loans=200, seed=7)
    return landing


@pytest.fixture(scope="module")
def scene(prefect_harness, book, tmp_path_factory):
    """The reference (D1 then D2, uninterrupted) and a copy of it as it was after D1."""
    import prefect.settings

    from flows.daily_collections import daily_collections

    root = tmp_path_factory.mktemp("scene")
    use_pg = pg_reachable()
    # Unique: test sessions may run at the same time against the same server.
    names = [f"arrears_rel_{tag}_{uuid.uuid4().hex[:12]}" for tag in ("ref", "crash")]
    dsn_ref, dsn_crash = (pg_database(n) for n in names) if use_pg else (None, None)
    ref = Settings(
        landing=book,
        warehouse=root / "ref" / "arrears.duckdb",
        outbox=root / "ref" / "outbox",
        reports=root / "ref" / "reports",
    )
    daily_collections(snapshot_date=D1, settings=ref)
    crash = root / "crash"
    copy_warehouse(ref.warehouse, crash / "arrears.duckdb")
    shutil.copytree(ref.outbox, crash / "outbox")
    before = {"state": state(ref.warehouse), "outbox": outbox_state(ref.outbox)}
    daily_collections(snapshot_date=D2, settings=Settings(**{**dict(ref), "postgres": dsn_ref}))
    reference = {
        "state": state(ref.warehouse),
        "outbox": outbox_state(ref.outbox),
        "pg": pg_state(dsn_ref) if use_pg else None,
    }
    yield {
        "book": book,
        "crash": crash,
        "ref": ref,
        "before": before,
        "reference": reference,
        "runner": Runner(prefect.settings.PREFECT_API_URL.value(), root / "logs"),
        "dsn_crash": dsn_crash,
        "use_pg": use_pg,
    }
    if use_pg:
        for name in names:
            pg_drop(name)


def run_args(copy: Path, landing: Path, dsn: str | None = None) -> tuple[list[str], dict]:
    args = [
        "run",
        *("--date", D2.isoformat(), "--landing", str(landing)),
        *("--warehouse", str(copy / "arrears.duckdb"), "--outbox", str(copy / "outbox")),
        *(["--postgres", dsn] if dsn else []),
    ]
    return args, {"ARREARS_REPORTS": str(copy / "reports")}


def test_a_rejected_run_in_a_real_process_exits_3_and_changes_nothing(scene, tmp_path):
    copy, runner = scene["crash"], scene["runner"]
    bad = tmp_path / "landing"
    shutil.copytree(scene["book"] / D2.isoformat(), bad / D2.isoformat())
    customers = bad / D2.isoformat() / "customers.csv"
    lines = customers.read_text(encoding="utf-8").splitlines()
    fields = lines[5].split(",")
    fields[1] = ""  # full_name, required
    lines[5] = ",".join(fields)
    customers.write_text("\n".join(lines) + "\n", encoding="utf-8")

    done = runner.run(*run_args(copy, bad))

    assert done.exitcode == 3, done.output[-3000:]
    assert "customers.csv" in done.output and "full_name: missing value" in done.output
    assert state(copy / "arrears.duckdb") == scene["before"]["state"]
    assert outbox_state(copy / "outbox") == scene["before"]["outbox"]
    assert ops_runs(copy / "arrears.duckdb")[-1][:2] == (D2, "REJECTED")


def crash_chain(scene, copy: Path, chain, dsn: str | None) -> None:
    """Kill a run at each point in turn, checking what a reader sees; then a clean rerun."""
    runner, before, reference = scene["runner"], scene["before"], scene["reference"]
    db, outbox = copy / "arrears.duckdb", copy / "outbox"
    args, env = run_args(copy, scene["book"], dsn)
    for point, phase in chain:
        done = runner.run(args, {**env, "ARREARS_FAILPOINT": point})

        assert done.exitcode == KILLED, f"{point} never fired:\n{done.output[-3000:]}"
        expected_state = reference["state"] if phase != "before commit" else before["state"]
        assert state(db) == expected_state, f"killed at {point}: raw/marts not all-or-nothing"
        published = phase in ("after publish", "after sink")
        expected_outbox = reference["outbox"] if published else before["outbox"]
        assert outbox_state(outbox) == expected_outbox, f"killed at {point}: outbox half-published"
        if dsn:
            sunk = pg_state(dsn)
            if phase == "after sink":
                assert sunk == reference["pg"], f"killed at {point}"
            else:
                assert not sunk["collection_actions"], f"killed at {point}: uncommitted rows seen"
        if point == "publish:exchanged":
            # The old set was swapped out but not yet removed: a private leftover.
            assert any(name.startswith(f".{ACTION2}.tmp-") for name in leftovers(outbox))

    done = runner.run(args, env)

    assert done.exitcode == 0, done.output[-3000:]
    assert state(db) == reference["state"]
    assert outbox_state(outbox) == reference["outbox"]
    assert leftovers(outbox) == []
    if dsn:
        assert pg_state(dsn) == reference["pg"]
    statuses = [status for day, status, _ in ops_runs(db) if day == D2]
    # Each killed run ends in the state of what it had published (settled by the next run).
    expected = [killed_status(phase, sink=dsn is not None) for _, phase in chain]
    assert statuses[-len(chain) - 1 :] == [*expected, "SUCCEEDED"]
    assert "RUNNING" not in statuses
    assert (copy / "reports" / D2.isoformat() / "report.html").is_file()


def killed_status(phase: str, *, sink: bool) -> str:
    if phase in ("before commit", "before publish"):
        return "ABANDONED"
    if phase == "after publish" and sink:
        return "PUBLISHED_SINK_FAILED"
    return "PUBLISHED_UNFINISHED"


def test_killed_at_every_step_then_rerun_equals_an_uninterrupted_run(scene):
    chain = tuple(c for c in CHAIN if scene["use_pg"] or "postgres" not in c[0])
    crash_chain(scene, scene["crash"], chain, scene["dsn_crash"])


def test_no_personal_data_outside_raw_customers_and_the_channels_that_need_it(scene):
    """Runs after the rejected, killed and finished runs above: scans all they left. Every
    table, raw.customers included (its personal columns are sealed), and the personal-data key
    itself, which must appear nowhere but in its own file."""
    values = personal_values(scene["book"])
    keys = {
        (folder / "pii.key").read_text(encoding="utf-8").strip()
        for folder in (scene["ref"].warehouse.parent, scene["crash"])
        if (folder / "pii.key").is_file()
    }
    assert keys, "no personal-data key file was created"
    scanner = PersonalScanner({**values, "pii_key": keys})
    leaks: list[str] = []
    scanned = 0
    for folder in (scene["ref"].warehouse.parent, scene["crash"]):
        for table, text in table_texts(folder / "arrears.duckdb"):
            scanned += 1
            if hits := scanner.find(text):
                leaks.append(f"{folder.name} {table}: {hits}")
        for channel, name, text in outbox_texts(folder / "outbox"):
            scanned += 1
            if hits := scanner.find(text, allowed=CHANNEL_ALLOWED[channel]):
                leaks.append(f"{name}: {hits}")
        for path in (folder / "reports").rglob("*"):
            if path.is_file() and path.suffix in (".html", ".json", ".md", ".svg"):
                scanned += 1
                if hits := scanner.find(path.read_text(encoding="utf-8", errors="replace")):
                    leaks.append(f"{path}: {hits}")
    for i, output in enumerate(scene["runner"].outputs):
        scanned += 1
        if hits := scanner.find(output):
            leaks.append(f"output of forked run {i}: {hits}")
    for source, text in prefect_texts():
        scanned += 1
        if hits := scanner.find(text):
            leaks.append(f"prefect {source}: {hits}")

    assert not leaks, "\n".join(leaks)
    assert len(scene["runner"].outputs) >= 2 and scanned > 50
    # The scan can see what it looks for: the allowed outbox files do carry the values.
    published = [text for _, _, text in outbox_texts(scene["crash"] / "outbox")]
    assert any(scanner.find(text) for text in published)
