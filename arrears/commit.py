"""The commit step: the run's candidate results replace partition D, all in one transaction.

Readers of raw.* and marts.* see the previous complete state of the date until this
transaction commits, and the new complete state after: never a mixture.
"""

from __future__ import annotations

from datetime import date

import duckdb

from arrears import faults, warehouse
from arrears.contract import DATASETS
from arrears.runs import action_date_for
from arrears.state import DEFAULT_KEEP_NIGHTS, STATE_MODELS, prune

# (table, partition column, which date) for every result a run may produce.
PARTITIONS: tuple[tuple[str, str, str], ...] = (
    *((f"raw.{name}", "snapshot_date", "snapshot") for name in DATASETS),
    ("marts.loan_aging", "snapshot_date", "snapshot"),
    ("marts.kpi_daily", "snapshot_date", "snapshot"),
    ("marts.roll_rates", "snapshot_date", "snapshot"),
    ("marts.arrangement_status", "snapshot_date", "snapshot"),
    ("marts.collection_actions", "action_date", "action"),
    ("marts.suppressed_actions", "action_date", "action"),
    ("marts.assignments", "action_date", "action"),
    ("marts.kpi_variants", "snapshot_date", "snapshot"),
    ("marts.assignee_kpis", "snapshot_date", "snapshot"),
    *((f"marts.{name}", "snapshot_date", "snapshot") for name in STATE_MODELS),
    ("marts.contact_history", "snapshot_date", "snapshot"),
    # contact data reported bad (arrears.state.REPORTED_MODELS); the fingerprints in the
    # personal-data zone, next to raw.customers
    ("raw.contact_fingerprints", "snapshot_date", "snapshot"),
    ("marts.skip_trace", "snapshot_date", "snapshot"),
    # the month's bureau rows, built by its reporting night only (arrears/bureau/month.py)
    ("marts.bureau_accounts", "report_month", "month"),
)
# The order a night's rows are stored in, where it saves space: a night of marts.loan_aging with
# the loans of one status and days past due side by side keeps its overdue amounts, dates,
# stages and classes in runs, ~33 bytes a loan instead of ~47 (BENCHMARKS.md, "Night 366
# against night 2"). A total order (loan_id last), so the same rows are stored the same way.
STORED_ORDER = {"marts.loan_aging": "status, dpd, loan_id"}
# A table filled from a work table of another name: the ledger of contact events takes the
# events landed with D (ingest has dropped those already landed with another date).
SOURCES = {"marts.contact_history": "contact_events"}


def _work_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = 'work'"
    ).fetchall()
    return {name for (name,) in rows}


def commit(
    con: duckdb.DuckDBPyConnection,
    snapshot_date: date,
    keep_nights: int = DEFAULT_KEEP_NIGHTS,
) -> dict[str, int]:
    """Replace every partition of D for which the run produced a work table; drop the state
    versions that fall out of the last `keep_nights` nights."""
    present = _work_tables(con)
    dates = {
        "snapshot": snapshot_date,
        "action": action_date_for(snapshot_date),
        "month": snapshot_date.replace(day=1),
    }
    counts: dict[str, int] = {}
    with warehouse.transaction(con):
        for table, column, which in PARTITIONS:
            name = SOURCES.get(table, table.split(".", 1)[1])
            if name not in present:
                continue
            counts[table] = warehouse.replace_partition(
                con, table, f"work.{name}", column, dates[which], STORED_ORDER.get(table)
            )
            faults.checkpoint(f"commit:after:{table}")
        if "loan_state" in present:
            prune(con, snapshot_date, keep_nights)
    return counts
