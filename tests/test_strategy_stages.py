"""CONTRACT section 4, the stage table: each stage's entry and edges, and customer level."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from strategy_support import A, Book, D

NOTHING: set[tuple[str, str]] = set()


def actions_of(book: Book) -> set[tuple[str, str]]:
    return {
        (row[0], row[1]) for row in book.rows("select stage, channel from work.collection_actions")
    }


@pytest.mark.parametrize(
    ("dpd", "overdue", "expected"),
    [
        (0, 0, NOTHING),
        (1, 100, {("REMINDER", "SMS")}),
        (7, 100, {("REMINDER", "SMS")}),
        (8, 100, {("CALL", "CALL"), ("CALL", "SMS")}),
        (30, 100, {("CALL", "CALL"), ("CALL", "SMS")}),
        (31, 100, {("LETTER", "LETTER"), ("LETTER", "CALL")}),
        (60, 100, {("LETTER", "LETTER"), ("LETTER", "CALL")}),
        (61, "4999.99", {("LETTER", "LETTER"), ("LETTER", "CALL")}),
        (61, "5000.00", {("VISIT", "VISIT"), ("VISIT", "CALL")}),
        (90, "5000.00", {("VISIT", "VISIT"), ("VISIT", "CALL")}),
        (90, "4999.99", {("LETTER", "LETTER"), ("LETTER", "CALL")}),
        (91, "5000.00", {("RECOVERY", "CALL"), ("RECOVERY", "LETTER")}),
        (400, 100, {("RECOVERY", "CALL"), ("RECOVERY", "LETTER")}),
    ],
)
def test_stage_by_dpd_and_overdue(dpd, overdue, expected):
    book = Book.new().customer("C1").loan("L1", "C1", dpd, overdue=overdue)
    book.run()
    assert actions_of(book) == expected


@pytest.mark.parametrize(
    ("outstanding", "letter_days_before", "expected_stage"),
    [
        ("20000.00", 15, "LEGAL"),
        ("19999.99", 15, "RECOVERY"),
        ("20000.00", 14, "RECOVERY"),
        ("20000.00", None, "RECOVERY"),
        ("35000.00", 60, "LEGAL"),
    ],
)
def test_legal_needs_balance_and_an_earlier_letter(outstanding, letter_days_before, expected_stage):
    book = Book.new().customer("C1").loan("L1", "C1", 120, overdue=900, outstanding=outstanding)
    if letter_days_before is not None:
        book.published("C1", "LETTER", A - timedelta(days=letter_days_before), "LETTER", ["L1"])
    book.run()
    stages = {stage for stage, _ in actions_of(book)}
    if expected_stage == "LEGAL":
        assert actions_of(book) == {("LEGAL", "LEGAL")}
    else:
        # RECOVERY: its LETTER waits for the 30-day cadence when a letter went out recently.
        assert stages == {"RECOVERY"}


def test_legal_on_the_customers_outstanding_across_loans():
    book = Book.new().customer("C1")
    book.loan("L1", "C1", 95, overdue=500, outstanding="10000.00")
    book.loan("L2", "C1", 3, overdue=50, outstanding="10000.00")
    book.published("C1", "LETTER", A - timedelta(days=20), "RECOVERY", ["L1"])
    book.run()
    assert book.actions("stage", "channel", "loan_ids", "outstanding_amount").to_dicts() == [
        {
            "stage": "LEGAL",
            "channel": "LEGAL",
            "loan_ids": ["L1", "L2"],
            "outstanding_amount": Decimal("20000.00"),
        }
    ]


def test_legal_prior_letter_must_be_of_the_current_episode():
    book = Book.new().customer("C1").loan("L1", "C1", 120, overdue=900, outstanding=30000)
    book.published("C1", "LETTER", D - timedelta(days=200), "LETTER", ["L1"])
    # all of the customer's loans were back at dpd 0 after that letter: a new episode began
    book.history(D - timedelta(days=121), "L1", "C1", 0)
    book.run()
    assert {stage for stage, _ in actions_of(book)} == {"RECOVERY"}


def test_visit_on_the_customers_overdue_total():
    book = Book.new().customer("C1")
    book.loan("L1", "C1", 61, overdue="2500.00").loan("L2", "C1", 10, overdue="2500.00")
    book.run()
    assert actions_of(book) == {("VISIT", "VISIT"), ("VISIT", "CALL")}


def test_charged_off_is_recovery_whatever_the_dpd():
    book = Book.new().customer("C1").loan("L1", "C1", 5, overdue=100, status="CHARGED_OFF")
    book.run()
    assert actions_of(book) == {("RECOVERY", "CALL"), ("RECOVERY", "LETTER")}


@pytest.mark.parametrize("status", ["CLOSED", "WRITTEN_OFF"])
def test_closed_and_written_off_get_nothing(status):
    book = Book.new().customer("C1").loan("L1", "C1", 40, overdue=100, status=status)
    book.run()
    assert actions_of(book) == NOTHING
    assert book.suppressed().height == 0


@pytest.mark.parametrize(
    ("due_in", "due", "paid", "dpd", "expected"),
    [
        (3, 100, 0, 0, {("PRE_DUE", "SMS")}),
        (3, 100, "99.99", 0, {("PRE_DUE", "SMS")}),
        (3, 100, 100, 0, NOTHING),  # nothing unpaid
        (2, 100, 0, 0, NOTHING),
        (4, 100, 0, 0, NOTHING),
        (3, 100, 0, 3, {("REMINDER", "SMS")}),  # delinquent: the dpd stage comes first
    ],
)
def test_pre_due(due_in, due, paid, dpd, expected):
    book = Book.new().customer("C1").loan("L1", "C1", dpd, overdue=50 if dpd else 0)
    book.installment("L1", 4, D + timedelta(days=due_in), due, paid)
    book.run()
    assert actions_of(book) == expected


def test_customer_level_consolidation():
    book = Book.new().customer("C1").customer("C2")
    book.loan("L1", "C1", 10, overdue="100.00", outstanding="1000.00")
    book.loan("L2", "C1", 40, overdue="300.00", outstanding="2000.00")
    book.loan("L3", "C1", 0, outstanding="5000.00")  # no stage: not covered
    book.loan("L4", "C2", 3, overdue="20.00", outstanding="700.00")
    book.run()
    expected = pl.DataFrame(
        {
            "customer_id": ["C1", "C1", "C2"],
            "channel": ["CALL", "LETTER", "SMS"],
            "stage": ["LETTER", "LETTER", "REMINDER"],
            "loan_ids": [["L1", "L2"], ["L1", "L2"], ["L4"]],
            "primary_loan_id": ["L2", "L2", "L4"],
            "overdue_amount": [Decimal("400.00"), Decimal("400.00"), Decimal("20.00")],
            "outstanding_amount": [Decimal("3000.00"), Decimal("3000.00"), Decimal("700.00")],
            "template": ["letter_call", "demand_letter", "reminder_sms"],
        },
        schema_overrides={
            "overdue_amount": pl.Decimal(18, 2),
            "outstanding_amount": pl.Decimal(18, 2),
        },
    )
    got = book.actions(*expected.columns)
    assert_frame_equal(got, expected)
    # one action per customer, channel and date
    assert book.rows(
        "select count(*) from (select customer_id, channel, action_date"
        " from work.collection_actions group by all having count(*) > 1)"
    ) == [(0,)]


def test_primary_loan_is_most_delinquent_then_largest():
    book = Book.new().customer("C1")
    book.loan("L1", "C1", 40, overdue="100.00").loan("L2", "C1", 40, overdue="300.00")
    book.loan("L0", "C1", 35, overdue="900.00")
    book.run()
    assert {r[0] for r in book.rows("select primary_loan_id from work.collection_actions")} == {
        "L2"
    }


def test_action_columns_and_date():
    book = Book.new().customer("C1").loan("L1", "C1", 3, overdue=10)
    book.run()
    row = book.con.sql("select * from work.collection_actions").pl().to_dicts()[0]
    assert row["action_date"] == A and row["snapshot_date"] == D
    assert row["strategy_variant"] == "champion"
    assert row["strategy_version"] == "2025.06-default.1"
    assert row["priority"] == 1
    assert row["max_attempts"] is None
    cols = [c[0] for c in book.rows("describe work.collection_actions")]
    mart = [c[0] for c in book.rows("describe marts.collection_actions")]
    assert cols == mart
