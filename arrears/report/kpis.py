"""Collection KPIs per snapshot date and strategy variant (formulas: docs/report.md).

One model (sql/kpis.sql) serves two readers: the report computes it over the committed
warehouse, and the run stores it in marts.kpi_variants, computed before its commit over the
warehouse as that commit will leave it (partition D of raw.* and marts.* taken from work.*).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import duckdb

from arrears import warehouse
from arrears.commit import PARTITIONS
from arrears.report.queries import rows, sql_text
from arrears.runs import action_date_for

ALL = "all"
MART = "marts.kpi_variants"

_TABLE_REFERENCE = re.compile(r"(?<![\w.'\"])((?:raw|marts)\.\w+)(?![\w.])")


def kpis(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> list[dict[str, Any]]:
    """One row for all customers (`strategy_variant = 'all'`), then one per variant seen at D.

    Columns: snapshot_date, strategy_variant, previous_snapshot_date, delinquent_loans,
    cured_loans, cure_rate, collected_amount, kept_arrangements, broken_arrangements,
    promise_kept_rate, call_actions, contacted_calls, right_party_calls, promise_calls,
    contact_rate, right_party_contact_rate, ptp_rate, next_actions, next_customers.
    Rates are Decimal(9,6) shares in 0..1, None when their denominator is 0.
    """
    return rows(con, "kpis", {"snapshot_date": snapshot_date})


def as_committed(con: duckdb.DuckDBPyConnection, query: str) -> str:
    """`query` with every raw.*/marts.* table it reads seen as the pending commit will leave it.

    Mirrors arrears.commit: a table whose work.<name> exists has its partition ($snapshot_date,
    or $action_date for action tables) replaced by work.<name>; other tables are read as they
    are. Table names cannot be bound as parameters, so the substitution is of identifiers only,
    all taken from the commit's own PARTITIONS; dates stay bound.
    """
    present = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'work'"
        ).fetchall()
    }
    overlays = {}
    for table, column, which in PARTITIONS:
        name = table.split(".", 1)[1]
        if name in present:
            overlays[table] = (
                f"(select * from {table} where {column} <> ${which}_date "
                f"union all by name select * from work.{name}) as {name}"
            )
    return _TABLE_REFERENCE.sub(lambda m: overlays.get(m.group(1), m.group(1)), query)


def _pending(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> tuple[str, dict[str, Any]]:
    query = as_committed(con, sql_text("kpis"))
    params = {"snapshot_date": snapshot_date, "action_date": action_date_for(snapshot_date)}
    return query, {k: v for k, v in params.items() if f"${k}" in query}


def pending_kpis(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> list[dict[str, Any]]:
    """`kpis(con, snapshot_date)` as it will read once the run's work tables are committed."""
    result = con.execute(*_pending(con, snapshot_date))
    columns = [d[0] for d in result.description]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]


def build_kpi_variants(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> int:
    """work.kpi_variants: the KPIs of D that the commit stores in marts.kpi_variants."""
    query, params = _pending(con, snapshot_date)
    con.execute(f"create or replace table work.kpi_variants as {query}", params)
    return warehouse.count(con, "work.kpi_variants")
