"""The UCI card file, converted and aged over its six month ends, agrees with its own PAY_x columns.

The expected side is computed here from the CSV alone (polars), without the converter.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from arrears import warehouse
from arrears.aging import load_aging_config
from arrears.realdata.load import age_landing
from arrears.realdata.uci import convert_uci

# The whole file, gzip-compressed (polars reads it as is); its README gives source and licence.
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "uci_taiwan_credit_card"
CSV = FIXTURE / "UCI_Credit_Card.csv.gz"
# (month end, status column, statement balance column), as the file's README describes them.
FILE_MONTHS = [
    (date(2005, 4, 30), "PAY_6", "BILL_AMT6"),
    (date(2005, 5, 31), "PAY_5", "BILL_AMT5"),
    (date(2005, 6, 30), "PAY_4", "BILL_AMT4"),
    (date(2005, 7, 31), "PAY_3", "BILL_AMT3"),
    (date(2005, 8, 31), "PAY_2", "BILL_AMT2"),
    (date(2005, 9, 30), "PAY_0", "BILL_AMT1"),
]


@pytest.fixture(scope="module")
def aged(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    landing = tmp_path_factory.mktemp("landing")
    dates = convert_uci(CSV, landing)
    assert dates == [d for d, _, _ in FILE_MONTHS]
    con = warehouse.connect(":memory:")
    age_landing(con, landing, dates, load_aging_config())
    yield con
    con.close()


def file_buckets() -> pl.DataFrame:
    """One row per account and month end: the bucket the PAY_x status says, and the balance."""
    accounts = pl.read_csv(CSV)
    months = []
    for snapshot_date, status, bill in FILE_MONTHS:
        months.append(
            accounts.select(
                pl.format("UCI-{}", pl.col("ID").cast(pl.String).str.zfill(5)).alias("loan_id"),
                pl.lit(snapshot_date).alias("snapshot_date"),
                # k months late -> M_k; M7 is 181+ days, so 7 and 8 months both land there.
                pl.when(pl.col(status) >= 1)
                .then(pl.format("M{}", pl.min_horizontal(pl.col(status), pl.lit(7))))
                .otherwise(pl.lit("M0"))
                .alias("bucket"),
                pl.max_horizontal(pl.col(bill), pl.lit(0)).alias("balance"),
            )
        )
    return pl.concat(months)


def share(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    if whole == 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def test_buckets_per_account_month_follow_pay_status(aged):
    expected = (
        file_buckets().select("loan_id", "snapshot_date", "bucket").sort("loan_id", "snapshot_date")
    )
    actual = aged.sql(
        "select loan_id, snapshot_date, bucket from marts.loan_aging "
        "order by loan_id, snapshot_date"
    ).pl()
    assert actual.height == 6 * 30_000
    assert_frame_equal(actual, expected)


def test_month_to_month_roll_rates_follow_pay_status(aged):
    buckets = file_buckets()
    rows = []
    for (before, _, _), (after, _, _) in zip(FILE_MONTHS, FILE_MONTHS[1:], strict=False):
        pairs = (
            buckets.filter(pl.col("snapshot_date") == before)
            .join(buckets.filter(pl.col("snapshot_date") == after), on="loan_id", suffix="_after")
            .group_by("bucket", "bucket_after")
            .agg(pl.len().alias("loans"), pl.col("balance").sum())
        )
        totals = pairs.group_by("bucket").agg(
            pl.col("loans").sum().alias("from_loans"), pl.col("balance").sum().alias("from_balance")
        )
        for row in pairs.join(totals, on="bucket").iter_rows(named=True):
            rows.append(
                (
                    after,
                    before,
                    row["bucket"],
                    row["bucket_after"],
                    row["loans"],
                    Decimal(row["balance"]).quantize(Decimal("0.01")),
                    share(row["loans"], row["from_loans"]),
                    share(row["balance"], row["from_balance"]),
                )
            )
    query = (
        "select snapshot_date, previous_snapshot_date, from_bucket, to_bucket, loans, balance, "
        "loan_share, balance_share from marts.roll_rates where period = $period "
        "order by snapshot_date, from_bucket, to_bucket"
    )
    month = aged.sql(query, params={"period": "MONTH"}).pl()
    expected = pl.DataFrame(rows, schema=month.schema, orient="row").sort(
        "snapshot_date", "from_bucket", "to_bucket"
    )
    assert_frame_equal(month, expected)
    # Month-end snapshots only: the day roll rates compare the same pairs of dates.
    assert_frame_equal(aged.sql(query, params={"period": "DAY"}).pl(), expected)


def test_file_figures_ever_past_due_and_worst_delay(aged):
    # From the file's README: 10,069 accounts ever past due.
    ever = aged.execute(
        "select count(distinct loan_id) from marts.loan_aging where dpd > 0"
    ).fetchone()[0]
    assert ever == 10_069
    # Transitions are consistent with the buckets: no NEW after the first month.
    new_later = aged.execute(
        "select count(*) from marts.loan_aging where transition = 'NEW' "
        "and snapshot_date > date '2005-04-30'"
    ).fetchone()[0]
    assert new_later == 0


def test_limit_and_payments_reach_the_marts(aged):
    """The credit limit is the loan's principal; a month's payment (PAY_AMT) settles that
    month's statement, at least its minimum (10 % of the bill, at least 100): between two month
    ends at which the account is current, what is paid to date grows by exactly that."""
    accounts = pl.read_csv(CSV)
    # (earlier month end, its status; later month end, its status, bill, payment)
    pairs = [
        (date(2005, 4, 30), "PAY_6", date(2005, 5, 31), "PAY_5", "BILL_AMT5", "PAY_AMT5"),
        (date(2005, 8, 31), "PAY_2", date(2005, 9, 30), "PAY_0", "BILL_AMT1", "PAY_AMT1"),
    ]
    for before, before_status, after, status, bill, paid in pairs:
        expected = (
            accounts.filter((pl.col(before_status) <= 0) & (pl.col(status) <= 0))
            .select(
                pl.format("UCI-{}", pl.col("ID").cast(pl.String).str.zfill(5)).alias("loan_id"),
                pl.col("LIMIT_BAL").cast(pl.Int64).alias("limit_amount"),
                pl.max_horizontal(
                    pl.col(paid) * 100,
                    pl.max_horizontal(pl.col(bill), pl.lit(0)) * 10,
                    pl.lit(10_000),
                )
                .cast(pl.Int64)
                .alias("paid_cents"),
            )
            .sort("loan_id")
        )
        query = (
            "select a.loan_id, a.principal_amount::bigint as limit_amount, "
            "((a.paid_to_date_amount - b.paid_to_date_amount) * 100)::bigint as paid_cents "
            "from marts.loan_aging as a inner join marts.loan_aging as b "
            "on b.loan_id = a.loan_id and b.snapshot_date = $before "
            "where a.snapshot_date = $after and a.dpd = 0 and b.dpd = 0 order by a.loan_id"
        )
        cursor = aged.cursor()  # its own connection: another test may hold a pending result
        try:
            got = cursor.sql(query, params={"before": before, "after": after}).pl()
        finally:
            cursor.close()
        assert got.height == expected.height > 20_000
        assert_frame_equal(got, expected)


def test_what_comes_due_next_is_known_at_the_month_end(aged):
    """The statement coming due at a month end is sized from that month's balance (10 %, at
    least 100), never from the next month's, which the month end cannot know: a model trained
    on the earlier months would otherwise see one month ahead (docs/real-data.md)."""
    accounts = pl.read_csv(CSV)
    for snapshot_date, _, bill in FILE_MONTHS:
        expected = accounts.select(
            pl.format("UCI-{}", pl.col("ID").cast(pl.String).str.zfill(5)).alias("loan_id"),
            pl.max_horizontal(pl.max_horizontal(pl.col(bill), pl.lit(0)) * 10, pl.lit(10_000))
            .cast(pl.Int64)
            .alias("due_cents"),
        ).sort("loan_id")
        cursor = aged.cursor()
        try:
            got = cursor.sql(
                "select loan_id, (next_due_amount * 100)::bigint as due_cents "
                "from marts.loan_aging where snapshot_date = $d order by loan_id",
                params={"d": snapshot_date},
            ).pl()
        finally:
            cursor.close()
        assert got.equals(expected), snapshot_date
