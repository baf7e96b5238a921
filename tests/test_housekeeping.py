"""Retention (docs/CONTRACT.md section 8): raw.* keeps the last ARREARS_RAW_KEEP_DAYS snapshots
and archives the older ones, raw.customers copies are deleted, customers off the book for
longer than ARREARS_PERSONAL_DATA_DAYS erased, old outbox folders deleted, every one recorded
in ops.housekeeping; a replay of an archived date reads the archive.

Five generated nights (150 loans, no arrangements or holds file every second day) run once per
module with raw.* keeping 2 snapshots and the outbox 1 day; each test works on a copy.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from fixtures.reliability_support import PersonalScanner, personal_values, table_texts
from retention_support import (
    archived_rows,
    copy_scene,
    digests,
    housekeeping_rows,
    raw_dates,
    run_night,
    snapshots,
    tables,
)

from arrears import archive, housekeeping, state, warehouse
from arrears.cli import main
from arrears.contract import DATASETS
from arrears.generate import generate_landing
from arrears.settings import Settings, load_settings

START = date(2025, 6, 1)
NIGHTS = [START + timedelta(days=k) for k in range(5)]
KEEP = 2


def outbox_dates(outbox: Path) -> list[str]:
    return sorted(p.name for p in outbox.iterdir() if p.is_dir() and not p.name.startswith("."))


def private_folders(outbox: Path) -> list[str]:
    return sorted(p.name for p in outbox.iterdir() if p.is_dir() and p.name.startswith("."))


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    landing = tmp_path_factory.mktemp("book") / "landing"
    generate_landing(landing, START, len(NIGHTS), loans=150, seed=3, skip_optional_every=2)
    return landing


@pytest.fixture(scope="module")
def nights(landing, tmp_path_factory):
    """The five nights, and what raw.*, the archive and the outbox held after each."""
    root = tmp_path_factory.mktemp("nights")
    settings = Settings(
        landing=landing,
        warehouse=root / "arrears.duckdb",
        outbox=root / "outbox",
        archive=root / "archive",
        reports=root / "reports",
        raw_keep_days=KEEP,
        outbox_keep_days=1,
    )
    after = []
    for day in NIGHTS:
        _, _, report = run_night(settings, day)
        after.append(
            {
                "raw": snapshots(settings.warehouse),
                "dates": raw_dates(settings.warehouse),
                "report": report,
                "archive": digests(settings.archive),
                "outbox": outbox_dates(settings.outbox),
            }
        )
    return settings, after


@pytest.fixture
def scene(nights, tmp_path) -> Settings:
    return copy_scene(nights[0], tmp_path / "copy")


# --- raw snapshots and the archive --------------------------------------------------------------


def test_raw_keeps_exactly_the_last_n_snapshots_and_archives_the_one_after(nights):
    settings, after = nights

    # N nights: everything kept, nothing archived.
    assert [a["dates"] for a in after[:KEEP]] == [NIGHTS[:1], NIGHTS[:2]]
    assert [a["report"].entries for a in after[:KEEP]] == [[], []]
    assert after[KEEP - 1]["archive"] == {}
    # Night N + 1: the oldest snapshot moves, exactly N stay.
    assert after[KEEP]["dates"] == NIGHTS[1 : KEEP + 1]
    moved = {
        (e.target, e.target_date)
        for e in after[KEEP]["report"].entries
        if e.target.startswith("raw.")
    }
    assert moved == {
        *((f"raw.{name}", NIGHTS[0]) for name in archive.ARCHIVED),
        ("raw.customers", NIGHTS[0]),
    }
    # Every table of raw.* keeps the same N dates.
    for name in DATASETS:
        assert {d for (t, d) in after[-1]["raw"] if t == name} <= set(NIGHTS[-KEEP:])
    assert raw_dates(settings.warehouse, "customers") == NIGHTS[-KEEP:]
    # So does the state carried from night to night, with the version the oldest kept night
    # reads when it is rerun.
    with warehouse.opened(settings.warehouse, read_only=True) as con:
        versions = con.execute("select distinct snapshot_date from marts.loan_state order by 1")
        assert [d for (d,) in versions.fetchall()] == NIGHTS[-KEEP - 1 :]


def test_each_archive_file_holds_exactly_the_rows_raw_held(nights):
    settings, after = nights
    files = archived_rows(settings.archive)

    for name in archive.ARCHIVED:
        assert archive.archived_dates(settings.archive, name) == NIGHTS[:-KEEP]
        for k, day in enumerate(NIGHTS[:-KEEP]):
            # As raw held it on the night before it moved (an empty snapshot: a file, no rows).
            assert files[(name, day)] == after[k + KEEP - 1]["raw"].get((name, day), []), name
    path = archive.snapshot_path(settings.archive, "loans", NIGHTS[0])
    assert path == settings.archive / "loans" / f"snapshot_date={NIGHTS[0]}" / "data.parquet"
    meta = duckdb.execute(
        "select distinct compression from parquet_metadata(?)", [str(path)]
    ).fetchall()
    assert meta == [("ZSTD",)]
    columns = duckdb.execute(
        "describe select * from read_parquet(?, hive_partitioning = false)", [str(path)]
    ).fetchall()
    assert [c[0] for c in columns] == DATASETS["loans"].column_names


def test_customers_are_deleted_never_archived(nights):
    settings, after = nights

    assert not (settings.archive / "customers").exists()
    deleted = [
        (e.target_date, e.rows)
        for a in after
        for e in a["report"].entries
        if (e.action, e.target) == ("deleted", "raw.customers")
    ]
    assert deleted == [
        (day, len(after[k + KEEP - 1]["raw"][("customers", day)]))
        for k, day in enumerate(NIGHTS[:-KEEP])
    ]


def test_ops_housekeeping_records_every_move_once_with_counts_and_no_values(nights, landing):
    settings, after = nights
    rows = housekeeping_rows(settings.warehouse)

    archived = [r for r in rows if r[0] == "archived"]
    assert sorted((r[1], r[2]) for r in archived) == sorted(
        (f"raw.{name}", day) for name in archive.ARCHIVED for day in NIGHTS[:-KEEP]
    )
    for _, target, day, count, customers, location in archived:
        k = NIGHTS.index(day)
        name = target.split(".", 1)[1]
        assert count == len(after[k + KEEP - 1]["raw"].get((name, day), []))
        assert location == f"{name}/snapshot_date={day}/data.parquet"
        assert customers is None
    with warehouse.opened(settings.warehouse, read_only=True) as con:
        recorded = con.execute(
            "select distinct run_id, snapshot_date from ops.housekeeping order by 2"
        ).fetchall()
    assert recorded == [(f"night-{day}", day) for day in NIGHTS[KEEP:]]
    scanner = PersonalScanner(personal_values(landing))
    texts = dict(table_texts(settings.warehouse))
    assert texts["ops.housekeeping"]
    assert scanner.find(texts["ops.housekeeping"]) == {}


# --- outbox folders -------------------------------------------------------------------------------


def test_outbox_folders_past_the_keep_days_are_deleted_and_recorded(nights):
    settings, after = nights

    # Night k publishes D_k + 1 and deletes the folders more than 1 day before it.
    assert [a["outbox"] for a in after] == [
        [str(NIGHTS[0] + timedelta(days=1))],
        *([str(day), str(day + timedelta(days=1))] for day in NIGHTS[1:]),
    ]
    assert private_folders(settings.outbox) == []
    locks = sorted(p.name for p in settings.outbox.iterdir() if p.name.endswith(".lock"))
    assert locks == [f".{day}.lock" for day in after[-1]["outbox"]]
    deleted = [r for r in housekeeping_rows(settings.warehouse) if "outbox/" in r[1]]
    assert [(r[1], r[2]) for r in deleted] == [(f"outbox/{day}", day) for day in NIGHTS[1:-1]]
    assert all(r[3] > 0 for r in deleted)


def publish_fake(outbox: Path, day: date, rows: int) -> None:
    folder = outbox / day.isoformat()
    folder.mkdir(parents=True)
    manifest = {"files": [{"format": "parquet", "rows": rows}, {"format": "csv", "rows": rows}]}
    (folder / "_manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_outbox_retention_at_the_boundary_never_the_current_set_or_later(tmp_path):
    outbox = tmp_path / "outbox"
    night = date(2025, 12, 31)
    action = night + timedelta(days=1)
    for age in (91, 90, 1, 0, -3):
        publish_fake(outbox, action - timedelta(days=age), rows=age)
    (outbox / "bureau" / "2025-01").mkdir(parents=True)
    (outbox / ".2025-09-01.tmp-run-7").mkdir()  # a publish's leftover: its recovery's business
    # hidden by a housekeeping killed before its deletion was recorded
    publish_fake(outbox, date(2025, 8, 1), rows=5)
    (outbox / "2025-08-01").rename(outbox / ".2025-08-01.tmp-housekeeping-killed")
    retention = housekeeping.Retention(archive=tmp_path / "archive", outbox=outbox)

    with warehouse.opened(tmp_path / "arrears.duckdb") as con:
        report = housekeeping.run(con, night, retention, "night")
        again = housekeeping.run(con, night, retention, "again")

    kept = [str(action - timedelta(days=age)) for age in (90, 1, 0, -3)]
    assert outbox_dates(outbox) == sorted(["bureau", *kept])
    assert private_folders(outbox) == [".2025-09-01.tmp-run-7"]
    assert [(e.target, e.rows) for e in report.entries] == [
        ("outbox/2025-08-01", 5),
        (f"outbox/{action - timedelta(days=91)}", 91),
    ]
    assert again.entries == []
    assert not (tmp_path / "archive").exists()


# --- personal data --------------------------------------------------------------------------------


def set_last_on_book(db: Path, customer: str, day: date | None, version: date) -> None:
    with warehouse.opened(db) as con:
        if day is None:
            con.execute(
                "delete from marts.customer_state where customer_id = $c and snapshot_date = $v",
                {"c": customer, "v": version},
            )
        else:
            con.execute(
                "update marts.customer_state set last_on_book_date = $d "
                "where customer_id = $c and snapshot_date = $v",
                {"d": day, "c": customer, "v": version},
            )


def customer_rows(db: Path) -> dict[str, int]:
    with warehouse.opened(db, read_only=True) as con:
        rows = con.execute("select customer_id, count(*) from raw.customers group by 1")
        return dict(rows.fetchall())


def test_erasure_at_the_day_boundary(scene):
    latest = NIGHTS[-1]
    before = customer_rows(scene.warehouse)
    kept, gone = sorted(before)[:2]
    set_last_on_book(scene.warehouse, kept, latest - timedelta(days=1825), latest)
    set_last_on_book(scene.warehouse, gone, latest - timedelta(days=1826), latest)

    with warehouse.opened(scene.warehouse) as con:
        report = housekeeping.run(con, latest, housekeeping.Retention.from_settings(scene), "erase")
        again = housekeeping.run(con, latest, housekeeping.Retention.from_settings(scene), "again")

    assert scene.personal_data_days == 1825
    after = customer_rows(scene.warehouse)
    assert gone not in after
    assert after == {c: n for c, n in before.items() if c != gone}
    erased = [e for e in report.entries if e.action == "erased"]
    assert [(e.target, e.customers, e.rows, e.target_date) for e in erased] == [
        ("raw.customers", 1, before[gone], latest - timedelta(days=1826))
    ]
    assert again.entries == []


def fingerprint_rows(db: Path) -> dict[str, int]:
    with warehouse.opened(db, read_only=True) as con:
        rows = con.execute("select customer_id, count(*) from raw.contact_fingerprints group by 1")
        return dict(rows.fetchall())


def test_erasure_takes_the_fingerprints_of_the_bad_contact_data_along(scene):
    latest = NIGHTS[-1]
    kept, gone = sorted(customer_rows(scene.warehouse))[:2]
    # A customer erased from raw.customers earlier whose fingerprints stayed behind.
    orphan = "C-ERASED-BEFORE"
    with warehouse.opened(scene.warehouse) as con:
        con.execute("delete from raw.contact_fingerprints")
        reported = ((kept, "PHONE"), (gone, "PHONE"), (gone, "ADDRESS"), (orphan, "PHONE"))
        for customer, contact in reported:
            con.execute(
                "insert into raw.contact_fingerprints values ($d, $c, $contact, "
                "sha256($c || $contact), 'E-' || $c || $contact, 'CALL', 'WRONG_PARTY', "
                "timestamptz '2025-06-01 10:00:00+08')",
                {"d": NIGHTS[1], "c": customer, "contact": contact},
            )
    set_last_on_book(scene.warehouse, kept, latest - timedelta(days=1825), latest)
    set_last_on_book(scene.warehouse, gone, latest - timedelta(days=1826), latest)
    with warehouse.opened(scene.warehouse) as con:
        con.execute(
            "insert into marts.customer_state select * replace ($o as customer_id) "
            "from marts.customer_state where customer_id = $c and snapshot_date = $v",
            {"o": orphan, "c": gone, "v": latest},
        )
        report = housekeeping.run(con, latest, housekeeping.Retention.from_settings(scene), "fp")
        again = housekeeping.run(con, latest, housekeeping.Retention.from_settings(scene), "again")

    assert fingerprint_rows(scene.warehouse) == {kept: 1}
    erased = {e.target: (e.customers, e.rows) for e in report.entries if e.action == "erased"}
    assert erased["raw.contact_fingerprints"] == (2, 3)
    assert gone not in customer_rows(scene.warehouse)
    assert again.entries == []
    cutoff = latest - timedelta(days=1826)
    assert ("erased", "raw.contact_fingerprints", cutoff, 3, 2, None) in housekeeping_rows(
        scene.warehouse
    )


def test_a_customer_never_on_the_book_counts_from_the_first_night(scene):
    latest, first = NIGHTS[-1], NIGHTS[0]
    customer = sorted(customer_rows(scene.warehouse))[0]
    with warehouse.opened(scene.warehouse) as con:
        # Everyone else on the book tonight; the customer never seen on it.
        con.execute(
            "update marts.customer_state set last_on_book_date = $d where snapshot_date = $d",
            {"d": latest},
        )
    set_last_on_book(scene.warehouse, customer, None, latest)
    # Off the book since before the first night: latest - (first - 1) days.
    days = (latest - first).days + 1

    with warehouse.opened(scene.warehouse) as con:
        for period, erased in ((days, False), (days - 1, True)):
            retention = housekeeping.Retention(
                archive=scene.archive,
                outbox=scene.outbox,
                raw_keep_days=KEEP,
                personal_data_days=period,
            )
            report = housekeeping.run(con, latest, retention, f"erase-{period}")
            assert [e.customers for e in report.entries if e.action == "erased"] == (
                [1] if erased else []
            )
    assert customer not in customer_rows(scene.warehouse)


def test_erasure_waits_while_the_state_is_behind_the_committed_nights(scene):
    latest = NIGHTS[-1]
    customer = sorted(customer_rows(scene.warehouse))[0]
    set_last_on_book(scene.warehouse, customer, date(2000, 1, 1), latest - timedelta(days=1))
    with warehouse.opened(scene.warehouse) as con:
        con.execute("delete from marts.customer_state where snapshot_date = $d", {"d": latest})
        report = housekeeping.run(
            con, latest, housekeeping.Retention.from_settings(scene), "behind"
        )

    assert report.entries == []
    assert report.notes == [
        f"personal data not erased: the latest state version is {latest - timedelta(days=1)}, "
        f"the latest committed night {latest} (the state catches up as those nights are rerun)"
    ]
    assert customer in customer_rows(scene.warehouse)


# --- reruns and replays ---------------------------------------------------------------------------


def test_rerunning_the_night_archives_nothing_twice_and_leaves_the_archive_as_it_was(scene):
    raw, files = snapshots(scene.warehouse), digests(scene.archive)
    recorded = housekeeping_rows(scene.warehouse)

    _, _, report = run_night(scene, NIGHTS[-1], run_id="rerun")

    assert report.entries == []
    assert digests(scene.archive) == files
    assert snapshots(scene.warehouse) == raw
    assert housekeeping_rows(scene.warehouse) == recorded


def test_replay_and_backfill_of_archived_dates_equal_the_original_nights(nights, landing, tmp_path):
    settings, _ = nights
    replay_landing = tmp_path / "landing"
    shutil.copytree(landing, replay_landing)
    # D2 archived, its folder gone; D3 archived, landed without arrangements or holds (which
    # carry forward from D2, archived too); D4 still in raw.*, its folder gone.
    for day in (NIGHTS[1], NIGHTS[3]):
        shutil.rmtree(replay_landing / day.isoformat())
    assert not (replay_landing / NIGHTS[2].isoformat() / "holds.csv").exists()
    scene = copy_scene(settings, tmp_path / "copy", landing=replay_landing)
    with warehouse.opened(scene.warehouse) as con:
        state.rebuild(con, through=NIGHTS[0], keep_nights=KEEP)

    sources = {}
    for day in NIGHTS[1:]:
        summary, restored, _ = run_night(scene, day, run_id=f"night-{day}")
        sources[day] = {name: (f.file, f.carried_forward_from) for name, f in summary.files.items()}

    archived = archive.snapshot_path(scene.archive, "loans", NIGHTS[1])
    assert sources[NIGHTS[1]]["loans"] == (str(archived), None)
    assert sources[NIGHTS[1]]["customers"][0].startswith("raw.customers (customers are never")
    assert sources[NIGHTS[2]]["holds"] == (None, NIGHTS[1].isoformat())
    assert sources[NIGHTS[2]]["loans"][0] == str(replay_landing / f"{NIGHTS[2]}" / "loans.csv")
    assert sources[NIGHTS[3]]["loans"] == (f"raw.loans (snapshot {NIGHTS[3]})", None)
    assert tables(scene.warehouse, "marts") == tables(settings.warehouse, "marts")
    assert snapshots(scene.warehouse) == snapshots(settings.warehouse)
    assert digests(scene.archive) == digests(settings.archive)
    assert outbox_dates(scene.outbox) == outbox_dates(settings.outbox)
    assert private_folders(scene.outbox) == []
    # No private landing folder is left beside the warehouse (it held personal data).
    assert [p.name for p in scene.warehouse.parent.iterdir() if ".landing-" in p.name] == []


# --- commands and settings ------------------------------------------------------------------------


def cli(scene: Settings, *args: str) -> int:
    return main(
        [
            *args,
            "--warehouse",
            str(scene.warehouse),
            *("--archive", str(scene.archive), "--outbox", str(scene.outbox)),
        ]
    )


def test_the_housekeeping_command_does_alone_what_the_night_does(scene, monkeypatch, capsys):
    loans = len(snapshots(scene.warehouse)[("loans", NIGHTS[-2])])
    monkeypatch.setenv("ARREARS_RAW_KEEP_DAYS", "1")

    assert cli(scene, "housekeeping") == 0
    printed = capsys.readouterr().out
    assert cli(scene, "housekeeping", "--date", str(NIGHTS[-1])) == 0

    assert raw_dates(scene.warehouse) == NIGHTS[-1:]
    assert raw_dates(scene.warehouse, "customers") == NIGHTS[-1:]
    assert archive.archived_dates(scene.archive, "installments") == NIGHTS[:-1]
    assert f"archived raw.loans {NIGHTS[-2]}: {loans} rows" in printed
    assert f"housekeeping for {NIGHTS[-1]} (housekeeping-" in printed
    assert "nothing to do" in capsys.readouterr().out


def test_the_housekeeping_command_refuses_bad_dates_and_missing_warehouses(tmp_path, capsys):
    assert main(["housekeeping", "--date", "2025-13-01"]) == 2
    assert main(["housekeeping", "--warehouse", str(tmp_path / "none.duckdb")]) == 2
    assert "none.duckdb does not exist" in " ".join(capsys.readouterr().err.split())


def test_rebuild_state_folds_the_committed_marts_back_into_the_state(scene, monkeypatch, capsys):
    monkeypatch.setenv("ARREARS_RAW_KEEP_DAYS", str(KEEP))
    before = tables(scene.warehouse, "marts")
    with warehouse.opened(scene.warehouse) as con:
        con.execute("delete from marts.loan_state")
        with pytest.raises(state.StateError, match="arrears rebuild-state"):
            state.check(con, NIGHTS[-1] + timedelta(days=1))

    rebuild = ["rebuild-state", "--warehouse", str(scene.warehouse), "--through"]
    assert main([*rebuild, str(NIGHTS[-1])]) == 0
    assert tables(scene.warehouse, "marts") == before
    assert f"state rebuilt over {len(NIGHTS)} committed nights" in capsys.readouterr().out

    assert main([*rebuild, str(NIGHTS[-2])]) == 0
    said = capsys.readouterr().out
    # A --through before every committed night would fold nothing and leave no state.
    assert main([*rebuild, str(NIGHTS[0] - timedelta(days=1))]) == 2
    assert "no committed night on or before" in " ".join(capsys.readouterr().err.split())
    assert f"arrears backfill --from {NIGHTS[-1]} --to {NIGHTS[-1]}" in said


def test_retention_settings_come_from_options_then_environment_then_defaults(monkeypatch):
    defaults = load_settings()
    assert (defaults.archive, defaults.raw_keep_days) == (Path("./archive"), 7)
    assert (defaults.personal_data_days, defaults.outbox_keep_days) == (1825, 90)
    monkeypatch.setenv("ARREARS_ARCHIVE", "/srv/archive")
    monkeypatch.setenv("ARREARS_RAW_KEEP_DAYS", "14")
    monkeypatch.setenv("ARREARS_PERSONAL_DATA_DAYS", "3650")
    monkeypatch.setenv("ARREARS_OUTBOX_KEEP_DAYS", "30")
    settings = load_settings(archive=Path("/mnt/archive"))
    assert settings.archive == Path("/mnt/archive")
    assert (settings.raw_keep_days, settings.personal_data_days) == (14, 3650)
    assert settings.outbox_keep_days == 30
    monkeypatch.setenv("ARREARS_RAW_KEEP_DAYS", "0")
    assert main(["housekeeping"]) == 2
