"""Bad input through the real command line: every kind is refused with exit 3, a message that
names the file (or dataset), the rule and the count, and raw.*, marts.* and the outbox as they
were. The rules themselves are tested one by one in tests/test_ingest.py and
tests/test_quality_suites.py; this runs each kind end to end, in-process (`arrears.cli.main`)."""

from __future__ import annotations

import csv
import re
import shutil
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from fixtures.reliability_support import (
    PersonalScanner,
    capture_stderr,
    copy_warehouse,
    outbox_state,
    personal_values,
    state,
)

from arrears import warehouse
from arrears.cli import main
from arrears.generate import generate_landing

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

D1 = date(2025, 6, 1)
D2 = D1 + timedelta(days=1)
# The "wrong date inside" case: the folder of D2 holds the export of this later day.
LATER = D1 + timedelta(days=20)


def edit(path: Path, column: str, value: str, rows: int) -> None:
    """Set `column` to `value` in the first `rows` data rows of a CSV file."""
    with path.open(encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle))
    at = table[0].index(column)
    for row in table[1 : rows + 1]:
        row[at] = value
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(table)


def edit_where(path: Path, key: str, value: str, column: str, new: str) -> None:
    """Set `column` to `new` in the row whose `key` column equals `value`."""
    with path.open(encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle))
    at, match = table[0].index(column), table[0].index(key)
    hits = [row for row in table[1:] if row[match] == value]
    assert len(hits) == 1
    hits[0][at] = new
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(table)


def truncated(folder: Path, env: dict, book: dict) -> None:
    path = folder / "installments.csv"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 30])


def wrong_type(folder: Path, env: dict, book: dict) -> None:
    edit(folder / "loans.csv", "principal_amount", "12,000.00", 3)


def unknown_enum(folder: Path, env: dict, book: dict) -> None:
    edit(folder / "loans.csv", "status", "FROZEN", 10)


def duplicate_keys(folder: Path, env: dict, book: dict) -> None:
    path = folder / "loans.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, lines[1], lines[2]]) + "\n", encoding="utf-8")


def negative_amounts(folder: Path, env: dict, book: dict) -> None:
    edit(folder / "loans.csv", "outstanding_principal", "-100.00", 10)


def future_dates(folder: Path, env: dict, book: dict) -> None:
    edit(folder / "loans.csv", "origination_date", (D2 + timedelta(days=30)).isoformat(), 10)


def gb18030_as_utf8(folder: Path, env: dict, book: dict) -> None:
    path = folder / "customers.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("gb18030"))


def utf8_as_gb18030(folder: Path, env: dict, book: dict) -> None:
    env["ARREARS_DATASET_ENCODINGS"] = '{"customers": "gb18030"}'


def empty_file(folder: Path, env: dict, book: dict) -> None:
    (folder / "customers.csv").write_bytes(b"")


def missing_required_file(folder: Path, env: dict, book: dict) -> None:
    (folder / "installments.csv").unlink()


def parquet_other_schema(folder: Path, env: dict, book: dict) -> None:
    source = folder / "loans.csv"
    duckdb.execute(
        "copy (select * exclude (outstanding_principal) from read_csv(?, all_varchar = true)) "
        f"to '{folder / 'loans.parquet'}' (format parquet)",
        [str(source)],
    )
    source.unlink()


def wrong_date_inside(folder: Path, env: dict, book: dict) -> None:
    # A later day's export filed under D2: payments, new loans and events after D2.
    later = book["later"] / LATER.isoformat()
    for path in folder.iterdir():
        path.unlink()
    for path in later.iterdir():
        shutil.copy(path, folder / path.name)


# (kind, mutation, file or dataset named, rule named)
CASES: list[tuple[str, Callable[[Path, dict, dict], None], str, str]] = [
    ("truncated CSV", truncated, "installments.csv", "malformed CSV"),
    ("wrong column type", wrong_type, "loans.csv", "principal_amount: not an amount"),
    ("unknown enum value", unknown_enum, "loans.csv", "loans.critical: status"),
    ("duplicate key", duplicate_keys, "loans.csv", "duplicate key (loan_id)"),
    ("negative amount", negative_amounts, "loans.csv", "outstanding_principal"),
    ("date in the future", future_dates, "loans.csv", "origination_date after snapshot date"),
    ("GB18030 read as UTF-8", gb18030_as_utf8, "customers.csv", "text is not valid UTF-8"),
    ("UTF-8 read as GB18030", utf8_as_gb18030, "customers.csv", "configured as gb18030"),
    ("empty file", empty_file, "customers.csv", "file is empty"),
    ("missing required file", missing_required_file, "installments", "required"),
    ("Parquet with another schema", parquet_other_schema, "loans.parquet", "missing required"),
    (
        "snapshot folder with a later date inside",
        wrong_date_inside,
        "loans.csv",
        "origination_date",
    ),
]


@pytest.fixture(scope="module")
def committed(prefect_harness, tmp_path_factory):
    """A warehouse and outbox holding a finished run of D1; D2's landing to break."""
    root = tmp_path_factory.mktemp("input")
    generate_landing(root / "landing", D1, 2, loans=200, seed=7)
    generate_landing(root / "later", LATER, 1, loans=200, seed=7)
    where = {
        "landing": root / "landing",
        "warehouse": root / "arrears.duckdb",
        "outbox": root / "outbox",
        "reports": root / "reports",
        "later": root / "later",
    }
    assert cli(where, where["landing"], D1) == 0
    return where


def cli(where: dict, landing: Path, day: date) -> int:
    return main(
        [
            "run",
            "--date",
            day.isoformat(),
            "--landing",
            str(landing),
            "--warehouse",
            str(where["warehouse"]),
            "--outbox",
            str(where["outbox"]),
        ]
    )


@pytest.mark.parametrize(("kind", "mutate", "named", "rule"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_3_and_changes_nothing(
    committed, tmp_path, monkeypatch, kind, mutate, named, rule
):
    landing = tmp_path / "landing"
    shutil.copytree(committed["landing"] / D2.isoformat(), landing / D2.isoformat())
    env: dict[str, str] = {"ARREARS_REPORTS": str(committed["reports"])}
    mutate(landing / D2.isoformat(), env, committed)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    before = state(committed["warehouse"]), outbox_state(committed["outbox"])
    captured = capture_stderr(monkeypatch)

    code = cli(committed, landing, D2)

    stderr = captured.getvalue()
    assert code == 3, stderr
    assert (state(committed["warehouse"]), outbox_state(committed["outbox"])) == before
    with warehouse.opened(committed["warehouse"], read_only=True) as con:
        status, error = con.execute(
            "select status, error from ops.runs order by started_at desc limit 1"
        ).fetchall()[0]
    assert status == "REJECTED"
    # The message: "<file or dataset>: <rule> (<count> rows)" then examples and a hint.
    headline = error.splitlines()[0]
    assert named in headline and rule in headline, error
    assert re.search(r"\((\d+) rows?\)", headline), error
    assert " ".join(headline.split()) in " ".join(stderr.split()), stderr
    scanner = PersonalScanner(personal_values(committed["landing"]))
    assert scanner.find(stderr + error) == {}


def test_a_future_dated_loan_and_event_below_the_limit_are_set_aside_not_silently_kept(
    committed, tmp_path
):
    """Below the quarantine limit a bad row does not stop the book: it is quarantined (loans)
    or flagged (contact events: warning suite), and named either way."""
    landing = tmp_path / "landing"
    day = landing / D2.isoformat()
    shutil.copytree(committed["landing"] / D2.isoformat(), day)
    # A loan nothing else refers to: its quarantine cascades to its schedule only (a loan with
    # an arrangement would take that arrangement along, and one of a handful of arrangements
    # is above the 1 % limit of that dataset: the run would be refused).
    referenced = "".join(
        (day / f"{name}.csv").read_text(encoding="utf-8")
        for name in ("arrangements", "contact_events", "holds")
    )
    with (day / "loans.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    bad = next(
        r for r in rows if r["loan_id"] not in referenced and r["customer_id"] not in referenced
    )
    edit_where(day / "loans.csv", "loan_id", bad["loan_id"], "origination_date", "2025-06-05")
    with (day / "contact_events.csv").open(encoding="utf-8", newline="") as handle:
        event = next(csv.DictReader(handle))["event_id"]
    edit_where(
        day / "contact_events.csv", "event_id", event, "occurred_at", "2025-06-09T10:00:00+08:00"
    )
    where = {**committed, "warehouse": tmp_path / "arrears.duckdb", "outbox": tmp_path / "outbox"}
    copy_warehouse(committed["warehouse"], where["warehouse"])

    assert cli(where, landing, D2) == 0

    with warehouse.opened(where["warehouse"], read_only=True) as con:
        quarantined = con.execute(
            # This run's only: rejected runs of D2 before it left theirs (copied warehouse).
            "select dataset, record_key, rule from quality.quarantine where run_id = "
            "(select run_id from ops.runs order by started_at desc limit 1)",
        ).fetchall()
        kept = con.execute(
            "select count(*) from raw.loans where snapshot_date = $d and loan_id = $id",
            {"d": D2, "id": bad["loan_id"]},
        ).fetchall()[0][0]
        aged = con.execute(
            "select count(*) from marts.loan_aging where snapshot_date = $d", {"d": D2}
        ).fetchall()[0][0]
        flagged = con.execute(
            "select details_json from quality.runs where suite = 'contact_events.warning' "
            "and not success and run_id = "
            "(select run_id from ops.runs order by started_at desc limit 1)",
        ).fetchall()
    assert ("loans", bad["loan_id"], "origination_date after snapshot date") in quarantined
    assert {dataset for dataset, *_ in quarantined} == {"loans", "installments"}
    assert kept == 0 and aged == len(rows) - 1
    assert flagged and "occurred_at after snapshot date" in flagged[0][0]
    assert event in flagged[0][0]


def test_the_previous_export_filed_again_is_named_in_the_run(committed, tmp_path):
    """D1's files filed as D2 pass every row check; the run says they are D1's, byte for byte."""
    landing = tmp_path / "landing"
    shutil.copytree(committed["landing"] / D1.isoformat(), landing / D2.isoformat())
    where = {**committed, "warehouse": tmp_path / "arrears.duckdb", "outbox": tmp_path / "outbox"}
    copy_warehouse(committed["warehouse"], where["warehouse"])

    assert cli(where, landing, D2) == 0

    with warehouse.opened(where["warehouse"], read_only=True) as con:
        # This run's: the bad-input cases left rejected runs of D2 in the copied warehouse.
        notes = con.execute(
            "select notes from ops.runs where snapshot_date = $d order by started_at desc limit 1",
            {"d": D2},
        ).fetchall()
    assert notes == [
        (
            f"loans.csv and installments.csv are byte-identical to the files of snapshot {D1}: "
            "if that export was filed again under this date, land the right files and rerun "
            "the date",
        )
    ]
