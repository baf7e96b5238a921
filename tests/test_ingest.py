"""Ingest: every dataset typed on the way in, every kind of bad input refused with its reason."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from arrears import commit, ingest, warehouse
from arrears.contract import Column
from arrears.errors import InputRejected
from arrears.ingest import acceptance, careful_reader

D = date(2025, 6, 30)


@pytest.fixture
def con():
    connection = warehouse.connect(":memory:")
    yield connection
    connection.close()


def folder(landing: Path) -> Path:
    return landing / D.isoformat()


def rewrite(landing: Path, dataset: str, old: str, new: str) -> None:
    path = folder(landing) / f"{dataset}.csv"
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {dataset}.csv"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def rejected(con, landing: Path, **kwargs) -> InputRejected:
    with pytest.raises(InputRejected) as info:
        ingest.ingest(con, D, landing, **kwargs)
    assert info.value.exit_code == 3
    return info.value


# --- good input -------------------------------------------------------------------------------


def test_example_landing_is_typed(con, example_landing):
    summary = ingest.ingest(con, D, example_landing)

    assert summary.rows() == {
        "loans": 4,
        "installments": 9,
        "customers": 3,
        "arrangements": 1,
        "contact_events": 1,
        "holds": 1,
        "bureau": 3,
    }
    row = con.execute(
        "select principal_due, fee_due, due_date, last_payment_date from work.installments "
        "where loan_id = 'X-0002' and installment_no = 1"
    ).fetchall()
    assert row == [(Decimal("800.00"), Decimal("0.00"), date(2025, 5, 16), None)]
    types = dict(
        con.execute("select column_name, column_type from (describe work.loans)").fetchall()
    )
    assert types["principal_amount"] == "DECIMAL(18,2)"
    assert types["origination_date"] == "DATE"
    consent = con.execute(
        "select customer_id, consent_sms from work.customers order by customer_id"
    ).fetchall()
    assert consent == [("K1001", True), ("K1002", False), ("K1003", True)]
    occurred = con.execute("select occurred_at from work.contact_events").fetchall()[0][0]
    assert occurred.utcoffset() is not None
    assert all(f.sha256 and len(f.sha256) == 64 for f in summary.files.values())


def test_optional_columns_get_contract_defaults(con, example_landing):
    path = folder(example_landing) / "installments.csv"
    lines = path.read_text().splitlines()
    keep = (0, 1, 2, 3, 4, 7, 8, 11)  # drop fee_due, penalty_due, fee_paid, penalty_paid
    trimmed = [",".join(line.split(",")[i] for i in keep) for line in lines]
    path.write_text("\n".join(trimmed) + "\n")

    ingest.ingest(con, D, example_landing)

    fees = con.execute("select distinct fee_due, penalty_paid from work.installments").fetchall()
    assert fees == [(Decimal("0.00"), Decimal("0.00"))]


def test_utf8_bom_is_accepted(con, example_landing):
    path = folder(example_landing) / "customers.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())

    ingest.ingest(con, D, example_landing)

    names = con.execute("select count(*) from work.customers where customer_id = 'K1001'")
    assert names.fetchall() == [(1,)]


def test_gb18030_when_configured(con, example_landing):
    path = folder(example_landing) / "customers.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("gb18030"))

    summary = ingest.ingest(con, D, example_landing, encodings={"customers": "gb18030"})

    assert summary.files["customers"].encoding == "gb18030"
    name = con.execute("select full_name from work.customers where customer_id = 'K1002'")
    assert name.fetchall() == [("李强",)]


def test_parquet_landing_file(con, example_landing):
    csv = folder(example_landing) / "loans.csv"
    parquet = csv.with_suffix(".parquet")
    duckdb.execute(
        "copy (select * replace (cast(principal_amount as decimal(18,2)) as principal_amount, "
        "cast(outstanding_principal as decimal(18,2)) as outstanding_principal) "
        f"from read_csv('{csv}')) to '{parquet}' (format parquet)"
    )
    csv.unlink()

    summary = ingest.ingest(con, D, example_landing)

    assert summary.files["loans"].rows == 4
    total = con.execute("select sum(principal_amount) from work.loans").fetchall()[0][0]
    assert total == Decimal("186400.00")


def test_holds_and_arrangements_carry_forward(con, example_landing):
    ingest.ingest(con, D, example_landing)
    commit.commit(con, D)
    next_day = example_landing / "2025-07-01"
    next_day.mkdir()
    for name in ("loans", "installments", "customers"):
        (next_day / f"{name}.csv").write_bytes(
            (folder(example_landing) / f"{name}.csv").read_bytes()
        )

    summary = ingest.ingest(con, date(2025, 7, 1), example_landing)

    assert summary.files["holds"].carried_forward_from == "2025-06-30"
    assert summary.files["arrangements"].carried_forward_from == "2025-06-30"
    holds = con.execute("select snapshot_date, customer_id, kind from work.holds").fetchall()
    assert holds == [(date(2025, 7, 1), "K1003", "COMPLAINT")]
    assert summary.files["contact_events"].rows == 0
    # What a rejection names for each dataset: the file, or where the rows came from.
    sources = summary.sources()
    assert sources["loans"] == str(next_day / "loans.csv")
    assert sources["holds"] == "holds (no file; carried forward from 2025-06-30)"
    assert "contact_events" not in sources


def test_repeated_contact_events_are_ignored(con, example_landing):
    ingest.ingest(con, D, example_landing)
    commit.commit(con, D)
    next_day = example_landing / "2025-07-01"
    next_day.mkdir()
    for path in folder(example_landing).iterdir():
        (next_day / path.name).write_bytes(path.read_bytes())
    events = next_day / "contact_events.csv"
    with open(events, "a", encoding="utf-8") as fh:
        # The example files end their lines with CRLF; keep the file consistent.
        fh.write("EV-2,,K1001,X-0001,SMS,2025-07-01T09:00:00+08:00,DELIVERED\r\n")

    summary = ingest.ingest(con, date(2025, 7, 1), example_landing)

    assert summary.files["contact_events"].duplicates_ignored == 1
    events = con.execute("select event_id from work.contact_events").fetchall()
    assert events == [("EV-2",)]


def test_rerun_of_same_date_keeps_its_own_events(con, example_landing):
    ingest.ingest(con, D, example_landing)
    commit.commit(con, D)

    summary = ingest.ingest(con, D, example_landing)

    assert summary.files["contact_events"].rows == 1


# --- bad input ----------------------------------------------------------------------------------


def test_missing_landing_folder(con, tmp_path):
    error = rejected(con, tmp_path / "nowhere")
    assert "landing folder" in error.rule
    assert "2025-06-30" in error.file


@pytest.mark.parametrize("dataset", ["loans", "installments", "customers"])
def test_missing_required_file(con, example_landing, dataset):
    (folder(example_landing) / f"{dataset}.csv").unlink()
    error = rejected(con, example_landing)
    assert f"required dataset {dataset} is missing" in error.rule
    assert error.file.endswith(f"{dataset}.csv")


def test_missing_required_column(con, example_landing):
    rewrite(example_landing, "loans", "outstanding_principal,", "outstanding,")
    error = rejected(con, example_landing)
    assert error.rule == "missing required column outstanding_principal"
    assert error.file.endswith("loans.csv")


def test_missing_required_value(con, example_landing):
    rewrite(example_landing, "loans", "X-0002,K1001,microloan", "X-0002,,microloan")
    error = rejected(con, example_landing)
    assert error.rule == "column customer_id: missing value"
    assert error.count == 1
    assert "key X-0002" in error.examples[0]


def test_unparsable_date(con, example_landing):
    rewrite(example_landing, "installments", "2025-05-16", "16/05/2025")
    error = rejected(con, example_landing)
    assert error.rule == "column due_date: not a date (YYYY-MM-DD)"
    assert error.count == 1
    assert error.examples == ["key X-0002|1: '16/05/2025'"]
    assert "installments.csv" in str(error) and "(1 row)" in str(error)


def test_impossible_calendar_date(con, example_landing):
    rewrite(
        example_landing, "loans", "2025-01-01,2027-12-31,4000.00", "2025-02-30,2027-12-31,4000.00"
    )
    error = rejected(con, example_landing)
    assert error.rule == "column origination_date: not a date (YYYY-MM-DD)"


@pytest.mark.parametrize(
    "amount", ["1,000.00", "abc", "12.345", "60000.001", "1.5e-3", "¥100", "0x10", "inf", "  "]
)
def test_unparsable_amount(con, example_landing, amount):
    rewrite(example_landing, "loans", "60000.00", f'"{amount}"')
    error = rejected(con, example_landing)
    assert error.rule == "column principal_amount: not an amount with at most 2 decimals"
    assert error.count == 1


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("60000", "60000.00"),
        ("60000.5", "60000.50"),
        ("6e4", "60000.00"),
        (" +60000.00 ", "60000.00"),
    ],
)
def test_amounts_exact_to_the_cent_are_read_as_written(con, example_landing, written, read):
    rewrite(example_landing, "loans", "60000.00", f'"{written}"')
    ingest.ingest(con, D, example_landing)
    amount = con.execute("select principal_amount from work.loans where loan_id = 'X-0003'")
    assert amount.fetchall() == [(Decimal(read),)]


@pytest.mark.parametrize("number", ["1.5", "one", "2147483648"])
def test_installment_number_must_be_a_whole_integer(con, example_landing, number):
    rewrite(example_landing, "installments", "X-0001,2,", f"X-0001,{number},")
    error = rejected(con, example_landing)
    assert error.rule == "column installment_no: not an integer"
    assert error.examples == [f"key X-0001|{number}: {number!r}"]


@pytest.mark.parametrize("day", ["25-05-16", "2025-05-16 BC", "20250516", "2025-02-29"])
def test_dates_need_a_four_digit_year_and_the_calendar(con, example_landing, day):
    rewrite(example_landing, "installments", "2025-05-16", day)
    error = rejected(con, example_landing)
    assert error.rule == "column due_date: not a date (YYYY-MM-DD)"


def test_unparsable_integer_and_boolean(con, example_landing):
    rewrite(example_landing, "customers", "true,true,true\n", "yes please,true,true\n")
    error = rejected(con, example_landing)
    assert error.rule == "column consent_sms: not a boolean (true/false)"


def test_timestamp_without_offset(con, example_landing):
    rewrite(example_landing, "contact_events", "10:15:00+08:00", "10:15:00")
    error = rejected(con, example_landing)
    assert error.rule == "column occurred_at: not an ISO 8601 timestamp with offset"


def test_duplicate_key(con, example_landing):
    path = folder(example_landing) / "loans.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, lines[1], lines[1]]) + "\n")
    error = rejected(con, example_landing)
    assert error.rule == "duplicate key (loan_id)"
    assert error.count == 3
    assert error.examples == ["key X-0001: 3 rows"]


def test_duplicate_composite_key(con, example_landing):
    rewrite(example_landing, "installments", "X-0001,2,", "X-0001,1,")
    error = rejected(con, example_landing)
    assert error.rule == "duplicate key (loan_id, installment_no)"
    assert error.examples == ["key X-0001|1: 2 rows"]


def test_empty_file(con, example_landing):
    (folder(example_landing) / "customers.csv").write_bytes(b"")
    error = rejected(con, example_landing)
    assert error.rule == "file is empty (no header row)"
    assert error.file.endswith("customers.csv")


def test_header_without_rows_for_required_dataset(con, example_landing):
    path = folder(example_landing) / "loans.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    error = rejected(con, example_landing)
    assert error.rule == "file has a header but no rows"


def test_header_without_rows_for_optional_dataset_means_none_in_force(con, example_landing):
    path = folder(example_landing) / "holds.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    summary = ingest.ingest(con, D, example_landing)
    assert summary.files["holds"].rows == 0
    assert summary.files["holds"].carried_forward_from is None


def test_truncated_csv(con, example_landing):
    path = folder(example_landing) / "installments.csv"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 30])
    error = rejected(con, example_landing)
    assert "malformed CSV" in error.rule
    assert error.file.endswith("installments.csv")


def test_gb18030_text_read_as_utf8(con, example_landing):
    path = folder(example_landing) / "customers.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("gb18030"))
    error = rejected(con, example_landing)
    assert error.rule == "text is not valid UTF-8"
    assert "gb18030" in error.hint


def test_utf8_text_read_as_gb18030(con, example_landing):
    error = rejected(con, example_landing, encodings={"customers": "gb18030"})
    assert error.rule == "text is UTF-8 but the dataset is configured as gb18030"


def test_parquet_with_float_amounts(con, example_landing):
    csv = folder(example_landing) / "loans.csv"
    parquet = csv.with_suffix(".parquet")
    duckdb.execute(
        "copy (select * replace (cast(principal_amount as double) as principal_amount) "
        f"from read_csv('{csv}', all_varchar = true)) to '{parquet}' (format parquet)"
    )
    csv.unlink()
    error = rejected(con, example_landing)
    assert error.rule.startswith("amounts stored as floating point: principal_amount (DOUBLE)")
    assert error.file.endswith("loans.parquet")


def test_parquet_with_a_different_schema(con, example_landing):
    csv = folder(example_landing) / "installments.csv"
    parquet = csv.with_suffix(".parquet")
    duckdb.execute(
        "copy (select * exclude (principal_paid) from "
        f"read_csv('{csv}', all_varchar = true)) to '{parquet}' (format parquet)"
    )
    csv.unlink()
    error = rejected(con, example_landing)
    assert error.rule == "missing required column principal_paid"
    assert error.file.endswith("installments.parquet")


def test_csv_and_parquet_for_the_same_dataset(con, example_landing):
    csv = folder(example_landing) / "holds.csv"
    duckdb.execute(f"copy (select * from read_csv('{csv}')) to '{csv.with_suffix('.parquet')}'")
    error = rejected(con, example_landing)
    assert "both holds.csv and holds.parquet" in error.rule


def test_personal_data_never_in_the_message(con, example_landing):
    rewrite(example_landing, "customers", "K1002,李强,", "K1002,,")
    error = rejected(con, example_landing)
    assert error.rule == "column full_name: missing value"
    assert "李强" not in str(error)
    assert "<personal data withheld>" in str(error)


def customers_values(landing: Path) -> list[str]:
    """Every non-key value of the example customers.csv (none may appear in a message)."""
    lines = (folder(landing) / "customers.csv").read_text(encoding="utf-8").splitlines()
    values = [v for line in lines[1:] for v in line.split(",")[1:]]
    return [v for v in values if len(v) > 2 and v not in ("true", "false")]


def test_customers_values_are_never_quoted_whatever_the_column(con, example_landing):
    # Two headers swapped: consent_sms holds the phone numbers.
    rewrite(example_landing, "customers", "phone,", "consent_sms_,")
    rewrite(example_landing, "customers", "consent_sms,", "phone,")
    rewrite(example_landing, "customers", "consent_sms_,", "consent_sms,")
    error = rejected(con, example_landing)
    assert error.rule == "column consent_sms: not a boolean (true/false)"
    assert error.examples[0] == "key K1001: '<personal data withheld>'"
    for value in customers_values(example_landing):
        assert value not in str(error), value


def test_a_headerless_customers_file_shows_no_values(con, example_landing):
    path = folder(example_landing) / "customers.csv"
    path.write_text("\n".join(path.read_text(encoding="utf-8").splitlines()[1:]) + "\n")
    error = rejected(con, example_landing)
    assert error.rule == "missing required columns customer_id, full_name"
    assert "(2 columns)" in str(error)
    assert error.examples[0] == "expected: customer_id, full_name"
    assert "none a customers column" in error.examples[1]
    for value in [*customers_values(example_landing), "K1001"]:
        assert value not in str(error), value


def test_header_names_match_whatever_their_case_and_spaces(con, example_landing):
    rewrite(example_landing, "loans", "loan_id,customer_id,", " Loan_ID ,CUSTOMER_ID,")
    summary = ingest.ingest(con, D, example_landing)
    assert summary.rows()["loans"] == 4
    assert summary.files["loans"].ignored_columns == []
    assert warehouse.count(con, "work.loans") == 4
    # The careful path reads the same names.
    rewrite(example_landing, "loans", "60000.00", "60000.001")
    error = rejected(con, example_landing)
    assert error.rule == "column principal_amount: not an amount with at most 2 decimals"
    assert error.examples == ["key X-0003: '60000.001'"]


def test_a_header_that_does_not_match_shows_expected_and_found_names(con, example_landing):
    rewrite(example_landing, "loans", "outstanding_principal,", "Outstanding ,")
    error = rejected(con, example_landing)
    assert error.rule == "missing required column outstanding_principal"
    assert "(1 column)" in str(error).splitlines()[0]
    assert error.examples[0].startswith("expected: loan_id, customer_id, product,")
    assert "outstanding_principal" in error.examples[0]
    assert "'Outstanding '" in error.examples[1] and "principal_amount" in error.examples[1]
    assert error.hint.endswith("; 'Outstanding ' may be outstanding_principal")


def test_names_equal_but_for_case_are_one_name_twice(con, example_landing):
    rewrite(example_landing, "holds", "kind,", "kind,KIND,")
    path = folder(example_landing) / "holds.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([lines[0], *(line + ",x" for line in lines[1:])]) + "\n")
    error = rejected(con, example_landing)
    assert error.rule == "duplicate column names: kind"
    assert "kind, KIND" in error.examples[0]


@pytest.mark.parametrize(
    ("dataset", "old", "new", "rule", "example"),
    [
        ("loans", "BJ01", "BJ\x0001", "column branch", "key X-0001: 'BJ\\x0001'"),
        (
            "customers",
            "浦东",
            "浦\x1b东",
            "column address",
            "key K1001: '<personal data withheld>'",
        ),
        # The key is the offending value: the row is named by its place in the file.
        (
            "customers",
            "K1002,",
            "K\x071002,",
            "column customer_id",
            "data row 2: '<personal data withheld>'",
        ),
    ],
)
def test_control_characters_in_text_are_refused(
    con, example_landing, dataset, old, new, rule, example
):
    rewrite(example_landing, dataset, old, new)
    error = rejected(con, example_landing)
    assert error.rule == f"{rule}: control character in text"
    assert error.count == 1
    assert error.examples == [example]
    assert error.file.endswith(f"{dataset}.csv")


def test_what_looks_like_a_phone_or_an_id_is_masked_in_any_example(con, example_landing):
    rewrite(example_landing, "installments", "2025-05-16", "13912345678")
    error = rejected(con, example_landing)
    assert error.rule == "column due_date: not a date (YYYY-MM-DD)"
    assert error.examples == ["key X-0002|1: '<personal data withheld>'"]


def test_rejection_leaves_committed_partition_untouched(con, example_landing):
    ingest.ingest(con, D, example_landing)
    commit.commit(con, D)
    before = con.execute("select * from raw.loans order by loan_id").fetchall()
    rewrite(example_landing, "loans", "60000.00", "sixty thousand")

    rejected(con, example_landing)

    assert con.execute("select * from raw.loans order by loan_id").fetchall() == before


# --- the fast path and the careful path agree ------------------------------------------------

# Values of each type a source system might write, well- or ill-formed.
TRICKY = {
    "decimal": [
        "0",
        "12.3",
        "12.30",
        "12.300",
        "12.345",
        "12.3450001",
        "-0.00",
        "+5",
        ".5",
        "5.",
        "1e3",
        "1.5e-3",
        "1_000",
        "1,000",
        "0x10",
        "inf",
        "nan",
        " 7.25 ",
        "999999999999.99",
        "1000000000000",
        "¥5",
        "5 .5",
    ],
    "integer": [
        "0",
        "1",
        "-3",
        "+4",
        "1.0",
        "1.5",
        "1e2",
        " 12 ",
        "2147483647",
        "2147483648",
        "one",
        "0x10",
    ],
    "date": [
        "2025-05-16",
        "2025-5-6",
        " 2025-05-16 ",
        "25-05-16",
        "0999-12-31",
        "1000-01-01",
        "2024-02-29",
        "2025-02-29",
        "16/05/2025",
        "20250516",
        "2025-05-16 10:00",
        "2025-05-16T00:00",
        "2025-05-16 BC",
        "+2025-05-16",
        "02025-05-16",
    ],
    "boolean": ["true", "FALSE", "t", "F", "1", "0", " true ", "yes", "on", "2", "tru"],
    "string": [
        "abc",
        " padded ",
        "  ",
        "tab\there",
        "中文",
        "nul\x00",
        "esc\x1b[0m",
        "del\x7f",
        "c1\x85",
    ],
    "timestamp": [
        "2025-06-30T10:15:00+08:00",
        "2025-06-30 10:15:00+08",
        "2025-06-30T10:15Z",
        "2025-06-30T10:15:00.123+0800",
        "2025-06-30T10:15:00",
        "2025-06-30",
        "30/06/2025 10:15+08",
        "2025-06-31T10:15:00+08:00",
    ],
}


@pytest.mark.parametrize("kind", sorted(TRICKY))
def test_both_paths_accept_exactly_the_same_values(tmp_path, kind):
    """A clean file takes the typed pass, a suspect one the row-by-row checks: the result of
    a value must not depend on which of the two read it."""
    rule = acceptance.rule_of(Column("x", kind))
    path = tmp_path / "values.csv"
    path.write_text("n,x\n" + "".join(f'{i},"{v}"\n' for i, v in enumerate(TRICKY[kind])))
    con = duckdb.connect()
    # Staged as text first, as the careful path does.
    con.execute(
        "create table staged as select * from read_csv($p, header = true, all_varchar = true)",
        {"p": str(path)},
    )
    careful = dict(
        con.execute(f"select cast(n as integer), {rule.parsed('x')} from staged").fetchall()
    )
    for i, value in enumerate(TRICKY[kind]):
        one = tmp_path / f"value{i}.csv"
        one.write_text(f'n,x\n{i},"{value}"\n')
        columns = f"'n': 'INTEGER', 'x': '{rule.read_as}'"
        try:
            fast = con.execute(
                f"select {rule.checked('x', 'x')} from {ingest.typed_reader('$p', columns)}",
                {"p": str(one)},
            ).fetchall()[0][0]
        except duckdb.Error:
            fast = None
        # A rule the typed pass decides for the whole file, from its bytes.
        if rule.per_file and acceptance.control_bytes_in(one.read_bytes()):
            fast = None
        assert fast == careful[i], f"{kind} {value!r}: typed pass {fast!r}, checks {careful[i]!r}"
    accepted = [v for i, v in enumerate(TRICKY[kind]) if careful[i] is not None]
    assert 0 < len(accepted) < len(TRICKY[kind])


@pytest.fixture
def careful_reads(monkeypatch):
    """The files that went through the row-by-row checks."""
    read: list[str] = []
    stage = careful_reader.stage_csv

    def spy(con, dataset, original, readable, table):
        read.append(Path(original).name)
        return stage(con, dataset, original, readable, table)

    monkeypatch.setattr(careful_reader, "stage_csv", spy)
    return read


def test_a_clean_file_is_read_in_one_typed_pass(con, example_landing, careful_reads):
    ingest.ingest(con, D, example_landing)
    assert careful_reads == []
    assert warehouse.count(con, "work.installments") > 0


def test_a_suspect_file_is_checked_row_by_row(con, example_landing, careful_reads):
    rewrite(example_landing, "loans", "60000.00", "60000.001")
    rejected(con, example_landing)
    assert careful_reads == ["loans.csv"]


def test_ignored_columns_are_named_once_when_a_file_is_read_twice(
    con, example_landing, careful_reads, monkeypatch
):
    path = folder(example_landing) / "loans.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + ",note"] + [line + ",x" for line in lines[1:]]
    path.write_text("\n".join(lines).replace("60000.00", "60000.001") + "\n", encoding="utf-8")
    warnings: list[str] = []
    monkeypatch.setattr(ingest.log, "warning", lambda msg, *args: warnings.append(msg % args))
    rejected(con, example_landing)
    assert careful_reads == ["loans.csv"]
    assert warnings == ["loans.csv: ignoring columns not in the contract: note"]
