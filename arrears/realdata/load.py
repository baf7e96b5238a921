"""Load a landing folder's loans and installments into work.* and age a series of month ends.

A small loader for the real-data check: it types the CSV columns by the landing contract and
nothing more (no validation, no carry-forward). The run's own ingest does the full job.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

import duckdb

from arrears import state, warehouse
from arrears.aging import AgingConfig, build_aging
from arrears.contract import DATASETS

AGED_DATASETS = ("loans", "installments")


def load_landing(con: duckdb.DuckDBPyConnection, folder: Path, snapshot_date: date) -> None:
    """work.loans and work.installments := the CSV files of `folder`, typed, for snapshot D."""
    for name in AGED_DATASETS:
        dataset = DATASETS[name]
        con.execute(warehouse.work_table_ddl(name))
        # Column names and types come from the contract, never from the data.
        casts = ", ".join(f"cast(nullif({c.name}, '') as {c.sql_type})" for c in dataset.columns)
        con.execute(
            f"insert into work.{name} select $snapshot_date, {casts} "
            "from read_csv($path, header = true, all_varchar = true)",
            {"snapshot_date": snapshot_date, "path": str(folder / f"{name}.csv")},
        )


def commit_aging(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> None:
    """Replace partition D of the aging marts by work.*, and carry the state the next night
    reads (arrears.state), all or nothing."""
    with warehouse.transaction(con):
        for table in ("loan_aging", "kpi_daily", "roll_rates"):
            warehouse.replace_partition(
                con, f"marts.{table}", f"work.{table}", "snapshot_date", snapshot_date
            )
        state.fold_night(con, snapshot_date)


def age_landing(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    snapshot_dates: Iterable[date],
    config: AgingConfig,
) -> None:
    """Load, age and commit each snapshot date in order, as consecutive nightly runs would.
    work.* stays in the warehouse file: the commit folds the state, writing work.* and the
    marts in one transaction, and no personal column is loaded."""
    with warehouse.work_in_warehouse(con):
        for snapshot_date in snapshot_dates:
            load_landing(con, landing / snapshot_date.isoformat(), snapshot_date)
            build_aging(con, snapshot_date, config)
            commit_aging(con, snapshot_date)
