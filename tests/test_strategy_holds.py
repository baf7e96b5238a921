"""CONTRACT section 4: holds, consent and missing contact data, each recorded with its reason."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal
from strategy_support import DEFAULT_STRATEGY, A, Book, D

from arrears.strategy import load_strategy


def outcome(book: Book) -> tuple[set[tuple[str, str]], set[tuple[str, str, str]]]:
    done = {(r[0], r[1]) for r in book.rows("select stage, channel from work.collection_actions")}
    held = {
        (r[0], r[1], r[2])
        for r in book.rows("select stage, channel, reason from work.suppressed_actions")
    }
    return done, held


def recovery_customer() -> Book:
    return Book.new().customer("C1").loan("L1", "C1", 100, overdue=900)


@pytest.mark.parametrize(
    ("kind", "done", "held"),
    [
        ("DISPUTE", {("RECOVERY", "LETTER")}, {("RECOVERY", "CALL", "HOLD_DISPUTE")}),
        ("COMPLAINT", {("RECOVERY", "LETTER")}, {("RECOVERY", "CALL", "HOLD_COMPLAINT")}),
        ("CEASE_CONTACT", {("RECOVERY", "LETTER")}, {("RECOVERY", "CALL", "HOLD_CEASE_CONTACT")}),
        (
            "DECEASED",
            set(),
            {("RECOVERY", "CALL", "HOLD_DECEASED"), ("RECOVERY", "LETTER", "HOLD_DECEASED")},
        ),
        (
            "LEGAL_HOLD",
            set(),
            {("RECOVERY", "CALL", "HOLD_LEGAL_HOLD"), ("RECOVERY", "LETTER", "HOLD_LEGAL_HOLD")},
        ),
        (
            "BANKRUPTCY",
            set(),
            {("RECOVERY", "CALL", "HOLD_BANKRUPTCY"), ("RECOVERY", "LETTER", "HOLD_BANKRUPTCY")},
        ),
        (
            "HARDSHIP",
            set(),
            {("RECOVERY", "CALL", "HOLD_HARDSHIP"), ("RECOVERY", "LETTER", "HOLD_HARDSHIP")},
        ),
    ],
)
def test_customer_hold_kinds_in_recovery(kind, done, held):
    book = recovery_customer().hold("C1", kind, D - timedelta(days=10))
    book.run()
    assert outcome(book) == (done, held)


def test_bankruptcy_allows_legal_only():
    book = Book.new().customer("C1").loan("L1", "C1", 100, overdue=900, outstanding=25000)
    book.published("C1", "LETTER", A - timedelta(days=30), "RECOVERY", ["L1"])
    book.hold("C1", "BANKRUPTCY", D - timedelta(days=1))
    book.run()
    assert outcome(book) == ({("LEGAL", "LEGAL")}, set())


@pytest.mark.parametrize(
    ("dpd", "done", "held"),
    [
        (3, {("REMINDER", "SMS")}, set()),
        (10, {("CALL", "SMS")}, {("CALL", "CALL", "HOLD_HARDSHIP")}),
        (40, set(), {("LETTER", "CALL", "HOLD_HARDSHIP"), ("LETTER", "LETTER", "HOLD_HARDSHIP")}),
    ],
)
def test_hardship_nothing_beyond_a_reminder_sms(dpd, done, held):
    book = Book.new().customer("C1").loan("L1", "C1", dpd, overdue=100)
    book.hold("C1", "HARDSHIP", D - timedelta(days=3), D + timedelta(days=30))
    book.run()
    assert outcome(book) == (done, held)


def test_loan_level_hold_covers_only_that_loan():
    book = Book.new().customer("C1")
    book.loan("L1", "C1", 40, overdue=300).loan("L2", "C1", 12, overdue=100)
    book.hold("C1", "DISPUTE", D, loan_id="L1")
    book.run()
    assert book.actions("channel", "loan_ids").to_dicts() == [
        {"channel": "CALL", "loan_ids": ["L2"]},
        {"channel": "LETTER", "loan_ids": ["L1", "L2"]},
    ]
    expected = pl.DataFrame(
        {
            "channel": ["CALL"],
            "loan_ids": [["L1"]],
            "stage": ["LETTER"],
            "reason": ["HOLD_DISPUTE"],
            "detail": ["DISPUTE hold on the loan since 2025-06-30"],
        }
    )
    assert_frame_equal(book.suppressed(*expected.columns), expected)


@pytest.mark.parametrize(
    ("start", "end", "active"),
    [
        (A, None, True),
        (A + timedelta(days=1), None, False),
        (D - timedelta(days=30), A, True),
        (D - timedelta(days=30), D, False),  # ended on the snapshot date: not in force tomorrow
    ],
)
def test_hold_is_active_on_the_action_date(start, end, active):
    book = recovery_customer().hold("C1", "DECEASED", start, end)
    book.run()
    done, _ = outcome(book)
    assert (done == set()) is active


def test_most_restrictive_hold_gives_the_reason():
    book = recovery_customer().hold("C1", "DISPUTE", D).hold("C1", "DECEASED", D, loan_id="L1")
    book.run()
    assert outcome(book)[1] == {
        ("RECOVERY", "CALL", "HOLD_DECEASED"),
        ("RECOVERY", "LETTER", "HOLD_DECEASED"),
    }


@pytest.mark.parametrize(
    ("consent", "dpd", "done", "held"),
    [
        ({"consent_sms": False}, 3, set(), {("REMINDER", "SMS", "CONSENT")}),
        ({"consent_sms": False}, 10, {("CALL", "CALL")}, {("CALL", "SMS", "CONSENT")}),
        ({"consent_call": False}, 10, {("CALL", "SMS")}, {("CALL", "CALL", "CONSENT")}),
        ({"consent_call": False}, 40, {("LETTER", "LETTER")}, {("LETTER", "CALL", "CONSENT")}),
    ],
)
def test_consent_flags(consent, dpd, done, held):
    book = Book.new().customer("C1", **consent).loan("L1", "C1", dpd, overdue=100)
    book.run()
    assert outcome(book) == (done, held)


def email_strategy(tmp_path):
    document = yaml.safe_load(DEFAULT_STRATEGY.read_text(encoding="utf-8"))
    document["stages"]["CALL"]["channels"]["EMAIL"] = {"every_days": 3, "template": "early_email"}
    path = tmp_path / "strategy.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return load_strategy(path, "cn")


@pytest.mark.parametrize(
    ("customer", "reason"),
    [
        ({"consent_email": False}, "CONSENT"),
        ({"email": None}, "NO_CONTACT_DATA"),
        ({"email": "  "}, "NO_CONTACT_DATA"),
        ({}, None),
    ],
)
def test_email_consent_and_address(tmp_path, customer, reason):
    book = Book.new().customer("C1", **customer).loan("L1", "C1", 10, overdue=100)
    book.run(email_strategy(tmp_path))
    done, held = outcome(book)
    if reason is None:
        assert ("CALL", "EMAIL") in done and held == set()
    else:
        assert ("CALL", "EMAIL") not in done and held == {("CALL", "EMAIL", reason)}


@pytest.mark.parametrize(
    ("customer", "dpd", "overdue", "done", "held"),
    [
        (
            {"phone": None},
            10,
            100,
            set(),
            {("CALL", "CALL", "NO_CONTACT_DATA"), ("CALL", "SMS", "NO_CONTACT_DATA")},
        ),
        ({"phone": ""}, 3, 100, set(), {("REMINDER", "SMS", "NO_CONTACT_DATA")}),
        (
            {"address": None},
            40,
            100,
            {("LETTER", "CALL")},
            {("LETTER", "LETTER", "NO_CONTACT_DATA")},
        ),
        ({"address": None}, 70, 6000, {("VISIT", "CALL")}, {("VISIT", "VISIT", "NO_CONTACT_DATA")}),
    ],
)
def test_missing_contact_data(customer, dpd, overdue, done, held):
    book = Book.new().customer("C1", **customer).loan("L1", "C1", dpd, overdue=overdue)
    book.run()
    assert outcome(book) == (done, held)


def test_customer_without_a_customers_row_is_not_contacted_but_recorded():
    book = Book.new().loan("L1", "C9", 10, overdue=100)
    book.run()
    assert outcome(book) == (
        set(),
        {("CALL", "CALL", "NO_CONTACT_DATA"), ("CALL", "SMS", "NO_CONTACT_DATA")},
    )


def test_no_personal_data_in_outputs():
    book = Book.new().customer(
        "C1", phone="13912345678", address="Secret Road 1", email="private@example.cn"
    )
    book.loan("L1", "C1", 70, overdue=6000).run()
    text = " ".join(
        str(v)
        for table in ("collection_actions", "suppressed_actions", "arrangement_status")
        for row in book.rows(f"select * from work.{table}")
        for v in row
    )
    for value in ("13912345678", "Secret Road", "private@example.cn", "Name"):
        assert value not in text
