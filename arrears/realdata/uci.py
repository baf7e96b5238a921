"""The UCI "Default of Credit Card Clients" file as six month-end landing folders.

See docs/real-data.md.

Each of the 30,000 accounts becomes one credit_card loan of one customer. For every month end
from 2005-04-30 to 2005-09-30 the converter writes the state of the book the way a card system
would report it: the monthly statements since September 2004 (each due on the 15th) and the
coming one, with what is paid. The repayment status of the month (PAY_x) decides what is paid:

  status k >= 1 (payment delay of k months): the statements of the last k months are unpaid,
      so the oldest unpaid one is k months old and its dpd falls in bucket M_k (M7 for 7 and 8);
  status -2, -1, 0 (no consumption, paid in full, minimum paid): every past statement is paid.

A paid statement of a month of the file is settled by that month's payment (PAY_AMT), at least
its minimum; the credit limit (LIMIT_BAL) is the loan's principal_amount.

Each month end is a full snapshot of its own: the file gives one status per month, and those
statuses do not always chain (2 in August after 0 in July is common), so the schedule is not
carried from one month to the next.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from arrears.contract import CUSTOMERS, INSTALLMENTS, LOANS

# Month ends of the file, oldest first, with the columns that describe each month.
# The payment made in the month (PAY_AMT) settles that month's statement.
MONTHS: tuple[tuple[date, str, str, str], ...] = (
    (date(2005, 4, 30), "PAY_6", "BILL_AMT6", "PAY_AMT6"),
    (date(2005, 5, 31), "PAY_5", "BILL_AMT5", "PAY_AMT5"),
    (date(2005, 6, 30), "PAY_4", "BILL_AMT4", "PAY_AMT4"),
    (date(2005, 7, 31), "PAY_3", "BILL_AMT3", "PAY_AMT3"),
    (date(2005, 8, 31), "PAY_2", "BILL_AMT2", "PAY_AMT2"),
    (date(2005, 9, 30), "PAY_0", "BILL_AMT1", "PAY_AMT1"),
)
SNAPSHOT_DATES: tuple[date, ...] = tuple(d for d, _, _, _ in MONTHS)

DUE_DAY = 15
# Statements listed per snapshot: every one since the 7 months before April (status 8 = "eight
# months or more" in April reaches back that far) + the coming one. The same statements keep the
# same number and amounts from one snapshot to the next, so what is paid to date only grows.
PAST_STATEMENTS = 8
MAX_STATUS = 8
# Minimum payment of a statement: 10 % of the month's statement balance, at least 100.00.
MINIMUM_RATE_PERCENT = 10
MINIMUM_PAYMENT_CENTS = 10_000
ORIGINATION_DATE = date(2004, 1, 1)


def loan_id(account: int) -> str:
    return f"UCI-{account:05d}"


def customer_id(account: int) -> str:
    return f"UCI-C{account:05d}"


def statement_due_date(snapshot_date: date, months_back: int) -> date:
    """The due date of the statement `months_back` months before the snapshot month (0 = same)."""
    index = snapshot_date.year * 12 + snapshot_date.month - 1 - months_back
    return date(index // 12, index % 12 + 1, DUE_DAY)


def _loan_id() -> pl.Expr:
    return pl.format("UCI-{}", pl.col("ID").cast(pl.String).str.zfill(5))


def _customer_id() -> pl.Expr:
    return pl.format("UCI-C{}", pl.col("ID").cast(pl.String).str.zfill(5))


def _money(cents: pl.Expr) -> pl.Expr:
    """Exact text with two decimals from integer cents (never through floats)."""
    return pl.format(
        "{}{}.{}",
        pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (cents.abs() // 100).cast(pl.String),
        (cents.abs() % 100).cast(pl.String).str.zfill(2),
    )


def read_accounts(csv_path: Path) -> pl.DataFrame:
    accounts = pl.read_csv(csv_path, infer_schema_length=0)
    columns = ["ID", "LIMIT_BAL"] + [c for _, *month in MONTHS for c in month]
    return accounts.select(pl.col(c).cast(pl.Int64) for c in columns)


def _snapshot(accounts: pl.DataFrame, index: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    snapshot_date, pay, bill, _ = MONTHS[index]
    balance_cents = pl.max_horizontal(pl.col(bill), pl.lit(0)) * 100
    loans = accounts.select(
        _loan_id().alias("loan_id"),
        _customer_id().alias("customer_id"),
        pl.lit("credit_card").alias("product"),
        pl.lit("TW").alias("branch"),
        pl.lit("TWD").alias("currency"),
        pl.lit(ORIGINATION_DATE.isoformat()).alias("origination_date"),
        pl.lit(None, dtype=pl.String).alias("maturity_date"),
        _money(pl.col("LIMIT_BAL") * 100).alias("principal_amount"),
        _money(balance_cents).alias("outstanding_principal"),
        pl.lit("ACTIVE").alias("status"),
        pl.lit(None, dtype=pl.String).alias("source_dpd"),
    )

    # Statement s is due `back` months before the snapshot month (back = -1: the coming one).
    # Its minimum payment uses the balance of its own month, or April's before the file starts;
    # the coming one uses the snapshot month's: next month's balance is not known at D.
    # A statement the status says is paid was settled by its month's payment (PAY_AMT), or by
    # the minimum when the file shows less or starts later: that amount is both due and paid, as
    # the schedule knows no overpayment. An unpaid statement owes its minimum.
    statements = []
    oldest = PAST_STATEMENTS - 1 + index
    for number, back in enumerate(range(oldest, -2, -1), start=1):
        own_month = max(index - max(back, 0), 0)
        own_bill = MONTHS[own_month][2]
        due = statement_due_date(snapshot_date, back)
        minimum = pl.max_horizontal(
            pl.max_horizontal(pl.col(own_bill), pl.lit(0)) * MINIMUM_RATE_PERCENT,
            pl.lit(MINIMUM_PAYMENT_CENTS),
        )
        settled = (
            pl.max_horizontal(minimum, pl.col(MONTHS[index - back][3]) * 100)
            if 0 <= back <= index
            else minimum
        )
        # Unpaid when in the future, or among the last `status` statements of a delayed account.
        unpaid = pl.lit(back < 0) | (pl.col(pay).clip(upper_bound=MAX_STATUS) > back)
        statements.append(
            accounts.select(
                pl.col("ID"),
                _loan_id().alias("loan_id"),
                pl.lit(number).alias("installment_no"),
                pl.lit(due.isoformat()).alias("due_date"),
                _money(pl.when(unpaid).then(minimum).otherwise(settled)).alias("principal_due"),
                pl.lit("0.00").alias("interest_due"),
                pl.lit("0.00").alias("fee_due"),
                pl.lit("0.00").alias("penalty_due"),
                _money(pl.when(unpaid).then(0).otherwise(settled)).alias("principal_paid"),
                pl.lit("0.00").alias("interest_paid"),
                pl.lit("0.00").alias("fee_paid"),
                pl.lit("0.00").alias("penalty_paid"),
                pl.when(unpaid)
                .then(pl.lit(None, dtype=pl.String))
                .otherwise(pl.lit(due.isoformat()))
                .alias("last_payment_date"),
            )
        )
    installments = pl.concat(statements).sort("ID", "installment_no").drop("ID")
    return loans, installments


def _customers(accounts: pl.DataFrame) -> pl.DataFrame:
    # Synthetic, non-identifying: the file has no names; demographics are not carried over.
    ids = accounts.select(pl.col("ID"))
    return ids.select(
        _customer_id().alias("customer_id"),
        pl.format("Cardholder {}", pl.col("ID").cast(pl.String).str.zfill(5)).alias("full_name"),
        *(
            pl.lit(None, dtype=pl.String).alias(c.name)
            for c in CUSTOMERS.columns
            if c.name not in ("customer_id", "full_name")
        ),
    ).with_columns(pl.lit("Asia/Taipei").alias("timezone"), pl.lit("zh").alias("language"))


def convert_uci(csv_path: Path | str, landing: Path | str) -> list[date]:
    """Write landing/<month end>/{loans,installments,customers}.csv for the six months.

    Returns the snapshot dates written, oldest first.
    """
    accounts = read_accounts(Path(csv_path))
    landing = Path(landing)
    customers = _customers(accounts)
    for index, snapshot_date in enumerate(SNAPSHOT_DATES):
        folder = landing / snapshot_date.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        loans, installments = _snapshot(accounts, index)
        loans.select(LOANS.column_names).write_csv(folder / "loans.csv")
        installments.select(INSTALLMENTS.column_names).write_csv(folder / "installments.csv")
        customers.select(CUSTOMERS.column_names).write_csv(folder / "customers.csv")
    return list(SNAPSHOT_DATES)
