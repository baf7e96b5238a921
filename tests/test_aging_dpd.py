"""dpd, overdue amounts and classes at every edge of CONTRACT section 3 (given / expect rows)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as M

import pytest
from aging_support import age, aging_rows, expect, installment, loan, paid_in_full

from arrears import warehouse

D = date(2025, 6, 30)


@pytest.fixture
def con():
    connection = warehouse.connect(":memory:")
    yield connection
    connection.close()


def test_unpaid_at_end_of_due_date_is_dpd_0_that_day_and_1_the_next(con):
    book = [loan("L1")]
    schedule = [
        installment("L1", date(2025, 6, 30)),
        installment("L1", date(2025, 7, 30), installment_no=2),
    ]

    age(con, date(2025, 6, 30), book, schedule)
    expect(
        aging_rows(
            con,
            "dpd",
            "bucket",
            "oldest_unpaid_due_date",
            "overdue_amount",
            "next_due_date",
            "next_due_amount",
        ),
        [("L1", 0, "M0", None, M("0.00"), date(2025, 6, 30), M("1050.00"))],
    )

    age(con, date(2025, 7, 1), book, schedule)
    expect(
        aging_rows(
            con,
            "dpd",
            "bucket",
            "oldest_unpaid_due_date",
            "overdue_amount",
            "next_due_date",
            "next_due_amount",
            "transition",
        ),
        [
            (
                "L1",
                1,
                "M1",
                date(2025, 6, 30),
                M("1050.00"),
                date(2025, 7, 30),
                M("1050.00"),
                "ROLL_FORWARD",
            )
        ],
    )


def test_unpaid_exactly_at_tolerance_is_not_overdue_one_cent_above_is(con):
    due = date(2025, 6, 1)
    age(
        con,
        D,
        [loan("AT"), loan("ABOVE")],
        [
            # 1050.00 due, 1049.00 paid: 1.00 unpaid = the tolerance.
            installment("AT", due, principal_paid="999.00", interest_paid="50.00"),
            # 0.99 paid less: 1.01 unpaid, one cent above.
            installment("ABOVE", due, principal_paid="998.99", interest_paid="50.00"),
        ],
    )
    expect(
        aging_rows(con, "dpd", "bucket", "overdue_installments", "overdue_amount", "next_due_date"),
        [
            ("ABOVE", 29, "M1", 1, M("1.01"), None),
            ("AT", 0, "M0", 0, M("0.00"), None),
        ],
    )


def test_partial_payment_keeps_the_clock_of_its_due_date(con):
    due = date(2025, 5, 1)
    age(
        con,
        D,
        [loan("L1")],
        [
            installment("L1", due, principal_paid="600.00", last_payment_date=date(2025, 6, 25)),
            installment("L1", date(2025, 7, 1), installment_no=2),
        ],
    )
    expect(
        aging_rows(
            con,
            "dpd",
            "bucket",
            "oldest_unpaid_due_date",
            "overdue_principal_amount",
            "overdue_interest_amount",
            "overdue_amount",
            "paid_to_date_amount",
            "last_payment_date",
        ),
        [
            (
                "L1",
                60,
                "M2",
                due,
                M("400.00"),
                M("50.00"),
                M("450.00"),
                M("600.00"),
                date(2025, 6, 25),
            )
        ],
    )


def test_later_installment_paid_while_earlier_one_is_not(con):
    age(
        con,
        D,
        [loan("L1")],
        [
            installment("L1", date(2025, 4, 30)),
            paid_in_full("L1", date(2025, 5, 31), installment_no=2),
        ],
    )
    expect(
        aging_rows(
            con, "dpd", "bucket", "overdue_installments", "overdue_amount", "paid_to_date_amount"
        ),
        [("L1", 61, "M3", 1, M("1050.00"), M("1050.00"))],
    )


def test_several_overdue_installments_count_from_the_oldest_and_add_up(con):
    age(
        con,
        D,
        [loan("L1")],
        [
            installment("L1", date(2025, 3, 31), fee_due="10.00", penalty_due="5.00"),
            installment(
                "L1", date(2025, 4, 30), installment_no=2, penalty_due="5.00", penalty_paid="2.00"
            ),
            installment("L1", date(2025, 5, 31), installment_no=3),
            installment("L1", date(2025, 6, 30), installment_no=4),
        ],
    )
    expect(
        aging_rows(
            con,
            "dpd",
            "bucket",
            "aging_term",
            "loan_class",
            "ifrs9_stage",
            "overdue_installments",
            "overdue_principal_amount",
            "overdue_interest_amount",
            "overdue_fees_amount",
            "overdue_amount",
            "next_due_date",
            "next_due_amount",
        ),
        [
            (
                "L1",
                91,
                "M4",
                "LONG",
                "SUBSTANDARD",
                3,
                3,
                M("3000.00"),
                M("150.00"),
                M("18.00"),
                M("3168.00"),
                D,
                M("1050.00"),
            )
        ],
    )


def test_overpayment_never_makes_unpaid_negative_nor_pays_another_installment(con):
    age(
        con,
        D,
        [loan("OVER"), loan("PART")],
        [
            # 1200 paid on a 1050 installment: unpaid 0, not -150; the next one stays overdue.
            installment("OVER", date(2025, 5, 31), principal_paid="1150.00", interest_paid="50.00"),
            installment("OVER", date(2025, 6, 15), installment_no=2),
            # interest overpaid inside one installment: total unpaid 0, so not overdue.
            installment("PART", date(2025, 5, 31), principal_paid="900.00", interest_paid="150.00"),
        ],
    )
    expect(
        aging_rows(con, "dpd", "overdue_installments", "overdue_amount", "paid_to_date_amount"),
        [
            ("OVER", 15, 1, M("1050.00"), M("1200.00")),
            ("PART", 0, 0, M("0.00"), M("1050.00")),
        ],
    )


def test_overdue_parts_are_floored_each_and_total_is_the_installment_unpaid(con):
    # Interest overpaid by 40 while 100 of principal is open: the total owed is 60, the
    # principal part shows 100 and the interest part 0 (parts are floored one by one).
    age(
        con,
        D,
        [loan("L1")],
        [installment("L1", date(2025, 6, 1), principal_paid="900.00", interest_paid="90.00")],
    )
    expect(
        aging_rows(
            con,
            "dpd",
            "overdue_principal_amount",
            "overdue_interest_amount",
            "overdue_fees_amount",
            "overdue_amount",
        ),
        [("L1", 29, M("100.00"), M("0.00"), M("0.00"), M("60.00"))],
    )


def test_closed_and_written_off_are_not_aged_charged_off_keeps_ageing(con):
    schedule = [
        installment(loan_id, date(2025, 1, 31))
        for loan_id in ("CLOSED", "WRITTEN_OFF", "CHARGED_OFF")
    ]
    age(
        con,
        D,
        [
            loan("CLOSED", status="CLOSED", source_dpd=150),
            loan("WRITTEN_OFF", status="WRITTEN_OFF"),
            loan("CHARGED_OFF", status="CHARGED_OFF", source_dpd=150),
        ],
        schedule,
    )
    expect(
        aging_rows(
            con,
            "status",
            "is_aged",
            "dpd",
            "bucket",
            "loan_class",
            "transition",
            "overdue_installments",
            "overdue_amount",
            "next_due_date",
            "has_source_dpd_mismatch",
        ),
        [
            (
                "CHARGED_OFF",
                "CHARGED_OFF",
                True,
                150,
                "M5",
                "SUBSTANDARD",
                "NEW",
                1,
                M("1050.00"),
                None,
                False,
            ),
            ("CLOSED", "CLOSED", False, 0, "M0", "NORMAL", "CLOSED", 0, M("0.00"), None, False),
            (
                "WRITTEN_OFF",
                "WRITTEN_OFF",
                False,
                0,
                "M0",
                "NORMAL",
                "CLOSED",
                0,
                M("0.00"),
                None,
                False,
            ),
        ],
    )


def test_loan_appearing_200_days_late_is_new_in_the_last_bucket(con):
    due = date(2024, 12, 12)  # D - 200 days
    age(
        con,
        D,
        [loan("CARD", product="credit_card"), loan("CONSUMER")],
        [installment("CARD", due), installment("CONSUMER", due)],
    )
    expect(
        aging_rows(
            con,
            "dpd",
            "bucket",
            "aging_term",
            "loan_class",
            "ifrs9_stage",
            "transition",
            "previous_bucket",
            "previous_snapshot_date",
        ),
        [
            ("CARD", 200, "M7", "LONG", "LOSS", 3, "NEW", None, None),
            ("CONSUMER", 200, "M7", "LONG", "SUBSTANDARD", 3, "NEW", None, None),
        ],
    )


@pytest.mark.parametrize(
    ("dpd", "bucket", "aging_term", "consumer_class", "card_class", "ifrs9_stage"),
    [
        (0, "M0", "NONE", "NORMAL", "NORMAL", 1),
        (1, "M1", "SHORT", "SPECIAL_MENTION", "SPECIAL_MENTION", 1),
        (30, "M1", "SHORT", "SPECIAL_MENTION", "SPECIAL_MENTION", 1),
        (31, "M2", "MEDIUM", "SPECIAL_MENTION", "SPECIAL_MENTION", 2),
        (90, "M3", "MEDIUM", "SPECIAL_MENTION", "SPECIAL_MENTION", 2),
        (91, "M4", "LONG", "SUBSTANDARD", "SUBSTANDARD", 3),
        (120, "M4", "LONG", "SUBSTANDARD", "SUBSTANDARD", 3),
        (121, "M5", "LONG", "SUBSTANDARD", "DOUBTFUL", 3),
        (180, "M6", "LONG", "SUBSTANDARD", "DOUBTFUL", 3),
        (181, "M7", "LONG", "SUBSTANDARD", "LOSS", 3),
        (270, "M7", "LONG", "SUBSTANDARD", "LOSS", 3),
        (271, "M7", "LONG", "DOUBTFUL", "LOSS", 3),
        (360, "M7", "LONG", "DOUBTFUL", "LOSS", 3),
        (361, "M7", "LONG", "LOSS", "LOSS", 3),
    ],
)
def test_range_boundaries_of_the_default_tables(
    con, dpd, bucket, aging_term, consumer_class, card_class, ifrs9_stage
):
    from datetime import timedelta

    due = D - timedelta(days=dpd)
    age(
        con,
        D,
        [loan("CARD", product="credit_card"), loan("CONSUMER")],
        [installment("CARD", due), installment("CONSUMER", due)],
    )
    expect(
        aging_rows(con, "dpd", "bucket", "aging_term", "loan_class", "ifrs9_stage"),
        [
            ("CARD", dpd, bucket, aging_term, card_class, ifrs9_stage),
            ("CONSUMER", dpd, bucket, aging_term, consumer_class, ifrs9_stage),
        ],
    )


def test_source_dpd_is_compared_and_flagged_never_used(con):
    age(
        con,
        D,
        [loan("AGREES", source_dpd=30), loan("DIFFERS", source_dpd=5), loan("NONE")],
        [
            installment("AGREES", date(2025, 5, 31)),
            installment("DIFFERS", date(2025, 5, 31)),
            installment("NONE", date(2025, 5, 31)),
        ],
    )
    expect(
        aging_rows(con, "dpd", "source_dpd", "has_source_dpd_mismatch"),
        [("AGREES", 30, 30, False), ("DIFFERS", 30, 5, True), ("NONE", 30, None, False)],
    )


def test_loan_without_installments_is_current(con):
    age(con, D, [loan("L1")], [])
    expect(
        aging_rows(con, "dpd", "bucket", "overdue_amount", "paid_to_date_amount", "next_due_date"),
        [("L1", 0, "M0", M("0.00"), M("0.00"), None)],
    )


def test_several_installments_due_on_the_next_date_add_up(con):
    age(
        con,
        D,
        [loan("L1")],
        [
            installment("L1", date(2025, 7, 15)),
            installment(
                "L1",
                date(2025, 7, 15),
                installment_no=2,
                principal_due="200.00",
                interest_due="0.00",
                principal_paid="50.00",
            ),
            installment("L1", date(2025, 8, 15), installment_no=3),
        ],
    )
    expect(
        aging_rows(con, "dpd", "next_due_date", "next_due_amount"),
        [("L1", 0, date(2025, 7, 15), M("1200.00"))],
    )


def test_refuses_work_tables_of_another_date(con):
    from aging_support import CONFIG, given

    from arrears.aging import build_aging
    from arrears.errors import ArrearsError

    given(con, date(2025, 6, 29), [loan("L1")], [])
    with pytest.raises(ArrearsError, match="work.loans holds 1 rows of another date"):
        build_aging(con, D, CONFIG)


def test_results_have_exactly_the_mart_columns(con):
    age(con, D, [loan("L1")], [installment("L1", date(2025, 6, 1))], commit=False)
    for table in ("loan_aging", "kpi_daily", "roll_rates"):
        mart = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = $t order by ordinal_position",
            {"t": table},
        ).fetchall()
        work = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'work' and table_name = $t order by ordinal_position",
            {"t": table},
        ).fetchall()
        assert work == mart, table
