"""Collection KPIs per snapshot date and strategy variant (formulas: docs/report.md).

The model sql/marts/kpi_variants.sql computes them in the run, before its commit, from the
run's results of D (work.*) and the committed previous snapshot; the commit stores them in
marts.kpi_variants, which the report reads.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from arrears import registry, state
from arrears.aging import AGE_MODELS
from arrears.runs import action_date_for
from arrears.strategy.engine import OUTPUTS as DECIDE_MODELS

ALL = "all"
MART = "marts.kpi_variants"
MODEL = "kpi_variants"


def kpis(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> list[dict[str, Any]]:
    """The stored KPIs of D: one row for all customers (`strategy_variant = 'all'`), then one
    per variant seen at D; none when no run of D has committed.

    Columns: snapshot_date, strategy_variant, previous_snapshot_date, delinquent_loans,
    cured_loans, cure_rate, collected_amount, kept_arrangements, broken_arrangements,
    promise_kept_rate, call_actions, contacted_calls, right_party_calls, promise_calls,
    contact_rate, right_party_contact_rate, ptp_rate, next_actions, next_customers.
    Rates are Decimal(9,6) shares in 0..1, None when their denominator is 0.
    """
    result = con.execute(
        f"select * from {MART} where snapshot_date = $d "
        "order by strategy_variant = 'all' desc, strategy_variant = 'champion' desc, "
        "strategy_variant",
        {"d": snapshot_date},
    )
    columns = [d[0] for d in result.description]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]


def build_kpi_variants(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> int:
    """work.kpi_variants: the KPIs of D that the commit stores in marts.kpi_variants.

    Reads the age and decide results of the run (work.*), which must stand already.
    """
    params = {
        "snapshot_date": snapshot_date,
        **state.previous_dates(con, snapshot_date),
        "action_date": action_date_for(snapshot_date),
    }
    counts = registry.build(con, [MODEL], params, given=(*AGE_MODELS, *DECIDE_MODELS))
    return counts[MODEL]
