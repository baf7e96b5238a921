"""Partitioned age + decide: customers hashed into N partitions, each computed on its own.

A partition is computed in its own in-memory DuckDB, possibly in another process or on another
machine, with the same SQL models as the single-process run (arrears.aging.build_aging and
arrears.strategy.decide). DuckDB allows one writing process per file, so the warehouse never
leaves the main process: it exports each partition's inputs as Parquet files into an exchange
folder, the partitions write their results there as Parquet, and the main process loads them
into work.* before validate-actions and commit.

    export_partitions (main)  ->  compute_partition (x N, anywhere)  ->  merge_partitions (main)

What is per customer is computed in the partitions: a customer's loans, installments,
arrangements, holds, contact events and history all go to the customer's partition. What spans
customers is computed after the merge, in the main process, from the merged rows:
  - kpi_daily and roll_rates (aggregates over the whole book): the same marts models;
  - the daily capacity per channel (a ranking of all customers by priority): the partitions
    decide without capacity, and sql/decide/int_actions__capacity.sql ranks and cuts globally,
    then collection_actions and suppressed_actions are built from the merged actions.
The result is the single-process result, row for row (tests/test_partition_flow.py).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from arrears import warehouse
from arrears.aging import AgingConfig, build_aging, register_config
from arrears.contract import DATASETS
from arrears.errors import ArrearsError, ConfigError
from arrears.strategy import Strategy, decide
from arrears.strategy.engine import decide_params, write_config_tables

# The partition of a customer: the first 32 bits of md5(customer_id), modulo N. Stable across
# runs, processes and DuckDB versions (unlike hash()); a missing id hashes as ''.
PART_SQL = "(('0x' || left(md5(coalesce({column}, '')), 8))::bigint % $partitions)::integer"

# History the models read, exported with the rows of D: (table, rows of it the models may read).
HISTORY: tuple[tuple[str, str], ...] = (
    ("marts.loan_aging", "snapshot_date < $snapshot_date"),
    ("marts.arrangement_status", "snapshot_date < $snapshot_date"),
    ("marts.collection_actions", "action_date < $action_date"),
    ("raw.contact_events", "snapshot_date < $snapshot_date"),
)
# Results of a partition that the main process merges into work.*.
RESULTS = ("loan_aging", "arrangement_status", "decide_candidates", "decide_actions_uncut")
MANIFEST = "_partition.json"
# The part=<k> folders are not a column of the files: no hive partitioning on read.
READ = "read_parquet($files, hive_partitioning = false)"


def partition_of(customer_id: str, partitions: int) -> int:
    """The partition of a customer, by the same rule as PART_SQL."""
    return int(hashlib.md5(customer_id.encode("utf-8")).hexdigest()[:8], 16) % partitions


def _part(column: str) -> str:
    return PART_SQL.format(column=column)


def _quote(path: Path) -> str:
    # COPY ... TO takes no bound parameter for its target: the path is quoted as a literal.
    return "'" + str(path).replace("'", "''") + "'"


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(
        warehouse.scalar(
            con,
            "select count(*) from information_schema.tables "
            "where table_schema = $schema and table_name = $name",
            {"schema": schema, "name": name},
        )
    )


@dataclass(frozen=True)
class PartitionPlan:
    """What the main process hands to partition k: where its inputs are, where results go."""

    snapshot_date: date
    partition: int
    partitions: int
    exchange: Path
    history_dates: tuple[date, ...]

    @property
    def folder(self) -> Path:
        return self.exchange / f"part-{self.partition:04d}"

    @property
    def results(self) -> Path:
        return self.folder / "results"

    def inputs(self, table: str) -> list[Path]:
        """The Parquet files of one exported table for this partition (none: no rows)."""
        return sorted(
            (self.exchange / "inputs" / table / f"part={self.partition}").glob("*.parquet")
        )


def exchange_folder(root: Path, snapshot_date: date) -> Path:
    return Path(root) / snapshot_date.isoformat()


def _copy_partitioned(
    con: duckdb.DuckDBPyConnection, query: str, params: dict[str, Any], target: Path
) -> None:
    """COPY a query with a `part` column into target/part=<k>/*.parquet, one pass for all k."""
    con.execute(
        f"copy ({query}) to {_quote(target)} "
        "(format parquet, partition_by (part), overwrite_or_ignore true)",
        params,
    )


def export_partitions(
    con: duckdb.DuckDBPyConnection, snapshot_date: date, partitions: int, exchange: Path
) -> list[PartitionPlan]:
    """Write every partition's inputs under `exchange` (replacing what was there); one plan each.

    Rows go to the partition of their customer. Rows keyed by loan (installments, arrangements)
    go to the partition of the loan's customer in work.loans; a loan off today's book goes with
    its latest customer in history. History rows of a loan also go to the partition of the loan's
    customer today, so a loan that changed customer still sees its whole history.
    """
    if partitions < 1:
        raise ConfigError(f"partitions must be at least 1, not {partitions}")
    exchange = Path(exchange)
    shutil.rmtree(exchange, ignore_errors=True)
    (exchange / "inputs").mkdir(parents=True)
    params = {
        "snapshot_date": snapshot_date,
        "action_date": snapshot_date + timedelta(days=1),
        "partitions": partitions,
    }
    # Both datasets exist after ingest; a work table of another dataset may be absent.
    con.execute(
        f"""
        create or replace temp table partition_loans as
        with
        today as (
            select loan_id, customer_id from work.loans
        ),
        off_book as (
            select distinct arrangements.loan_id
            from work.arrangements as arrangements
            anti join today
                on today.loan_id = arrangements.loan_id
        ),
        off_book_owner as (
            select history.loan_id, arg_max(history.customer_id, history.snapshot_date)
                as customer_id
            from marts.loan_aging as history
            semi join off_book
                on off_book.loan_id = history.loan_id
            where history.snapshot_date < $snapshot_date
            group by history.loan_id
        ),
        owners as (
            select * from today
            union all
            select off_book.loan_id, off_book_owner.customer_id
            from off_book
            left join off_book_owner
                on off_book_owner.loan_id = off_book.loan_id
        )
        select loan_id, {_part("customer_id")} as part from owners
        """,
        {"snapshot_date": snapshot_date, "partitions": partitions},
    )
    for name in DATASETS:
        if not _table_exists(con, "work", name):
            continue
        if "customer_id" in DATASETS[name].column_names:
            query = f"select *, {_part('customer_id')} as part from work.{name}"
            used = {"partitions": partitions}
        else:
            query = (
                f"select source.*, partition_loans.part from work.{name} as source "
                "inner join partition_loans on partition_loans.loan_id = source.loan_id"
            )
            used = {}
        _copy_partitioned(con, query, used, exchange / "inputs" / f"work.{name}")
    for table, where in HISTORY:
        used = {k: v for k, v in params.items() if f"${k}" in where or k == "partitions"}
        if table in ("marts.loan_aging", "marts.arrangement_status"):
            owner = "coalesce(partition_loans.part, " + _part("history.customer_id") + ")"
            query = (
                f"select history.*, {owner} as part from {table} as history "
                "left join partition_loans on partition_loans.loan_id = history.loan_id "
                f"where history.{where}"
            )
            if table == "marts.loan_aging":
                # ... and to the partition of the customer it had then (episodes are per customer).
                query += (
                    f" union all select history.*, {_part('history.customer_id')} as part "
                    f"from {table} as history inner join partition_loans "
                    "on partition_loans.loan_id = history.loan_id "
                    f"where history.{where} "
                    f"and partition_loans.part <> {_part('history.customer_id')}"
                )
        else:
            query = f"select *, {_part('customer_id')} as part from {table} where {where}"
        _copy_partitioned(con, query, used, exchange / "inputs" / table)
    con.execute("drop table partition_loans")
    history_dates = tuple(
        d
        for (d,) in con.execute(
            "select distinct snapshot_date from marts.loan_aging "
            "where snapshot_date < $snapshot_date order by 1",
            {"snapshot_date": snapshot_date},
        ).fetchall()
    )
    plans = [
        PartitionPlan(snapshot_date, k, partitions, exchange, history_dates)
        for k in range(partitions)
    ]
    manifest = {
        "snapshot_date": snapshot_date.isoformat(),
        "partitions": partitions,
        "history_dates": [d.isoformat() for d in history_dates],
    }
    (exchange / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return plans


def remove_exchange(exchange: Path) -> None:
    """Drop a run's exchange folder once its results are merged (it holds personal data)."""
    shutil.rmtree(exchange, ignore_errors=True)


def load_plan(exchange: Path, partition: int) -> PartitionPlan:
    """The plan of partition k, read back from the exchange folder (what a worker is given)."""
    manifest = json.loads((Path(exchange) / MANIFEST).read_text(encoding="utf-8"))
    return PartitionPlan(
        snapshot_date=date.fromisoformat(manifest["snapshot_date"]),
        partition=partition,
        partitions=int(manifest["partitions"]),
        exchange=Path(exchange),
        history_dates=tuple(date.fromisoformat(d) for d in manifest["history_dates"]),
    )


def _load(con: duckdb.DuckDBPyConnection, table: str, files: list[Path]) -> None:
    if files:
        con.execute(
            f"insert into {table} by name select * from {READ}",
            {"files": [str(f) for f in files]},
        )


def compute_partition(
    plan: PartitionPlan,
    aging: AgingConfig,
    strategy: Strategy,
    default_timezone: str,
    *,
    memory_limit: str | None = None,
) -> dict[str, int]:
    """Age and decide one partition in an in-memory DuckDB; write its results as Parquet.

    Decides without capacity: the cut per channel is a global ranking, made after the merge.
    `memory_limit` caps that DuckDB (the memory_limit setting; None: DuckDB's default).
    Returns the row count of each result.
    """
    con = warehouse.connect(":memory:", memory_limit=memory_limit)
    try:
        for name in DATASETS:
            con.execute(warehouse.work_table_ddl(name))
            _load(con, f"work.{name}", plan.inputs(f"work.{name}"))
        for table, _ in HISTORY:
            _load(con, table, plan.inputs(table))
        seen = tuple(
            d
            for (d,) in con.execute(
                "select distinct snapshot_date from marts.loan_aging order by 1"
            ).fetchall()
        )
        if seen != plan.history_dates and warehouse.count(con, "work.loans"):
            # The delinquency episode ranks the committed snapshot dates: a partition that
            # holds no loan at one of them would rank them differently.
            missing = sorted(set(plan.history_dates) - set(seen))
            raise ArrearsError(
                f"partition {plan.partition} of {plan.partitions} holds no loan at "
                f"{', '.join(map(str, missing[:3]))}: too many partitions for this book; "
                "use fewer partitions"
            )
        build_aging(con, plan.snapshot_date, aging)
        decide(
            con,
            plan.snapshot_date,
            strategy.model_copy(update={"capacity": {}}),
            default_timezone,
        )
        shutil.rmtree(plan.results, ignore_errors=True)
        plan.results.mkdir(parents=True)
        counts = {}
        for name in RESULTS:
            con.execute(
                f"copy work.{name} to {_quote(plan.results / f'{name}.parquet')} (format parquet)"
            )
            counts[name] = warehouse.count(con, f"work.{name}")
        return counts
    finally:
        con.close()


def merge_partitions(
    con: duckdb.DuckDBPyConnection,
    plans: list[PartitionPlan],
    aging: AgingConfig,
    strategy: Strategy,
    default_timezone: str,
) -> dict[str, dict[str, int]]:
    """Load the partitions' results into work.*, then compute what spans customers.

    Leaves work.loan_aging, kpi_daily, roll_rates, arrangement_status, collection_actions and
    suppressed_actions as the single-process age and decide steps would; returns their counts
    as {"age": {...}, "decide": {...}}.
    """
    if not plans:
        raise ArrearsError("no partition to merge")
    snapshot_date = plans[0].snapshot_date

    def files(name: str) -> list[str]:
        found = [plan.results / f"{name}.parquet" for plan in plans]
        missing = [str(f) for f in found if not f.exists()]
        if missing:
            raise ArrearsError(f"partition results missing: {', '.join(missing[:3])}")
        return [str(f) for f in found]

    for name, target in (
        ("loan_aging", "work.loan_aging"),
        ("decide_candidates", "work.decide_candidates"),
        ("decide_actions_uncut", "work.decide_actions_uncut"),
    ):
        con.execute(
            f"create or replace table {target} as select * from {READ}",
            {"files": files(name)},
        )
    con.execute(
        "create or replace table work.arrangement_status as "
        "select * from marts.arrangement_status limit 0"
    )
    _load(con, "work.arrangement_status", [Path(f) for f in files("arrangement_status")])

    register_config(con, aging)
    params = {"snapshot_date": snapshot_date, "tolerance": aging.tolerance}
    age_counts = {"loan_aging": warehouse.count(con, "work.loan_aging")}
    for name in ("kpi_daily", "roll_rates"):
        age_counts[name] = warehouse.materialize(con, f"marts/{name}", f"work.{name}", params)

    write_config_tables(con, strategy)
    decided = decide_params(snapshot_date, strategy, default_timezone)
    warehouse.materialize(con, "decide/int_actions__capacity", "work.decide_actions", decided)
    con.execute("drop table work.decide_actions_uncut")
    for name in ("collection_actions", "suppressed_actions"):
        query = warehouse.sql_text(f"decide/{name}")
        used = {k: v for k, v in decided.items() if f"${k}" in query}
        # Outputs take the exact column types of their marts, as in the single-process decide.
        con.execute(f"create or replace table work.{name} as select * from marts.{name} limit 0")
        con.execute(f"insert into work.{name} by name {query}", used)
    decide_counts = {
        name: warehouse.count(con, f"work.{name}")
        for name in ("arrangement_status", "collection_actions", "suppressed_actions")
    }
    return {"age": age_counts, "decide": decide_counts}
