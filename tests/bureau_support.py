"""Reporting nights written by hand: a tiny book aged, its loan state carried and the month's
bureau rows built and committed, as the run's steps do on a reporting night."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import duckdb
import polars as pl
from aging_support import CONFIG, given
from fixtures.pii_support import TEST_KEY

from arrears import registry, state, warehouse
from arrears.aging import AGE_MODELS, build_aging
from arrears.bureau import month
from arrears.pii.sealing import seal_frame

TIMEZONE = "Asia/Shanghai"
DISPUTE_DAYS = 30


def holds(con: duckdb.DuckDBPyConnection, day: date, rows: list[dict[str, Any]]) -> None:
    con.execute(warehouse.work_table_ddl("holds"))
    for row in rows:
        con.execute(
            "insert into work.holds values ($d, $customer_id, $loan_id, $kind, $start, $end)",
            {"d": day, "loan_id": None, "end": None, **row},
        )


def outcomes(con: duckdb.DuckDBPyConnection, day: date, rows: list[tuple[str, datetime]]) -> None:
    """Tonight's outcome state: the latest DISPUTE of each customer given."""
    con.execute("create or replace table work.outcome_state as from marts.outcome_state limit 0")
    for n, (customer_id, occurred_at) in enumerate(rows):
        con.execute(
            "insert into work.outcome_state values ($d, $c, 'DISPUTE', $e, 'CALL', $t)",
            {"d": day, "c": customer_id, "e": f"E{n}", "t": occurred_at},
        )


def customers(con: duckdb.DuckDBPyConnection, day: date, people: dict[str, tuple]) -> None:
    """raw.customers of `day`, sealed with the test key: customer_id -> (name, national_id)."""
    frame = pl.DataFrame(
        {
            "customer_id": list(people),
            "full_name": [p[0] for p in people.values()],
            "national_id": [p[1] for p in people.values()],
            "phone": ["13800000000"] * len(people),
            "email": [None] * len(people),
            "address": ["1 Secret Road"] * len(people),
            "postal_code": ["100020"] * len(people),
        },
        schema_overrides={"email": pl.Utf8},
    )
    sealed = seal_frame(frame, TEST_KEY).with_columns(pl.lit(day).alias("snapshot_date"))
    con.register("sealed_customers", sealed)
    try:
        con.execute("insert into raw.customers by name select * from sealed_customers")
    finally:
        con.unregister("sealed_customers")


def night(
    con: duckdb.DuckDBPyConnection,
    day: date,
    loans: list[dict[str, Any]],
    installments: list[dict[str, Any]],
    hold_rows: list[dict[str, Any]] | None = None,
    dispute_rows: list[tuple[str, datetime]] | None = None,
) -> None:
    """Age `day`, carry the loan state, build the month's bureau rows when `day` reports, and
    commit them with the aging and the state."""
    given(con, day, loans, installments)
    holds(con, day, hold_rows or [])
    outcomes(con, day, dispute_rows or [])
    build_aging(con, day, CONFIG)
    registry.build(
        con,
        ("loan_state",),
        {"snapshot_date": day, **state.previous_dates(con, day)},
        given=AGE_MODELS,
    )
    tables = [("loan_aging", "snapshot_date", day), ("loan_state", "snapshot_date", day)]
    if month.is_reporting_day(day, 0):
        month.build(
            con,
            day,
            tolerance=CONFIG.tolerance,
            dispute_days=DISPUTE_DAYS,
            default_timezone=TIMEZONE,
        )
        tables.append(("bureau_accounts", "report_month", month.month_of(day)))
    with warehouse.transaction(con):
        for table, column, value in tables:
            warehouse.replace_partition(con, f"marts.{table}", f"work.{table}", column, value)


def reported(con: duckdb.DuckDBPyConnection, report_month: date) -> dict[str, dict[str, Any]]:
    rows = con.sql(
        "select * from marts.bureau_accounts where report_month = $m order by loan_id",
        params={"m": report_month},
    ).pl()
    return {row["loan_id"]: row for row in rows.to_dicts()}
