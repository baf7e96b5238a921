"""`arrears cancel --date A` end to end (the cancel_actions flow): a good call publishes, and a
payments file with a bad row exits 3 naming the file, the rule, the count and the first rows,
with the cancel files and marts.cancelled_actions of the earlier call left as they were."""

from __future__ import annotations

from pathlib import Path

import pytest
from cancel_support import ACTION, at, commit_night, land
from fixtures.reliability_support import capture_stderr

from arrears import warehouse
from arrears.cli import main
from arrears.publish import cancel_folder, verify_outbox

GOOD = [f"P1,L3,{at('09:00')},499.00"]


def cli(where: dict[str, Path], landing: Path) -> int:
    return main(
        [
            "cancel",
            "--date",
            ACTION.isoformat(),
            "--landing",
            str(landing),
            "--warehouse",
            str(where["warehouse"]),
            "--outbox",
            str(where["outbox"]),
        ]
    )


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def mart(path: Path) -> list[tuple]:
    with warehouse.opened(path, read_only=True) as con:
        return con.execute("select * from marts.cancelled_actions order by all").fetchall()


@pytest.fixture(scope="module")
def published(prefect_harness, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cancel-cli")
    where = {"warehouse": root / "arrears.duckdb", "outbox": root / "outbox"}
    with warehouse.opened(where["warehouse"]) as con:
        commit_night(con)
    land(root / "landing", "payments-12.csv", GOOD)
    assert cli(where, root / "landing") == 0
    return where


def test_a_call_publishes_the_cancel_set_and_the_mart(published, monkeypatch):
    folder = cancel_folder(published["outbox"], ACTION)
    manifest = verify_outbox(folder)
    assert {f.name: f.rows for f in manifest.files}["sms.parquet"] == 1
    assert [row[0] for row in mart(published["warehouse"])] == ["A-reminder"]
    # the run leaves no scratch behind
    with warehouse.opened(published["warehouse"], read_only=True) as con:
        scratch = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'work'"
        ).fetchall()[0][0]
    assert scratch == 0


def test_the_run_leaves_an_artifact_with_counts_and_no_personal_data(published):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["cancellations"]))
        )
    assert artifacts
    text = artifacts[-1].data
    assert "| sms | PAID | 1 | 499.00 |" in text
    assert "| sms.parquet | 1 |" in text
    # ids and amounts: the customer is not named in it
    assert "C2" not in text and "phone" not in text


CASES = [
    (
        "unknown loan",
        [f"P2,L404,{at('10:00')},10.00"],
        "column loan_id: not a loan of the snapshot 2025-06-30 (1 row)",
        "payment_id P2: 'L404'",
    ),
    (
        "zero amount",
        [f"P2,L1,{at('10:00')},0.00", f"P3,L1,{at('10:00')},0"],
        "column amount: not a positive amount (2 rows)",
        "payment_id P2:",
    ),
    (
        "negative amount",
        [f"P2,L1,{at('10:00')},-5.00"],
        "column amount: not a positive amount (1 row)",
        "payment_id P2:",
    ),
    (
        "three decimals",
        [f"P2,L1,{at('10:00')},12.345"],
        "column amount: not an amount with at most 2 decimals (1 row)",
        "key P2: '12.345'",
    ),
    (
        "paid_at without offset",
        ["P2,L1,2025-07-01T10:00:00,10.00"],
        "column paid_at: not an ISO 8601 timestamp with offset (1 row)",
        "key P2: '2025-07-01T10:00:00'",
    ),
    (
        "paid_at the evening before",
        ["P2,L1,2025-06-30T23:59:00+08:00,10.00", "P3,L1,2025-07-01T20:00:00+00:00,10.00"],
        "column paid_at: outside 2025-07-01 in Asia/Shanghai (2 rows)",
        "payment_id P3: '2025-07-02T04:00:00 Asia/Shanghai'",
    ),
    (
        "duplicate in the file",
        [f"P2,L1,{at('10:00')},10.00", f"P2,L1,{at('11:00')},10.00"],
        "duplicate key (payment_id) (2 rows)",
        "key P2: 2 rows",
    ),
    (
        "duplicate across files",
        [f"P1,L3,{at('09:00')},499.00", f"P2,L1,{at('10:00')},10.00"],
        "duplicate payment_id across the day's files (1 row)",
        "payment_id P1: already in",
    ),
]


@pytest.mark.parametrize(("kind", "rows", "rule", "example"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_payments_row_exits_3_and_changes_nothing(
    published, tmp_path, monkeypatch, kind, rows, rule, example
):
    landing = tmp_path / "landing"
    land(landing, "payments-12.csv", GOOD)
    bad = land(landing, "payments-16.csv", rows)
    folder = cancel_folder(published["outbox"], ACTION)
    before = files(folder), mart(published["warehouse"])
    captured = capture_stderr(monkeypatch)

    code = cli(published, landing)

    stderr = captured.getvalue()
    assert code == 3, stderr
    assert f"{bad}: {rule}" in stderr
    assert example in stderr
    assert (files(folder), mart(published["warehouse"])) == before
    verify_outbox(folder)


def test_a_day_without_its_night_exits_1(published, tmp_path, monkeypatch):
    captured = capture_stderr(monkeypatch)
    code = main(
        [
            "cancel",
            "--date",
            "2025-07-09",
            "--landing",
            str(tmp_path),
            "--warehouse",
            str(published["warehouse"]),
            "--outbox",
            str(published["outbox"]),
        ]
    )
    assert code == 1
    assert "the night of snapshot 2025-07-08 is not committed" in captured.getvalue()
    assert not (published["outbox"] / "2025-07-09").exists()


def test_files_being_written_are_not_read(published, tmp_path):
    landing = tmp_path / "landing"
    land(landing, "payments-12.csv", GOOD)
    # a lender's system writes under a temporary name, then renames
    land(landing, ".payments-16.csv.part", ["P9,L404,broken"])
    land(landing, "_payments-20.csv", ["P9,L404,broken"])
    assert cli(published, landing) == 0
