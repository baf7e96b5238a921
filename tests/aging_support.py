"""Given/expect helpers for the aging tests: tiny books written into work.*, results read back."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import polars as pl

from arrears import state, warehouse
from arrears.aging import AgingConfig, build_aging, load_aging_config

CONFIG = load_aging_config()

LOAN_DEFAULTS: dict[str, Any] = {
    "customer_id": "C1",
    "product": "consumer_loan",
    "branch": "BJ01",
    "currency": "CNY",
    "origination_date": date(2025, 1, 1),
    "maturity_date": None,
    "principal_amount": Decimal("12000.00"),
    "outstanding_principal": Decimal("6000.00"),
    "status": "ACTIVE",
    "source_dpd": None,
}

INSTALLMENT_DEFAULTS: dict[str, Any] = {
    "installment_no": 1,
    "principal_due": Decimal("1000.00"),
    "interest_due": Decimal("50.00"),
    "fee_due": Decimal("0.00"),
    "penalty_due": Decimal("0.00"),
    "principal_paid": Decimal("0.00"),
    "interest_paid": Decimal("0.00"),
    "fee_paid": Decimal("0.00"),
    "penalty_paid": Decimal("0.00"),
    "last_payment_date": None,
}


def money(value: str) -> Decimal:
    return Decimal(value)


def loan(loan_id: str, **values: Any) -> dict[str, Any]:
    return {"loan_id": loan_id, **LOAN_DEFAULTS, **values}


def installment(loan_id: str, due_date: date, **values: Any) -> dict[str, Any]:
    row = {"loan_id": loan_id, **INSTALLMENT_DEFAULTS, "due_date": due_date, **values}
    for key in ("principal_due", "interest_due", "fee_due", "penalty_due"):
        if isinstance(row[key], str):
            row[key] = Decimal(row[key])
    for key in ("principal_paid", "interest_paid", "fee_paid", "penalty_paid"):
        if isinstance(row[key], str):
            row[key] = Decimal(row[key])
    return row


def paid_in_full(loan_id: str, due_date: date, **values: Any) -> dict[str, Any]:
    """An installment of 1000 + 50 paid in full on its due date."""
    return installment(
        loan_id,
        due_date,
        principal_paid=Decimal("1000.00"),
        interest_paid=Decimal("50.00"),
        last_payment_date=due_date,
        **values,
    )


def given(
    con: duckdb.DuckDBPyConnection,
    snapshot_date: date,
    loans: list[dict[str, Any]],
    installments: list[dict[str, Any]],
) -> None:
    """Replace work.loans / work.installments by these rows, as ingest leaves them for D."""
    for dataset, rows in (("loans", loans), ("installments", installments)):
        con.execute(warehouse.work_table_ddl(dataset))
        columns = [c.name for c in warehouse.DATASETS[dataset].columns]
        if rows:
            con.executemany(
                f"insert into work.{dataset} values ({', '.join('?' * (len(columns) + 1))})",
                [[snapshot_date, *(row[c] for c in columns)] for row in rows],
            )


def age(
    con: duckdb.DuckDBPyConnection,
    snapshot_date: date,
    loans: list[dict[str, Any]],
    installments: list[dict[str, Any]],
    config: AgingConfig = CONFIG,
    commit: bool = True,
) -> dict[str, int]:
    """Age D and, like the run's commit step, replace partition D of the marts.

    The state a night reads is first derived from the marts committed so far (as an upgrade
    derives it), so the aging tests need not run the other steps of each night."""
    given(con, snapshot_date, loans, installments)
    state.rebuild(con, through=snapshot_date - timedelta(days=1))
    counts = build_aging(con, snapshot_date, config)
    if commit:
        with warehouse.transaction(con):
            for table in ("loan_aging", "kpi_daily", "roll_rates"):
                warehouse.replace_partition(
                    con, f"marts.{table}", f"work.{table}", "snapshot_date", snapshot_date
                )
    return counts


def aging_rows(con: duckdb.DuckDBPyConnection, *columns: str) -> pl.DataFrame:
    return con.sql(
        f"select loan_id, {', '.join(columns)} from work.loan_aging order by loan_id"
    ).pl()


def roll_rows(con: duckdb.DuckDBPyConnection, period: str = "DAY") -> pl.DataFrame:
    return con.sql(
        "select previous_snapshot_date, from_bucket, to_bucket, loans, balance, loan_share, "
        "balance_share from work.roll_rates where period = $period "
        "order by from_bucket, to_bucket",
        params={"period": period},
    ).pl()


def expect(actual: pl.DataFrame, rows: list[tuple[Any, ...]]) -> None:
    """actual must hold exactly these rows (in order), compared with assert_frame_equal."""
    from polars.testing import assert_frame_equal

    expected = pl.DataFrame(rows, schema=actual.schema, orient="row")
    assert_frame_equal(actual, expected)
