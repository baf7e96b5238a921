"""The month's bureau files read back: metro2.dat parsed by the published field offsets of the
Metro 2 character format (docs/bureau.md) and compared field by field with the warehouse,
pboc_accounts.csv likewise; counts, record lengths, the manifest, same bytes on a rewrite, and
no personal data beyond name and national id."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from aging_support import installment, loan, paid_in_full
from bureau_support import customers, night, reported
from fixtures.pii_support import TEST_KEY

from arrears import warehouse
from arrears.bureau import files, metro2
from arrears.publish.manifest import file_sha256

JAN, FEB = date(2026, 1, 31), date(2026, 2, 28)
REPORTER = files.Reporter("LENDER01", "TEST LENDER")
PEOPLE = {
    "C1": ("王小明", "110105199001011234"),  # 18-character id: not sent as an SSN
    "C2": ("John Q Public", "123456789"),
    "C3": ("欧阳娜", None),
}


def book(day: date):
    old = date(2024, 3, 10)
    loans = [
        loan("L1", customer_id="C1", origination_date=old),
        loan("L2", customer_id="C2", origination_date=old, product="credit_card"),
        loan("L3", customer_id="C3", origination_date=old, status="CHARGED_OFF"),
        loan("L4", customer_id="C2", origination_date=date(2026, 1, 3), product="mortgage"),
    ]
    plan = [
        installment("L1", day - timedelta(days=95)),
        installment("L1", day - timedelta(days=64), installment_no=2),
        paid_in_full("L2", day - timedelta(days=20)),
        installment("L3", day - timedelta(days=250)),
        installment("L4", day + timedelta(days=5)),
    ]
    return loans, plan


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    root = tmp_path_factory.mktemp("bureau")
    con = warehouse.connect(":memory:")
    for day in (JAN, FEB):
        night(con, day, *book(day), [{"customer_id": "C3", "kind": "DISPUTE", "start": JAN}])
        customers(con, day, PEOPLE)
    month = FEB.replace(day=1)
    content = files.publish(con, root, month, "run-1", REPORTER, TEST_KEY)
    folder = files.month_folder(root, month)
    yield {
        "con": con,
        "root": root,
        "folder": folder,
        "rows": reported(con, month),
        "manifest": content,
        "bytes": {p.name: p.read_bytes() for p in folder.iterdir()},
    }
    con.close()


def records(folder):
    data = (folder / files.METRO2_NAME).read_bytes()
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


def test_every_record_is_426_bytes_and_header_and_trailer_count_the_base_segments(published):
    lines = records(published["folder"])
    assert all(len(line) == metro2.RECORD_BYTES for line in lines)
    header = metro2.decode(metro2.HEADER, lines[0])
    trailer = metro2.decode(metro2.TRAILER, lines[-1])
    assert header["record_identifier"] == "HEADER" and trailer["record_identifier"] == "TRAILER"
    assert header["activity_date"] == FEB and header["reporter_name"] == "TEST LENDER"
    bases = [metro2.decode(metro2.BASE, line) for line in lines[1:-1]]
    assert trailer["total_base_records"] == len(bases) == len(published["rows"]) == 4
    assert trailer["block_count"] == len(lines)
    statuses = Counter(b["account_status"] for b in bases)
    for code in metro2.TRAILER_STATUSES:
        assert trailer[f"total_status_code_{code}"] == statuses.get(code, 0)
    assert trailer["total_social_numbers_base_segments"] == 2  # L2 and L4: C2's 9-digit id


def test_metro2_read_back_by_offsets_equals_the_warehouse_field_by_field(published):
    lines = records(published["folder"])
    bases = {b["consumer_account_number"]: b for b in map(
        lambda line: metro2.decode(metro2.BASE, line), lines[1:-1])}  # fmt: skip
    whole = lambda amount: None if amount is None else int(amount)  # noqa: E731
    portfolio = {"L1": ("I", "01"), "L2": ("R", "18"), "L3": ("I", "01"), "L4": ("M", "26")}
    for loan_id, row in published["rows"].items():
        base = bases[loan_id]
        name, national_id = PEOPLE[row["customer_id"]]
        expected = {
            "record_descriptor_word": 426,
            "processing_indicator": 1,
            "time_stamp": "02282026000000",
            "correction_indicator": 0,
            "identification_number": "LENDER01",
            "cycle_identifier": "",
            "consumer_account_number": loan_id,
            "portfolio_type": portfolio[loan_id][0],
            "account_type": portfolio[loan_id][1],
            "date_opened": row["date_opened"],
            "credit_limit": 0,
            "highest_credit": whole(row["principal_amount"]),
            "terms_duration": "REV" if loan_id == "L2" else f"{row['terms_duration']:03d}",
            "terms_frequency": "M",
            "scheduled_monthly_payment_amount": whole(row["due_this_month"]),
            "actual_payment_amount": whole(row["paid_this_month"]),
            "account_status": row["account_status"],
            "payment_rating": row["payment_rating"] or "",
            "payment_history_profile": row["payment_history_profile"],
            "special_comment": "",
            "compliance_condition_code": row["compliance_condition_code"] or "",
            "current_balance": whole(row["balance"]),
            "amount_past_due": whole(row["amount_past_due"]),
            "original_charge_off_amount": whole(row["original_charge_off_amount"] or 0),
            "date_account_information": FEB,
            "date_first_delinquency": row["first_delinquency_date"],
            "date_closed": row["date_closed"],
            "date_last_payment": row["last_payment_date"],
            "interest_type_indicator": "",
            "reserved": "",
            "surname": name.split()[-1],
            "first_name": " ".join(name.split()[:-1]),
            "middle_name": "",
            "generation_code": "",
            "social_security_number": int(national_id) if national_id == "123456789" else 0,
            "date_of_birth": None,
            "telephone_number": 0,
            "ecoa_code": "1",
            "consumer_information_indicator": "",
            "country_code": "",
            "first_line_address": "",
            "second_line_address": "",
            "city": "",
            "state": "",
            "zip_code": "",
            "address_indicator": "",
            "residence_code": "",
        }
        assert set(expected) == {f.name for f in metro2.BASE}
        assert base == expected, loan_id
    # the cases the comparison must have seen
    assert bases["L1"]["account_status"] == "80" and bases["L1"]["date_first_delinquency"]
    assert (
        bases["L3"]["account_status"] == "97" and bases["L3"]["compliance_condition_code"] == "XB"
    )
    assert bases["L4"]["payment_history_profile"] == "0" + "B" * 23
    assert bases["L1"]["surname"] == "王小明" and bases["L2"]["surname"] == "Public"


def test_pboc_csv_equals_the_warehouse(published):
    with (published["folder"] / files.PBOC_NAME).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == files.PBOC_COLUMNS and len(rows) == 4
    for line in rows:
        row = published["rows"][line["loan_id"]]
        name, national_id = PEOPLE[row["customer_id"]]
        assert line["full_name"] == name and line["national_id"] == (national_id or "")
        assert line["month"] == "2026-02"
        assert len(line["repayment_status_24m"]) == 24
        for column in files.PBOC_COLUMNS[5:]:
            value = row[column]
            if isinstance(value, Decimal):
                assert Decimal(line[column]) == value, column
            else:
                assert line[column] == ("" if value is None else str(value)), column


def test_the_manifest_lists_the_files_and_a_rewrite_gives_the_same_bytes(published):
    manifest = json.loads((published["folder"] / "_manifest.json").read_text())
    assert manifest["report_month"] == "2026-02" and manifest["snapshot_date"] == "2026-02-28"
    for entry in manifest["files"]:
        assert file_sha256(published["folder"] / entry["name"]) == (entry["sha256"], entry["bytes"])
        assert entry["rows"] == 4
    files.publish(
        published["con"], published["root"], FEB.replace(day=1), "run-2", REPORTER, TEST_KEY
    )
    again = {p.name: p.read_bytes() for p in published["folder"].iterdir()}
    for name in (files.PBOC_NAME, files.METRO2_NAME):
        assert again[name] == published["bytes"][name]
    assert json.loads(again["_manifest.json"])["content_sha256"] == manifest["content_sha256"]
    assert sorted(p.name for p in published["root"].joinpath("bureau").iterdir()) == [
        ".2026-02-01.lock",
        "2026-02",
    ]


def test_privacy_name_and_national_id_only(published):
    texts = [data.decode("utf-8") for data in published["bytes"].values()]
    for secret in ("13800000000", "1 Secret Road", "100020"):
        assert not any(secret in text for text in texts), secret
    # the scan sees what it looks for: the identity keys are there
    assert any("110105199001011234" in text for text in texts)
    assert any("John Q" in text for text in texts)


def test_a_month_without_rows_is_refused(published):
    from arrears.errors import ArrearsError

    with pytest.raises(ArrearsError, match="no rows for 2025-12"):
        files.publish(published["con"], published["root"], date(2025, 12, 1), "r", REPORTER, None)


def test_written_a_batch_at_a_time_the_files_are_the_same(published, monkeypatch):
    monkeypatch.setattr(files, "_CHUNK_ROWS", 1)
    month = FEB.replace(day=1)
    files.publish(published["con"], published["root"], month, "run-3", REPORTER, TEST_KEY)
    for name in (files.PBOC_NAME, files.METRO2_NAME):
        assert (published["folder"] / name).read_bytes() == published["bytes"][name]


def test_customers_sealed_with_another_key_or_not_sealed_are_refused(published):
    from arrears.errors import ArrearsError, ConfigError
    from arrears.pii.keys import PiiKey

    con, month = published["con"], FEB.replace(day=1)
    other = PiiKey.from_bytes(bytes(range(1, 33)))
    for key in (other, None):
        with pytest.raises(ConfigError, match=f"sealed with key {TEST_KEY.key_id}, not"):
            files.publish(con, published["root"], month, "r", REPORTER, key)
    con.execute("begin")
    try:
        con.execute("update raw.customers set pii = null where customer_id = 'C2'")
        with pytest.raises(ArrearsError, match=r"holds 1 customers .* not sealed"):
            files.publish(con, published["root"], month, "r", REPORTER, TEST_KEY)
    finally:
        con.execute("rollback")
    # nothing of the refused writes is left beside the month's set
    assert not [p for p in published["folder"].parent.iterdir() if ".tmp-" in p.name]
