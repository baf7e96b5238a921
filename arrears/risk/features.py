"""The roll-forward model's features and labels.

Both are computed in SQL: tonight's by the model sql/intermediate/int_loans__risk_features.sql
(state and bounded windows), a committed night's by sql/risk/training_rows.sql (the marts of a
bounded range). FEATURES is the order the model sees them in; a saved model records its own list
(features.json) and scoring refuses a model that asks for a feature the night does not compute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import polars as pl

from arrears.errors import ConfigError
from arrears.sqlfiles import bind, sql_text

FEATURES: tuple[str, ...] = (
    "dpd",
    "dpd_30d_before",
    "dpd_60d_before",
    "dpd_90d_before",
    "months_delinquent",
    "broken_promises",
    "days_since_payment",
    "outstanding_principal",
    "overdue_amount",
    "overdue_installments",
    "next_due_amount",
    "paid_30d",
    "balance_change_30d",
    "balance_change_90d",
    "paid_90d",
    "paid_to_balance_30d",
    "principal_amount",
    "utilisation",
    "contacts_30d",
    "right_party_30d",
    "promises_30d",
    "unreached_30d",
)


@dataclass(frozen=True)
class Label:
    """A label `arrears train --label` can fit: its column in sql/risk/training_rows.sql, the
    prefix of the model versions fitted on it, and what the probability means."""

    column: str
    prefix: str
    target: str


LABELS: dict[str, Label] = {
    "roll_forward": Label(
        "rolled_forward",
        "roll",
        "bucket worse (or written off) at the first committed night 30-45 days later",
    ),
    # closer to a card's "default next month" than a roll forward (docs/real-data.md)
    "past_due": Label(
        "past_due_next",
        "pastdue",
        "past due (dpd > 0, or written off) at the first committed night 30-45 days later",
    ),
}
DEFAULT_LABEL = "roll_forward"
# The label looks 30 to 45 days ahead; the look-backs go a year back (months delinquent).
HORIZON_DAYS = 30
LABEL_WINDOW_DAYS = 45
HISTORY_DAYS = 366


def lookback_dates(con: duckdb.DuckDBPyConnection, night: date) -> dict[str, date | None]:
    """The latest committed night 30-45, 60-75 and 90-105 days before `night` (None: none), the
    parameters of the night's feature model; the date column alone is read."""
    row = con.execute(
        "select "
        "max(snapshot_date) filter (where snapshot_date between $d - 45 and $d - 30), "
        "max(snapshot_date) filter (where snapshot_date between $d - 75 and $d - 60), "
        "max(snapshot_date) filter (where snapshot_date between $d - 105 and $d - 90) "
        "from marts.loan_aging where snapshot_date between $d - 105 and $d - 30",
        {"d": night},
    ).fetchall()[0]
    return dict(zip(("night_30d_before", "night_60d_before", "night_90d_before"), row, strict=True))


def sample_dates(
    con: duckdb.DuckDBPyConnection, first: date, last: date, step_days: int
) -> list[date]:
    """The committed nights training samples: the latest one whose label is committed by
    `last`, then the latest on or before every `step_days` earlier, down to `first`."""
    nights = [
        d
        for (d,) in con.execute(
            "select distinct snapshot_date from marts.loan_aging "
            "where snapshot_date between $first and $last order by 1",
            {"first": first, "last": last},
        ).fetchall()
    ]
    if not nights:
        return []
    labelled = [d for d in nights if any(d + timedelta(HORIZON_DAYS) <= n for n in nights)]
    if not labelled:
        return []
    chosen: list[date] = []
    target = labelled[-1]
    while target >= first:
        candidates = [d for d in labelled if d <= target and (not chosen or d < chosen[-1])]
        if not candidates:
            break
        chosen.append(candidates[-1])
        target = candidates[-1] - timedelta(step_days)
    return sorted(chosen)


def training_rows(
    con: duckdb.DuckDBPyConnection,
    samples: Sequence[date],
    last: date,
    bucket_order: Sequence[str],
    keep_share: float = 1.0,
    unlabelled: bool = False,
) -> pl.DataFrame:
    """Features and labels of the aged loans of each sampled night (a uniform share of them)."""
    if not samples:
        raise ConfigError("no committed night in the range has a label 30 days later")
    # a night's own features look back a year; its label 45 days ahead
    query = sql_text("risk/training_rows")
    params = {
        "sample_dates": list(samples),
        "history_from": min(samples) - timedelta(HISTORY_DAYS),
        "history_to": last,
        "bucket_order": list(bucket_order),
        "keep_per_million": int(round(keep_share * 1_000_000)),
        "unlabelled": unlabelled,
    }
    bound = bind(query, params, where="sql/risk/training_rows.sql")
    table = con.sql(query, params=bound).to_arrow_table()
    return pl.DataFrame(pl.from_arrow(table))
