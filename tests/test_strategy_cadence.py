"""CONTRACT section 4: cadence over consecutive days, delinquency episodes, and arrangements."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import polars as pl
from polars.testing import assert_frame_equal
from strategy_support import A, Book, D


def channels_by_day(book: Book, days: int) -> list[list[str]]:
    seen = []
    for _ in range(days):
        book.run()
        seen.append(
            [
                r[0]
                for r in book.rows("select channel from work.collection_actions order by channel")
            ]
        )
        assert book.suppressed().height == 0  # a cadence not yet due is not a suppression
        book.next_day()
    return seen


def test_call_stage_cadence_over_eight_days():
    book = Book.new().customer("C1").loan("L1", "C1", 8, overdue=100)
    assert channels_by_day(book, 8) == [
        ["CALL", "SMS"],
        ["CALL"],
        ["CALL"],
        ["CALL"],
        ["CALL"],
        ["CALL"],
        ["CALL"],
        ["CALL", "SMS"],
    ]


def test_letter_stage_cadence():
    book = Book.new().customer("C1").loan("L1", "C1", 31, overdue=100)
    assert channels_by_day(book, 5) == [["CALL", "LETTER"], [], ["CALL"], [], ["CALL"]]


def test_reminder_then_call_stage_shares_the_channel_history():
    # SMS on day 1 (REMINDER); dpd 8 on day 2: the CALL stage's SMS waits 7 days from day 1
    book = Book.new().customer("C1").loan("L1", "C1", 7, overdue=100)
    assert channels_by_day(book, 3) == [["SMS"], ["CALL"], ["CALL"]]


def test_recovery_cadence_counts_from_the_last_published_action():
    book = Book.new().customer("C1").loan("L1", "C1", 100, overdue=100)
    book.published("C1", "CALL", A - timedelta(days=2), "RECOVERY", ["L1"])
    book.published("C1", "LETTER", A - timedelta(days=30), "RECOVERY", ["L1"])
    book.run()
    assert book.actions("channel").to_series().to_list() == ["LETTER"]
    book.next_day()
    book.run()
    assert book.actions("channel").to_series().to_list() == ["CALL"]


def test_rerun_gives_the_same_actions_and_ids():
    book = Book.new().customer("C1").loan("L1", "C1", 8, overdue=100)
    book.installment("L1", 3, D + timedelta(days=3), 100)
    book.run()
    first = book.con.sql("select * from work.collection_actions").pl()
    book.commit()  # the old version of D is now in marts: the rerun must not see it as history
    book.run()
    assert_frame_equal(book.con.sql("select * from work.collection_actions").pl(), first)


def test_pre_due_sms_once_per_installment():
    due = D + timedelta(days=3)
    book = Book.new().customer("C1").customer("C2").customer("C3")
    for customer in ("C1", "C2", "C3"):
        book.loan(f"L{customer}", customer, 0)
        book.installment(f"L{customer}", 1, D - timedelta(days=27), 100, 100)
        book.installment(f"L{customer}", 2, due, 100)
    # C2 had this installment's reminder already; C3's reminder was for the previous installment
    book.published("C2", "SMS", D - timedelta(days=1), "PRE_DUE", ["LC2"])
    book.published("C3", "SMS", D - timedelta(days=29), "PRE_DUE", ["LC3"])
    book.run()
    assert book.actions("customer_id").to_series().to_list() == ["C1", "C3"]


def test_legal_once_per_episode():
    book = Book.new().customer("C1").loan("L1", "C1", 120, overdue=900, outstanding=30000)
    book.published("C1", "LETTER", A - timedelta(days=20), "RECOVERY", ["L1"])
    book.run()
    assert book.actions("stage", "channel").rows() == [("LEGAL", "LEGAL")]
    book.next_day()
    book.run()
    # still in LEGAL (first match), which has done its one action: nothing more in this episode
    assert book.actions().height == 0
    assert book.suppressed().height == 0


def test_a_new_episode_allows_legal_again():
    book = Book.new().customer("C1").loan("L1", "C1", 120, overdue=900, outstanding=30000)
    book.published("C1", "LEGAL", date(2024, 6, 1), "LEGAL", ["L1"])
    book.history(date(2025, 1, 31), "L1", "C1", 0)  # all loans current: the episode ended
    book.published("C1", "LETTER", A - timedelta(days=20), "RECOVERY", ["L1"])
    book.run()
    assert book.actions("stage", "channel").rows() == [("LEGAL", "LEGAL")]


def test_episode_ends_only_when_all_loans_are_current():
    book = Book.new().customer("C1")
    book.loan("L1", "C1", 120, overdue=900, outstanding=30000).loan("L2", "C1", 5, overdue=10)
    book.published("C1", "LEGAL", date(2024, 6, 1), "LEGAL", ["L1"])
    book.history(date(2025, 1, 31), "L1", "C1", 0)
    book.history(date(2025, 1, 31), "L2", "C1", 3)  # L2 delinquent: the same episode goes on
    book.published("C1", "LETTER", A - timedelta(days=20), "RECOVERY", ["L1"])
    book.run()
    assert book.actions().height == 0


# -- arrangements -------------------------------------------------------------------------------


def arrangement_book(paid_today: str, cancelled: bool = False, promised: date = D) -> Book:
    book = Book.new().customer("C1")
    book.history(D - timedelta(days=6), "L1", "C1", 35, paid_to_date="300.00")  # before created
    book.history(D - timedelta(days=5), "L1", "C1", 36, paid_to_date="500.00")  # paid on created
    book.loan("L1", "C1", 40, overdue=900, paid_to_date=paid_today)
    book.arrangement("P1", "L1", D - timedelta(days=5), promised, "1000.00", cancelled)
    return book


def status_of(book: Book) -> tuple[str, Decimal]:
    return book.rows("select status, paid_amount from work.arrangement_status")[0]


def test_a_fresh_arrangement_reads_history_only_when_its_latest_row_cannot_measure_it():
    """Agreed after the loan's latest committed row (landed the next night, the usual case):
    measured from that row, which marts.loan_state carries, and tonight's, so no window of older
    nights is scanned. Backdated to before that row: the window opens 31 days before it."""
    from arrears import state

    book = Book.new().customer("C1")
    book.history(D - timedelta(days=9), "L1", "C1", 31, paid_to_date="100.00")
    book.history(D - timedelta(days=1), "L1", "C1", 39, paid_to_date="300.00")
    book.loan("L1", "C1", 40, overdue=900, paid_to_date="700.00")
    book.arrangement("P1", "L1", D, D + timedelta(days=5), "1000.00")
    book.run()
    assert state.previous_dates(book.con, D)["arrangements_since"] is None
    # baseline: the latest row before created_date (D - 1), 300.00; paid since: 400.00
    assert status_of(book) == ("ACTIVE", Decimal("400.00"))

    book.con.execute("delete from work.arrangements")
    book.arrangement("P2", "L1", D - timedelta(days=5), D + timedelta(days=5), "1000.00")
    book.run()
    since = state.previous_dates(book.con, D)["arrangements_since"]
    assert since == D - timedelta(days=5 + 31)
    # baseline: the latest row before D - 5 is D - 9's, 100.00, read from the window
    assert status_of(book) == ("ACTIVE", Decimal("600.00"))


def test_arrangement_active_blocks_escalation():
    book = arrangement_book("700.00", promised=D + timedelta(days=5))
    book.run()
    assert status_of(book) == ("ACTIVE", Decimal("400.00"))
    assert book.actions().height == 0
    assert book.suppressed("channel", "stage", "reason").to_dicts() == [
        {"channel": "CALL", "stage": "LETTER", "reason": "ARRANGEMENT"},
        {"channel": "LETTER", "stage": "LETTER", "reason": "ARRANGEMENT"},
    ]


def test_arrangement_reminder_the_day_before_promised_date():
    book = arrangement_book("700.00", promised=A + timedelta(days=1))
    book.run()
    assert book.actions("channel", "stage", "template", "loan_ids").to_dicts() == [
        {
            "channel": "SMS",
            "stage": "ARRANGEMENT",
            "template": "promise_reminder_sms",
            "loan_ids": ["L1"],
        }
    ]


def test_arrangement_kept():
    book = arrangement_book("1300.00", promised=D + timedelta(days=5))
    book.run()
    assert status_of(book) == ("KEPT", Decimal("1000.00"))
    assert set(book.actions("channel").to_series()) == {"CALL", "LETTER"}


def test_arrangement_cancelled():
    book = arrangement_book("700.00", cancelled=True)
    book.run()
    assert status_of(book)[0] == "CANCELLED"
    assert set(book.actions("channel").to_series()) == {"CALL", "LETTER"}


def test_arrangement_broken_escalates_without_cadence_wait():
    book = arrangement_book("1299.99", promised=D)
    book.published("C1", "CALL", A - timedelta(days=1), "LETTER", ["L1"])
    book.published("C1", "LETTER", A - timedelta(days=10), "LETTER", ["L1"])
    book.run()
    assert status_of(book) == ("BROKEN", Decimal("999.99"))
    assert set(book.actions("channel").to_series()) == {"CALL", "LETTER"}
    # the next day the arrangement is already BROKEN in the marts: cadences apply again
    book.next_day()
    book.run()
    assert book.actions().height == 0


def test_payments_after_promised_date_do_not_keep_it():
    book = arrangement_book("1500.00", promised=D - timedelta(days=2))
    book.history(D - timedelta(days=2), "L1", "C1", 38, paid_to_date="600.00")
    book.run()
    assert status_of(book) == ("BROKEN", Decimal("300.00"))


def test_arrangement_status_rows():
    book = arrangement_book("700.00", promised=D + timedelta(days=5))
    book.run()
    expected = pl.DataFrame(
        {
            "snapshot_date": [D],
            "arrangement_id": ["P1"],
            "loan_id": ["L1"],
            "customer_id": ["C1"],
            "kind": ["PROMISE_TO_PAY"],
            "created_date": [D - timedelta(days=5)],
            "promised_date": [D + timedelta(days=5)],
            "promised_amount": [Decimal("1000.00")],
            "paid_amount": [Decimal("400.00")],
            "status": ["ACTIVE"],
        },
        schema_overrides={"promised_amount": pl.Decimal(18, 2), "paid_amount": pl.Decimal(18, 2)},
    )
    assert_frame_equal(book.con.sql("select * from work.arrangement_status").pl(), expected)
