"""The month's rows of marts.bureau_accounts, built by the reporting night.

The reporting night is the last day of a month (or the day `bureau_day` names). It builds
work.bureau_accounts after the state (it reads tonight's marts.loan_state and outcome_state)
and the commit replaces the month's partition with it. The month's rows grow from the previous
reported month's rows, so a month never re-reads the 24 months its strings cover.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import duckdb

from arrears import registry, state, warehouse

MODEL = "bureau_accounts"
# DuckDB's memory for the month-end work (the month's rows and the sort of the files): past it
# the aggregates over the schedule and the sort spill to disk beside the warehouse, so that the
# reporting night adds its seconds to the night, not its memory (docs/bureau.md, "Performance").
MEMORY_BYTES = 512 * 2**20


def is_reporting_day(snapshot_date: date, bureau_day: int) -> bool:
    """Whether the night of `snapshot_date` reports its month (bureau_day 0: the month end)."""
    if bureau_day == 0:
        return (snapshot_date + timedelta(days=1)).day == 1
    return snapshot_date.day == bureau_day


def month_of(snapshot_date: date) -> date:
    return snapshot_date.replace(day=1)


def params(
    con: duckdb.DuckDBPyConnection,
    snapshot_date: date,
    *,
    tolerance: Any,
    dispute_days: int,
    default_timezone: str,
) -> dict[str, Any]:
    month = month_of(snapshot_date)
    return {
        "snapshot_date": snapshot_date,
        "report_month": month,
        # the state: the latest month reported before this one
        "previous_report_month": warehouse.scalar(
            con,
            "select max(report_month) from marts.bureau_accounts where report_month < $m",
            {"m": month},
        ),
        # the latest aged snapshot before the month: a CLOSED loan closed by then is not new
        "previous_month_end": warehouse.scalar(
            con,
            "select max(snapshot_date) from marts.loan_aging where snapshot_date < $m",
            {"m": month},
        ),
        "tolerance": tolerance,
        "dispute_days": dispute_days,
        "default_timezone": default_timezone,
    }


def build(con: duckdb.DuckDBPyConnection, snapshot_date: date, **options: Any) -> int:
    """work.bureau_accounts for the month of `snapshot_date`, from the night's results in
    work.* (aging, decide and the state); returns its rows."""
    from arrears.aging import AGE_MODELS
    from arrears.strategy.engine import OUTPUTS as DECIDE_MODELS

    with warehouse.memory_at_most(con, MEMORY_BYTES):
        counts = registry.build(
            con,
            (MODEL,),
            params(con, snapshot_date, **options),
            given=(*AGE_MODELS, *DECIDE_MODELS, *state.STATE_MODELS),
            keep_scratch=False,
        )
    return counts[MODEL]
