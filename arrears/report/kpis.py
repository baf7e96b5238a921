"""Collection KPIs per snapshot date and strategy variant (formulas: docs/report.md)."""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from arrears.report.queries import rows

ALL = "all"


def kpis(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> list[dict[str, Any]]:
    """One row for all customers (`strategy_variant = 'all'`), then one per variant seen at D.

    Columns: snapshot_date, strategy_variant, previous_snapshot_date, delinquent_loans,
    cured_loans, cure_rate, collected_amount, kept_arrangements, broken_arrangements,
    promise_kept_rate, call_actions, contacted_calls, right_party_calls, promise_calls,
    contact_rate, right_party_contact_rate, ptp_rate, next_actions, next_customers.
    Rates are Decimal(9,6) shares in 0..1, None when their denominator is 0.
    """
    return rows(con, "kpis", {"snapshot_date": snapshot_date})
