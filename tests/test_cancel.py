"""Which of the day's actions the day's payments withdraw (given payments, expect cancellations):
PAID against the overdue amount less the tolerance, PAID_INSTALLMENT for pre-due reminders,
never without a payment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cancel_support import ACTION, STRATEGY, TOLERANCE, at, commit_night, find, land

from arrears import cancel, warehouse
from arrears.errors import ArrearsError, ConfigError


@pytest.fixture
def con():
    connection = warehouse.connect(":memory:")
    commit_night(connection)
    yield connection
    connection.close()


def test_no_payment_withdraws_nothing(con, tmp_path):
    assert find(con, tmp_path) == {}
    land(tmp_path, "p.csv", [])
    assert find(con, tmp_path) == {}


def test_a_partial_payment_below_the_overdue_amount_withdraws_nothing(con, tmp_path):
    # overdue 500.00, tolerance 1.00: 498.99 falls short by a cent
    land(tmp_path, "p.csv", [f"P1,L3,{at('09:00')},300.00", f"P2,L3,{at('10:00')},198.99"])
    assert find(con, tmp_path) == {}


def test_payments_reaching_the_overdue_amount_less_the_tolerance_withdraw(con, tmp_path):
    land(
        tmp_path,
        "p.csv",
        [f"P1,L3,{at('09:00')},300.00", f"P2,L3,{at('10:30')},199.00", f"P3,L3,{at('12:00')},5"],
    )
    # covered by P2 at 10:30; P3 came after the cover and is not counted
    assert find(con, tmp_path) == {"A-reminder": ("PAID", "10:30", "499.00", ["P1", "P2"])}


def test_a_payment_on_one_loan_of_a_customer_whose_action_covers_two(con, tmp_path):
    land(tmp_path, "p.csv", [f"P1,L2,{at('11:15')},299.00"])
    expected = ("PAID", "11:15", "299.00", ["P1"])
    # both of the customer's actions cover L1 and L2: both are withdrawn
    assert find(con, tmp_path) == {"A-call-two": expected, "A-sms-two": expected}


def test_payments_on_both_loans_add_up_and_the_last_one_completes_the_cover(con, tmp_path):
    land(tmp_path, "p.csv", [f"P1,L1,{at('08:05')},100.00", f"P2,L2,{at('13:40')},199.00"])
    expected = ("PAID", "13:40", "299.00", ["P1", "P2"])
    assert find(con, tmp_path) == {"A-call-two": expected, "A-sms-two": expected}


def test_a_payment_on_another_customers_loan_withdraws_nothing(con, tmp_path):
    land(tmp_path, "p.csv", [f"P1,L8,{at('09:00')},10000.00"])
    assert find(con, tmp_path) == {}


def test_pre_due_reminder_withdrawn_once_its_installment_is_paid(con, tmp_path):
    # L4 still owes 0.40 of June's installment and 110.00 due on 2025-07-03 (the reminded
    # one): payments settle the oldest first, so 110.40 less the tolerance must be reached
    land(tmp_path, "a.csv", [f"P1,L4,{at('09:00')},60.00"])
    assert find(con, tmp_path) == {}
    land(tmp_path, "b.csv", [f"P2,L4,{at('19:45')},49.39"])
    assert find(con, tmp_path) == {}
    land(tmp_path, "c.csv", [f"P3,L4,{at('20:10')},0.01"])
    assert find(con, tmp_path) == {
        "A-pre-due": ("PAID_INSTALLMENT", "20:10", "109.40", ["P1", "P2", "P3"])
    }


def test_a_pre_due_reminder_of_two_loans_needs_both_installments_paid(con, tmp_path):
    # each loan by its own payments: an overpayment of L6 does not pay L7's installment
    land(tmp_path, "a.csv", [f"P1,L6,{at('09:00')},200.00"])
    assert find(con, tmp_path) == {}
    land(tmp_path, "b.csv", [f"P2,L7,{at('15:00')},87.00"])
    assert find(con, tmp_path) == {
        "A-pre-due-two": ("PAID_INSTALLMENT", "15:00", "287.00", ["P1", "P2"])
    }


def test_a_letter_without_payment_stays_whatever_else_was_paid(con, tmp_path):
    land(
        tmp_path,
        "p.csv",
        [f"P1,L2,{at('09:00')},300.00", f"P2,L3,{at('09:00')},500.00", f"P3,L4,{at('09:00')},200"],
    )
    found = find(con, tmp_path)
    assert set(found) == {"A-call-two", "A-sms-two", "A-reminder", "A-pre-due"}
    assert "A-letter" not in found


def test_each_call_replaces_the_dates_partition_in_the_mart(con, tmp_path):
    land(tmp_path, "a.csv", [f"P1,L3,{at('09:00')},499.00"])
    assert set(find(con, tmp_path)) == {"A-reminder"}
    land(tmp_path, "b.csv", [f"P2,L2,{at('10:00')},299.00"])
    assert set(find(con, tmp_path)) == {"A-reminder", "A-call-two", "A-sms-two"}
    other_day = con.execute(
        "select count(*) from marts.cancelled_actions where action_date <> $a", {"a": ACTION}
    ).fetchall()[0][0]
    assert other_day == 0
    rows = con.execute("select channel, stage from marts.cancelled_actions order by all").fetchall()
    assert rows == [("CALL", "CALL"), ("SMS", "CALL"), ("SMS", "REMINDER")]


def test_a_day_whose_night_is_not_committed_is_refused(con):
    with pytest.raises(ArrearsError, match="not committed"):
        cancel.require_committed_night(con, ACTION + timedelta(days=1))
    assert cancel.require_committed_night(con, ACTION) == 6


def test_actions_of_another_strategy_version_are_refused(con, tmp_path):
    con.execute("update marts.collection_actions set strategy_version = 'older'")
    land(tmp_path, "p.csv", [])
    with pytest.raises(ConfigError, match="strategy version older"):
        cancel.find_cancellations(con, ACTION, STRATEGY, TOLERANCE)
