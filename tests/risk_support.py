"""A committed aging history with a known driver of roll-forward, written straight into
marts.loan_aging (no landing, no nightly run): each loan has a hidden riskiness that sets how
often it falls behind and how seldom it cures, so a model of the history can find it."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import duckdb
import numpy as np
import polars as pl

BUCKETS = ((0, "M0"), (1, "M1"), (31, "M2"), (61, "M3"), (91, "M4"), (121, "M5"), (151, "M6"))


def _bucket(dpd: int) -> str:
    label = "M7"
    for low, name in reversed(BUCKETS):
        if dpd >= low:
            return name
    return label


def dpd_paths(loans: int, nights: int, step_days: int, seed: int) -> np.ndarray:
    """dpd of each loan (rows) at each night (columns)."""
    rng = np.random.default_rng(seed)
    risk = rng.uniform(size=loans)
    dpd = np.zeros((loans, nights), dtype=np.int64)
    for t in range(1, nights):
        before = dpd[:, t - 1]
        falls = rng.uniform(size=loans) < (0.005 + 0.08 * risk**2) * step_days / 7
        cures = rng.uniform(size=loans) < 0.35 * (1 - risk)
        dpd[:, t] = np.where(
            before == 0,
            np.where(falls, rng.integers(1, step_days + 1, size=loans), 0),
            np.where(cures, 0, before + step_days),
        )
    return dpd


def write_history(
    con: duckdb.DuckDBPyConnection,
    loans: int,
    first: date,
    nights: int,
    step_days: int = 7,
    seed: int = 7,
) -> list[date]:
    """marts.loan_aging for `nights` snapshots `step_days` apart; returns the dates."""
    dpd = dpd_paths(loans, nights, step_days, seed)
    dates = [first + timedelta(days=step_days * t) for t in range(nights)]
    balance = (np.arange(loans) % 97 + 3) * 500
    # a limit above the balance, not proportional to it, so utilisation varies by loan
    limit = balance + (np.arange(loans) % 13 + 1) * 1000
    frames = []
    for t, day in enumerate(dates):
        days = dpd[:, t]
        overdue = np.where(days > 0, (days // 30 + 1) * 300, 0)
        frames.append(
            pl.DataFrame(
                {
                    "snapshot_date": [day] * loans,
                    "loan_id": [f"L{i:07d}" for i in range(loans)],
                    "customer_id": [f"C{i:07d}" for i in range(loans)],
                    "dpd": days,
                    "bucket": [_bucket(int(d)) for d in days],
                    "overdue_installments": np.where(days > 0, days // 30 + 1, 0),
                    "overdue_amount": overdue,
                    "outstanding_principal": balance,
                    "principal_amount": limit,
                    "paid_to_date_amount": 100 * t - np.minimum(days, 100 * t),
                    "last_payment_date": [
                        day - timedelta(days=int(d)) if d < 400 else None for d in days
                    ],
                    "status": ["ACTIVE"] * loans,
                }
            )
        )
    insert_aging(con, pl.concat(frames))
    return dates


def insert_aging(con: duckdb.DuckDBPyConnection, history: pl.DataFrame) -> None:
    """Rows of marts.loan_aging from `history`'s snapshot_date, loan_id, customer_id, status,
    dpd, bucket, overdue_installments, overdue_amount, outstanding_principal, principal_amount,
    paid_to_date_amount and last_payment_date; the other columns fixed."""
    con.register("history", history)
    con.execute(
        """
        insert into marts.loan_aging by name
        select
            snapshot_date, loan_id, customer_id,
            'cash_loan' as product, 'B1' as branch, 'CNY' as currency, status,
            status not in ('CLOSED', 'WRITTEN_OFF') as is_aged, dpd::integer as dpd, bucket,
            'NONE' as aging_term, 'NORMAL' as loan_class, 1 as ifrs9_stage, 'STAY' as transition,
            overdue_installments::integer as overdue_installments,
            overdue_amount::decimal(18,2) as overdue_principal_amount,
            0::decimal(18,2) as overdue_interest_amount,
            0::decimal(18,2) as overdue_fees_amount,
            overdue_amount::decimal(18,2) as overdue_amount,
            outstanding_principal::decimal(18,2) as outstanding_principal,
            paid_to_date_amount::decimal(18,2) as paid_to_date_amount,
            (snapshot_date + 10)::date as next_due_date,
            $due::decimal(18,2) as next_due_amount,
            last_payment_date,
            false as has_source_dpd_mismatch,
            principal_amount::decimal(18,2) as principal_amount
        from history
        """,
        {"due": Decimal("300.00")},
    )
    con.unregister("history")
