"""Transitions against each loan's previous snapshot, roll rates and kpi_daily over several days."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as M

import pytest
from aging_support import age, aging_rows, expect, installment, loan, paid_in_full, roll_rows

from arrears import commit, warehouse


@pytest.fixture
def con():
    connection = warehouse.connect(":memory:")
    yield connection
    connection.close()


def overdue_since(loan_id: str, snapshot_date: date, dpd: int, **values):
    """An unpaid installment that is `dpd` days past due at snapshot_date."""
    return installment(loan_id, snapshot_date - timedelta(days=dpd), **values)


def test_transitions_against_the_previous_snapshot(con):
    d1, d2 = date(2025, 6, 1), date(2025, 6, 2)
    # Day 1: STAYS at dpd 5, FORWARD at 30, BACK at 61 (two installments), CURES at 10, CLOSES.
    age(
        con,
        d1,
        [loan(i) for i in ("STAYS", "FORWARD", "BACK", "CURES", "CLOSES", "CURRENT")],
        [
            overdue_since("STAYS", d1, 5),
            overdue_since("FORWARD", d1, 30),
            overdue_since("BACK", d1, 61),
            overdue_since("BACK", d1, 31, installment_no=2),
            overdue_since("CURES", d1, 10),
            overdue_since("CLOSES", d1, 40),
        ],
    )
    # Day 2: BACK paid its oldest installment, CURES paid up, CLOSES closed, NEW appears.
    age(
        con,
        d2,
        [loan(i) for i in ("STAYS", "FORWARD", "BACK", "CURES", "CURRENT", "NEW")]
        + [loan("CLOSES", status="CLOSED")],
        [
            overdue_since("STAYS", d1, 5),
            overdue_since("FORWARD", d1, 30),
            paid_in_full("BACK", d1 - timedelta(days=61)),
            overdue_since("BACK", d1, 31, installment_no=2),
            paid_in_full("CURES", d1 - timedelta(days=10)),
            overdue_since("CLOSES", d1, 40),
        ],
    )
    expect(
        aging_rows(con, "dpd", "bucket", "previous_bucket", "previous_snapshot_date", "transition"),
        [
            ("BACK", 32, "M2", "M3", d1, "ROLL_BACK"),
            ("CLOSES", 0, "M0", "M2", d1, "CLOSED"),
            ("CURES", 0, "M0", "M1", d1, "CURE"),
            ("CURRENT", 0, "M0", "M0", d1, "STAY"),
            ("FORWARD", 31, "M2", "M1", d1, "ROLL_FORWARD"),
            ("NEW", 0, "M0", None, None, "NEW"),
            ("STAYS", 6, "M1", "M1", d1, "STAY"),
        ],
    )


def test_disappearing_loan_has_no_row_and_ends_absent_in_roll_rates(con):
    d1, d2 = date(2025, 6, 1), date(2025, 6, 2)
    age(
        con,
        d1,
        [
            loan("STAYS", outstanding_principal=M("100.00")),
            loan("GOES", outstanding_principal=M("300.00")),
            loan("WRITES_OFF", outstanding_principal=M("600.00")),
        ],
        [overdue_since(i, d1, 10) for i in ("STAYS", "GOES", "WRITES_OFF")],
    )
    age(
        con,
        d2,
        [
            loan("STAYS", outstanding_principal=M("100.00")),
            loan("WRITES_OFF", status="WRITTEN_OFF", outstanding_principal=M("0.00")),
        ],
        [overdue_since(i, d1, 10) for i in ("STAYS", "WRITES_OFF")],
    )
    expect(aging_rows(con, "transition"), [("STAYS", "STAY"), ("WRITES_OFF", "CLOSED")])
    expect(
        roll_rows(con),
        [
            (d1, "M1", "ABSENT", 1, M("300.00"), M("0.333333"), M("0.300000")),
            (d1, "M1", "M1", 1, M("100.00"), M("0.333333"), M("0.100000")),
            (d1, "M1", "WRITTEN_OFF", 1, M("600.00"), M("0.333333"), M("0.600000")),
        ],
    )
    # Closed or written-off loans of the earlier snapshot are not in any denominator.
    d3 = date(2025, 6, 3)
    age(
        con,
        d3,
        [loan("STAYS", outstanding_principal=M("100.00"))],
        [overdue_since("STAYS", d1, 10)],
    )
    expect(roll_rows(con), [(d2, "M1", "M1", 1, M("100.00"), M("1.000000"), M("1.000000"))])


def test_gap_of_several_days_between_snapshots(con):
    d1, d2 = date(2025, 6, 1), date(2025, 6, 10)
    book = [loan("L1"), loan("L2", outstanding_principal=M("0.00"))]
    schedule = [overdue_since("L1", d1, 25), overdue_since("L2", d1, 3)]
    age(con, d1, book, schedule)
    age(con, d2, book, schedule)
    expect(
        aging_rows(con, "dpd", "bucket", "previous_bucket", "previous_snapshot_date", "transition"),
        [("L1", 34, "M2", "M1", d1, "ROLL_FORWARD"), ("L2", 12, "M1", "M1", d1, "STAY")],
    )
    expect(
        roll_rows(con),
        [
            (d1, "M1", "M1", 1, M("0.00"), M("0.500000"), M("0.000000")),
            (d1, "M1", "M2", 1, M("6000.00"), M("0.500000"), M("1.000000")),
        ],
    )


def test_loan_back_after_missing_days_compares_with_its_own_last_snapshot(con):
    d1, d2, d3 = date(2025, 6, 1), date(2025, 6, 2), date(2025, 6, 3)
    age(con, d1, [loan("L1"), loan("L2")], [overdue_since("L1", d1, 40)])
    age(con, d2, [loan("L2")], [])
    age(con, d3, [loan("L1"), loan("L2")], [overdue_since("L1", d1, 40)])
    expect(
        aging_rows(con, "dpd", "previous_bucket", "previous_snapshot_date", "transition"),
        [("L1", 42, "M2", d1, "STAY"), ("L2", 0, "M0", d2, "STAY")],
    )
    # The day roll rate looks at d2 only, where L1 was absent: L1 is not in it.
    expect(roll_rows(con), [(d2, "M0", "M0", 1, M("6000.00"), M("1.000000"), M("1.000000"))])


def test_balance_share_is_null_when_the_bucket_holds_no_balance(con):
    d1, d2 = date(2025, 6, 1), date(2025, 6, 2)
    book = [loan("L1", outstanding_principal=M("0.00"))]
    age(con, d1, book, [])
    age(con, d2, book, [])
    expect(roll_rows(con), [(d1, "M0", "M0", 1, M("0.00"), M("1.000000"), None)])


def test_month_roll_rates_only_at_month_end_against_the_previous_month_end(con):
    may_end, june_29, june_end = date(2025, 5, 31), date(2025, 6, 29), date(2025, 6, 30)
    book = [loan("L1")]
    age(con, may_end, book, [])  # current at the end of May
    age(con, june_29, book, [installment("L1", date(2025, 6, 10))])
    assert roll_rows(con, "MONTH").height == 0  # 29 June is no month end

    age(con, june_end, book, [installment("L1", date(2025, 6, 10))])
    expect(
        roll_rows(con, "DAY"),
        [(june_29, "M1", "M1", 1, M("6000.00"), M("1.000000"), M("1.000000"))],
    )
    expect(
        roll_rows(con, "MONTH"),
        [(may_end, "M0", "M1", 1, M("6000.00"), M("1.000000"), M("1.000000"))],
    )


def test_no_month_roll_rate_when_the_previous_month_end_is_missing(con):
    book = [loan("L1")]
    age(con, date(2025, 4, 30), book, [])
    age(con, date(2025, 6, 30), book, [])
    assert roll_rows(con, "MONTH").height == 0
    assert roll_rows(con, "DAY")["previous_snapshot_date"].to_list() == [date(2025, 4, 30)]


def test_rerun_of_a_committed_date_gives_the_same_results(con):
    d1, d2 = date(2025, 6, 1), date(2025, 6, 2)
    book = [loan("L1"), loan("L2")]
    schedule = [overdue_since("L1", d1, 30)]
    age(con, d1, book, schedule)
    age(con, d2, book, schedule)
    first = {
        t: con.sql(f"select * from work.{t} order by all").pl()
        for t in ("loan_aging", "kpi_daily", "roll_rates")
    }
    age(con, d2, book, schedule)  # marts now hold d2 as well: it must not count as history
    from polars.testing import assert_frame_equal

    for table, frame in first.items():
        assert_frame_equal(con.sql(f"select * from work.{table} order by all").pl(), frame)


def test_the_commit_stores_a_night_of_loan_aging_by_status_and_days_past_due(con):
    # The stored order is what compresses (commit.STORED_ORDER): neither the landed order
    # (L3, L1, L2, L4) nor the loans' (L1 .. L4).
    d = date(2025, 6, 1)
    book = [loan("L3"), loan("L1"), loan("L2", status="CLOSED"), loan("L4")]
    age(con, d, book, [overdue_since("L3", d, 30), overdue_since("L4", d, 5)], commit=False)
    commit.commit(con, d)
    stored = con.execute(
        "select loan_id, status, dpd from marts.loan_aging where snapshot_date = $d order by rowid",
        {"d": d},
    ).fetchall()
    assert stored == [
        ("L1", "ACTIVE", 0),
        ("L4", "ACTIVE", 5),
        ("L3", "ACTIVE", 30),
        ("L2", "CLOSED", 0),
    ]


def test_kpi_daily_counts_buckets_balances_and_arrivals(con):
    d1, d2 = date(2025, 6, 1), date(2025, 6, 2)
    age(
        con,
        d1,
        [loan("CURES"), loan("FORWARD"), loan("STAYS")],
        [
            overdue_since("CURES", d1, 3),
            overdue_since("FORWARD", d1, 30),
            overdue_since("STAYS", d1, 100),
        ],
    )
    age(
        con,
        d2,
        [
            loan("CURES"),
            loan("FORWARD"),
            loan("STAYS"),
            loan("NEW", outstanding_principal=M("1.50")),
            loan("GONE", status="CLOSED"),
        ],
        [
            paid_in_full("CURES", d1 - timedelta(days=3)),
            overdue_since("FORWARD", d1, 30),
            overdue_since("STAYS", d1, 100),
        ],
    )
    kpi = con.sql("select * exclude (snapshot_date) from work.kpi_daily").pl()
    expect(
        kpi,
        [
            ("M0", 2, M("6001.50"), M("0.00"), 1, 1, 0),
            ("M1", 0, M("0.00"), M("0.00"), 0, 0, 0),
            ("M2", 1, M("6000.00"), M("1050.00"), 0, 0, 1),
            ("M3", 0, M("0.00"), M("0.00"), 0, 0, 0),
            ("M4", 1, M("6000.00"), M("1050.00"), 0, 0, 0),
            ("M5", 0, M("0.00"), M("0.00"), 0, 0, 0),
            ("M6", 0, M("0.00"), M("0.00"), 0, 0, 0),
            ("M7", 0, M("0.00"), M("0.00"), 0, 0, 0),
        ],
    )
    # The cure rate of docs/aging.md, from the day roll rates: delinquent at d1, M0 at d2.
    cure_rate = con.execute(
        "select sum(loans) filter (where to_bucket = 'M0') / sum(loans) from work.roll_rates "
        "where period = 'DAY' and from_bucket <> 'M0'"
    ).fetchone()[0]
    assert cure_rate == pytest.approx(1 / 3)
