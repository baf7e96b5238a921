"""Bad input through the real command line: every kind is refused with exit 3, a message that
names the file (or dataset), the rule and the count, and raw.*, marts.* and the outbox as they
were. The rules themselves are tested one by one in tests/test_ingest.py and
tests/test_quality_suites.py; this runs each kind end to end, in-process (`arrears.cli.main`)."""

from __future__ import annotations

import csv
import json
import logging
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
    prefect_texts,
    state,
)
from prefect.logging.handlers import APILogWorker

from arrears import warehouse
from arrears.cli import main
from arrears.contract import CUSTOMERS, Column
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


def swapped_headers(folder: Path, env: dict, book: dict) -> None:
    # phone <-> consent_sms: the booleans column holds the phone numbers.
    path = folder / "customers.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    names = lines[0].split(",")
    a, b = names.index("phone"), names.index("consent_sms")
    names[a], names[b] = names[b], names[a]
    path.write_text("\n".join([",".join(names), *lines[1:]]) + "\n", encoding="utf-8")


def header_in_another_case(folder: Path, env: dict, book: dict) -> None:
    # Matched whatever the case and spaces; what is still missing is named with what was found.
    path = folder / "loans.csv"
    text = path.read_text(encoding="utf-8")
    header, rest = text.split("\n", 1)
    header = header.upper().replace("LOAN_ID", " Loan_ID ").replace("BRANCH", "branch name")
    path.write_text(header + "\n" + rest, encoding="utf-8")


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
    ("customers headers swapped", swapped_headers, "customers.csv", "consent_sms: not a boolean"),
    (
        "header in another case",
        header_in_another_case,
        "loans.csv",
        "missing required column branch",
    ),
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
    # The message: "<file or dataset>: <rule> (<count> rows)" then examples and a hint; a
    # header's count is of columns.
    headline = error.splitlines()[0]
    assert named in headline and rule in headline, error
    assert re.search(r"\((\d+) (rows?|columns?)\)", headline), error
    assert " ".join(headline.split()) in " ".join(stderr.split()), stderr
    scanner = PersonalScanner(personal_values(committed["landing"]))
    assert scanner.find(stderr + error) == {}


def planted(column: Column, c: int, n: int) -> tuple[str, str]:
    """(value, what to search for) for row n of customers column number c: a value of a type
    the column cannot hold, with a token found nowhere else."""
    token = f"{c:02d}{n:06d}"
    if column.type == "boolean" or column.name == "customer_id":
        # A phone number: where booleans or the key should be (headers swapped at the source).
        return f"139{token}", f"139{token}"
    if column.name == "phone":
        return f"tel-{token}", f"tel-{token}"
    # Free text: its only wrong type is binary, text carrying control bytes.
    return f"Z{token}Q\x00\x1b", f"Z{token}Q"


def fill(path: Path, column: Column, c: int) -> list[str]:
    """Plant wrong-typed values in every row of `column`; return the strings to search for."""
    with path.open(encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle))
    at = table[0].index(column.name)
    found = []
    for n, row in enumerate(table[1:]):
        row[at], search = planted(column, c, n)
        found.append(search)
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(table)
    return found


def sinks(where: dict, stderr: str, logs: str) -> dict[str, str]:
    """Every text the last run wrote for people to read, by where it was written."""
    with warehouse.opened(where["warehouse"], read_only=True) as con:
        run_id, status, error = con.execute(
            "select run_id, status, error from ops.runs order by started_at desc limit 1"
        ).fetchall()[0]
        runs = con.execute(
            "select suite, details_json from quality.runs where run_id = $r", {"r": run_id}
        ).fetchall()
        quarantine = con.execute(
            "select dataset, record_key, rule, value from quality.quarantine where run_id = $r",
            {"r": run_id},
        ).fetchall()
    APILogWorker.drain_all(timeout=10)
    prefect = "\n".join(f"{source}: {text}" for source, text in prefect_texts())
    assert status == "REJECTED", error
    return {
        "stderr": stderr,
        "logs": logs,
        "ops.runs.error": error,
        "quality.runs": json.dumps(runs),
        "quality.quarantine": json.dumps(quarantine),
        "prefect": prefect,
    }


@pytest.mark.parametrize("column", CUSTOMERS.columns, ids=[c.name for c in CUSTOMERS.columns])
def test_no_customers_value_reaches_any_message_whatever_the_input(
    committed, tmp_path, monkeypatch, caplog, column
):
    """Every customers column in turn holds values of a type it cannot hold: the run is refused
    (exit 3) and no planted value, nor any personal value of the file, is in a message, a log
    line, ops.runs, the quality tables or what Prefect keeps."""
    landing = tmp_path / "landing"
    shutil.copytree(committed["landing"] / D2.isoformat(), landing / D2.isoformat())
    searched = fill(
        landing / D2.isoformat() / "customers.csv", column, CUSTOMERS.columns.index(column)
    )
    where = {**committed, "warehouse": tmp_path / "arrears.duckdb", "outbox": tmp_path / "outbox"}
    copy_warehouse(committed["warehouse"], where["warehouse"])
    captured = capture_stderr(monkeypatch)
    caplog.set_level(logging.DEBUG)

    code = cli(where, landing, D2)

    texts = sinks(where, captured.getvalue(), caplog.text)
    assert code == 3, texts["stderr"]
    scanner = PersonalScanner(personal_values(committed["landing"]))
    leaks = {
        sink: sorted({value for value in searched if value in text})[:3]
        for sink, text in texts.items()
    }
    assert not any(leaks.values()), leaks
    assert {sink: scanner.find(text) for sink, text in texts.items()} == dict.fromkeys(texts, {})
    # Refused for what was planted: the rejection's headline names the column.
    assert column.name in texts["ops.runs.error"].splitlines()[0], texts["ops.runs.error"]


def test_a_national_id_in_a_branch_is_warned_about_by_column_and_count_only(
    committed, tmp_path, monkeypatch, caplog
):
    """Personal data in a column the contract calls non-personal: the run goes on (a branch
    code is not checked against a list), but not silently: loans.warning names the column and
    the count, and no sink of text shows the value."""
    landing = tmp_path / "landing"
    shutil.copytree(committed["landing"] / D2.isoformat(), landing / D2.isoformat())
    national_id = "110105199003071234"
    edit(landing / D2.isoformat() / "loans.csv", "branch", national_id, 2)
    where = {**committed, "warehouse": tmp_path / "arrears.duckdb", "outbox": tmp_path / "outbox"}
    copy_warehouse(committed["warehouse"], where["warehouse"])
    captured = capture_stderr(monkeypatch)
    caplog.set_level(logging.INFO)

    assert cli(where, landing, D2) == 0

    with warehouse.opened(where["warehouse"], read_only=True) as con:
        run_id = con.execute(
            "select run_id from ops.runs order by started_at desc limit 1"
        ).fetchall()[0][0]
        details = con.execute(
            "select details_json from quality.runs where run_id = $r and suite = 'loans.warning'",
            {"r": run_id},
        ).fetchall()[0][0]
        tables = [
            str(con.execute(f"select * from {t}").fetchall())
            for t in ("ops.runs", "quality.runs", "quality.quarantine")
        ]
        copied = con.execute(
            "select count(*) from marts.loan_aging where snapshot_date = $d and branch = $b",
            {"d": D2, "b": national_id},
        ).fetchall()[0][0]
    rule = "branch looks like a phone number or national id"
    outcome = next(o for o in json.loads(details) if o["rule"] == rule)
    assert (outcome["success"], outcome["unexpected_count"]) == (False, 2)
    assert len(outcome["example_keys"]) == 2
    assert f"loans.warning: {rule} (2 rows, e.g." in caplog.text
    APILogWorker.drain_all(timeout=10)
    prefect = [text for _, text in prefect_texts()]
    for text in [captured.getvalue(), caplog.text, *tables, *prefect]:
        assert national_id not in text
    # Kept, as the contract has no rule against it: the warning is what an operator gets.
    assert copied == 2


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
