"""The rules bureaus check, each at its edge (docs/bureau.md): status characters and account
statuses at every band boundary, the months a loan opens, closes or is charged off, the date
of first delinquency, the amount past due, and the dispute code. Three reporting nights of a
hand-written book, built once for the module."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from aging_support import installment, loan, paid_in_full
from bureau_support import night, reported

from arrears import warehouse

JAN, FEB, MAR = date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)
# (dpd at the January month end, PBOC character, Metro 2 account status)
BANDS = (
    (29, "1", "11"),
    (30, "1", "71"),
    (31, "2", "71"),
    (59, "2", "71"),
    (60, "2", "78"),
    (61, "3", "78"),
    (89, "3", "78"),
    (90, "3", "80"),
    (91, "4", "80"),
    (119, "4", "80"),
    (120, "4", "82"),
    (121, "5", "82"),
    (149, "5", "82"),
    (150, "5", "83"),
    (151, "6", "83"),
    (179, "6", "83"),
    (180, "6", "84"),
    (181, "7", "84"),
)
OLD = date(2024, 1, 15)  # opened long before the first reported month


def overdue(loan_id: str, day: date, dpd: int, **values) -> dict:
    """One unpaid installment falling due `dpd` days before `day`."""
    return installment(loan_id, day - timedelta(days=dpd), **values)


def january():
    loans = [loan(f"B{dpd:03d}", origination_date=OLD) for dpd, _, _ in BANDS]
    plan = [overdue(f"B{dpd:03d}", JAN, dpd) for dpd, _, _ in BANDS]
    loans += [
        loan("PAID", origination_date=OLD),  # paid as due this month: N
        loan("QUIET", origination_date=OLD),  # nothing due this month: *
        loan("NEW", origination_date=date(2026, 1, 5)),  # opened this month
        loan("CO", origination_date=OLD, status="CHARGED_OFF"),
        loan("CO0", origination_date=OLD, status="CHARGED_OFF", outstanding_principal="0.00"),
        loan("SHUT", origination_date=OLD, status="CLOSED", outstanding_principal="0.00"),
        loan("GONE", origination_date=OLD),
        loan("KEEP", origination_date=OLD),
        loan("CURE", origination_date=OLD),
        loan("HOLD", customer_id="C2", origination_date=OLD),
        loan("SAID", customer_id="C3", origination_date=OLD),
    ]
    for row in loans:
        row["outstanding_principal"] = Decimal(str(row["outstanding_principal"]))
    plan += [
        paid_in_full("PAID", date(2026, 1, 10)),
        paid_in_full("QUIET", date(2025, 12, 10)),
        installment("QUIET", date(2026, 2, 10), installment_no=2),
        # paid ahead of its February due date
        installment(
            "NEW",
            date(2026, 2, 5),
            principal_paid="1000.00",
            interest_paid="50.00",
            last_payment_date=date(2026, 1, 30),
        ),
        overdue("CO", JAN, 200),
        installment("CO0", date(2025, 6, 1)),
        paid_in_full("SHUT", date(2026, 1, 12)),
        paid_in_full("GONE", date(2026, 1, 10)),
        overdue("KEEP", JAN, 45),
        overdue("CURE", JAN, 45),
        overdue("HOLD", JAN, 45),
        overdue("SAID", JAN, 45),
    ]
    return loans, plan


@pytest.fixture(scope="module")
def months():
    con = warehouse.connect(":memory:")
    loans, plan = january()
    disputes = [("C3", datetime(2026, 1, 20, 10, tzinfo=ZoneInfo("Asia/Shanghai")))]
    night(con, JAN, loans, plan, [{"customer_id": "C2", "kind": "DISPUTE", "start": JAN}], disputes)
    jan = reported(con, JAN.replace(day=1))

    feb_loans = [row for row in loans if row["loan_id"] != "GONE"]
    feb_plan = [row for row in plan if row["loan_id"] not in ("GONE", "CURE")]
    feb_plan += [paid_in_full("CURE", JAN - timedelta(days=45))]
    # the dispute hold ended in February; the DISPUTE outcome is more than 30 days old
    ended = [{"customer_id": "C2", "kind": "DISPUTE", "start": JAN, "end": date(2026, 2, 10)}]
    night(con, FEB, feb_loans, feb_plan, ended, disputes)
    feb = reported(con, FEB.replace(day=1))

    mar_plan = [row for row in feb_plan if row["loan_id"] != "CURE"]
    mar_plan += [
        paid_in_full("CURE", JAN - timedelta(days=45)),
        overdue("CURE", MAR, 40, installment_no=2),
    ]
    night(con, MAR, feb_loans, mar_plan)
    mar = reported(con, MAR.replace(day=1))
    yield {"jan": jan, "feb": feb, "mar": mar}
    con.close()


@pytest.mark.parametrize(("dpd", "char", "status"), BANDS)
def test_status_character_and_account_status_at_each_band_edge(months, dpd, char, status):
    row = months["jan"][f"B{dpd:03d}"]
    assert row["dpd"] == dpd
    assert (row["status_char"], row["account_status"]) == (char, status)
    assert row["repayment_status_24m"] == "#" * 23 + char
    # Metro 2 month code: 0 below 30 dpd, then one digit per 30 days up to 6
    assert row["metro2_history_24m"][-1] == str(min(6, dpd // 30) if dpd >= 30 else 0)


def test_amount_past_due_is_zero_while_the_status_is_11(months):
    current = months["jan"]["B029"]
    assert current["account_status"] == "11" and current["overdue_total"] > 0
    assert current["amount_past_due"] == 0 and current["first_delinquency_date"] is None
    late = months["jan"]["B030"]
    assert late["amount_past_due"] == late["overdue_total"] > 0


def test_paid_as_due_is_N_nothing_due_is_star(months):
    assert months["jan"]["PAID"]["status_char"] == "N"
    assert months["jan"]["QUIET"]["status_char"] == "*"
    assert months["jan"]["QUIET"]["due_this_month"] == 0
    paid = months["jan"]["PAID"]
    assert (paid["due_this_month"], paid["paid_this_month"]) == (Decimal("1050.00"),) * 2
    assert (paid["last_payment_date"], paid["last_payment_amount"]) == (
        date(2026, 1, 10),
        Decimal("1050.00"),
    )
    # the next month: paid since the previous report, nothing
    assert months["feb"]["PAID"]["paid_this_month"] == 0
    assert months["feb"]["PAID"]["last_payment_amount"] == Decimal("1050.00")
    # paid in December: not this month's payment, still the last one
    assert months["jan"]["QUIET"]["paid_this_month"] == 0
    assert months["jan"]["QUIET"]["last_payment_date"] == date(2025, 12, 10)


def test_the_month_a_loan_opens(months):
    row = months["jan"]["NEW"]
    assert row["repayment_status_24m"] == "/" * 23 + "*"
    assert row["payment_history_profile"] == "B" * 24
    # the month after: one month of history, the rest before the loan existed
    feb = months["feb"]["NEW"]
    assert feb["repayment_status_24m"] == "/" * 22 + "*N"
    assert feb["payment_history_profile"] == "0" + "B" * 23


def test_charged_off_is_B_and_97_with_a_balance_13_without(months):
    co, co0 = months["jan"]["CO"], months["jan"]["CO0"]
    assert (co["status_char"], co["account_status"]) == ("B", "97")
    assert co["original_charge_off_amount"] == co["balance"] > 0
    assert (co0["status_char"], co0["account_status"]) == ("B", "13")
    assert months["feb"]["CO"]["repayment_status_24m"].endswith("BB")


def test_closed_is_reported_once_and_a_loan_off_the_book_is_closed(months):
    shut = months["jan"]["SHUT"]
    assert (shut["status_char"], shut["account_status"], shut["balance"]) == ("C", "13", 0)
    assert shut["date_closed"] == date(2026, 1, 12)
    assert "SHUT" not in months["feb"] and "SHUT" not in months["mar"]
    gone = months["feb"]["GONE"]
    assert (gone["status_char"], gone["account_status"], gone["status"]) == ("C", "13", "GONE")
    assert gone["date_closed"] == JAN and gone["repayment_status_24m"].endswith("NC")
    assert "GONE" not in months["mar"]


def test_first_delinquency_kept_cleared_and_set_anew(months):
    start = JAN - timedelta(days=45) + timedelta(days=1)
    assert months["jan"]["KEEP"]["first_delinquency_date"] == start
    assert months["feb"]["KEEP"]["dpd"] == 45 + 28
    assert months["feb"]["KEEP"]["first_delinquency_date"] == start
    assert months["feb"]["KEEP"]["repayment_status_24m"].endswith("23")
    assert months["feb"]["KEEP"]["payment_history_profile"].startswith("1")
    assert months["jan"]["CURE"]["first_delinquency_date"] == start
    cured = months["feb"]["CURE"]
    assert (cured["account_status"], cured["first_delinquency_date"]) == ("11", None)
    again = months["mar"]["CURE"]
    assert again["account_status"] == "71"
    assert again["first_delinquency_date"] == MAR - timedelta(days=40) + timedelta(days=1)


def test_XB_while_a_dispute_is_open_removed_once_resolved(months):
    assert months["jan"]["HOLD"]["compliance_condition_code"] == "XB"
    assert months["jan"]["SAID"]["compliance_condition_code"] == "XB"
    assert months["jan"]["KEEP"]["compliance_condition_code"] is None
    assert months["feb"]["HOLD"]["compliance_condition_code"] is None
    assert months["feb"]["SAID"]["compliance_condition_code"] is None


def test_the_strings_grow_by_one_character_a_month(months):
    for loan_id, row in months["mar"].items():
        assert len(row["repayment_status_24m"]) == 24, loan_id
        assert len(row["payment_history_profile"]) == 24, loan_id
        before = months["feb"].get(loan_id)
        if before is not None:
            assert row["repayment_status_24m"][:-1] == before["repayment_status_24m"][1:]
            assert row["payment_history_profile"][1:] == before["payment_history_profile"][:-1]
            assert row["payment_history_profile"][0] == before["metro2_history_24m"][-1]
