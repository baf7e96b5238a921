"""Partitioned age + decide: customers hashed into N partitions, each computed on its own.

A partition is computed in its own in-memory DuckDB, possibly in another process or on another
machine, with the same SQL models as the single-process run (arrears.aging.build_aging and
arrears.strategy.decide). DuckDB allows one writing process per file, so the warehouse never
leaves the main process: it exports each partition's inputs as Parquet files into an exchange
folder, the partitions write their results there as Parquet, and the main process loads them
into work.* before validate-actions and commit.

    export_partitions (main)  ->  compute_partition (x N, anywhere)  ->  merge_partitions (main)

What is per customer is computed in the partitions: a customer's loans, installments,
arrangements, holds, contact events and history all go to the customer's partition, which runs
every model the registry declares `scope=customer` (with risk.model, after scoring its loans with
the saved model, as the single-process decide does), except the staging models that read the
customers' personal columns (STAGED): the main process builds those and exports their rows, so
the exchange carries no clear phone, email, address, name or national id. What spans customers
(`scope=book`: kpi_daily and roll_rates, the capacity ranking of
sql/intermediate/int_actions__capacity.sql, and the action lists built from it) runs after the
merge, in the main process, over the merged rows of the customer models that book models read
(registry.frontier). The result is the single-process result, row for row
(tests/test_partition.py).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from arrears import registry, state, warehouse
from arrears.aging import AGE_MODELS, AgingConfig, register_config
from arrears.contract import DATASETS
from arrears.errors import ArrearsError, ConfigError
from arrears.pii.sealing import SEALED
from arrears.sqlfiles import bind
from arrears.state import STATE_MODELS
from arrears.strategy import Strategy
from arrears.strategy.engine import OUTPUTS as DECIDE_MODELS
from arrears.strategy.engine import decide_params, write_config_tables

# The partition of a customer: the first 32 bits of md5(customer_id), modulo N. Stable across
# runs, processes and DuckDB versions (unlike hash()); a missing id hashes as ''.
PART_SQL = "(('0x' || left(md5(coalesce({column}, '')), 8))::bigint % $partitions)::integer"

# What age and decide build; a partition builds the customer-scoped models among them.
MODELS = (*AGE_MODELS, *DECIDE_MODELS)
# What customer models read besides work.*, exported with the rows of D: (table, the rows of
# it they may read). The state of the previous night, and bounded windows of history.
# Every table outside work.* that a customer model reads must be here (checked below).
STATE_VERSION = "snapshot_date = $previous_snapshot_date"
HISTORY: tuple[tuple[str, str], ...] = (
    *((f"marts.{name}", STATE_VERSION) for name in STATE_MODELS),
    # arrangements measured for the first time: their loan's rows since 31 days before their
    # created_date (arrears.state.previous_dates); with risk.model, tonight's loans' rows of the
    # three look-back nights the features read (arrears.risk.features.lookback_dates; null
    # without a model). One condition, so a row in both goes once.
    (
        "marts.loan_aging",
        "snapshot_date < $snapshot_date and ("
        "(snapshot_date >= $arrangements_since"
        " and history.loan_id in (select loan_id from work.arrangements))"
        " or (snapshot_date in ($night_30d_before, $night_60d_before, $night_90d_before)"
        " and history.loan_id in (select loan_id from work.loans)))",
    ),
    # call caps and KPIs read the events of the last weeks (EVENT_DAYS bounds the cap periods)
    ("marts.contact_history", "snapshot_date >= $events_since"),
    # the fingerprints of the phones and addresses reported bad on earlier nights (personal
    # data, as are the phone fingerprints of STAGED: the run removes the exchange folder)
    ("raw.contact_fingerprints", "snapshot_date < $snapshot_date"),
)
EVENT_DAYS = 60
# The parameters of the risk features' look-back nights (arrears.risk.features.lookback_dates).
LOOKBACK = ("night_30d_before", "night_60d_before", "night_90d_before")


def results() -> list[str]:
    """The customer models whose rows a partition writes and the main process merges."""
    return registry.frontier(MODELS)


# The personal columns, which never go to the exchange folder in clear: emptied on export.
WITHHELD: dict[str, tuple[str, ...]] = {"customers": SEALED}
# The customer models that read them, and turn them into what the decide models compare
# (has_phone, the fingerprints of the number as dialled and of the bad contact data). The main
# process builds them and exports their rows by customer; a partition is given those rows. Any
# other customer model that reads a WITHHELD column is refused (_check_withheld): it would see
# NULL in a partition.
STAGED = ("stg_customers", "stg_customer_fingerprints")


def _exported(dataset: str) -> str:
    """The select list of a dataset's rows in the exchange: the WITHHELD columns emptied."""
    columns = WITHHELD.get(dataset, ())
    if not columns:
        return "*"
    return "* replace (" + ", ".join(f"null::varchar as {c}" for c in columns) + ")"


def _check_withheld(built: Sequence[registry.Model]) -> None:
    for model in built:
        for dataset, withheld in WITHHELD.items():
            table = f"work.{dataset}"
            if table not in model.reads:
                continue
            read = set(withheld) if f"{table}.*" in model.columns else model.columns
            personal = sorted(read & set(withheld))
            if personal:
                raise ArrearsError(
                    f"sql/{model.path}.sql reads {', '.join(personal)} of {table}, which the "
                    "partition exchange does not carry: read it from a model of "
                    "arrears.partition.STAGED, or add the model there if no personal value "
                    "leaves it"
                )


def _check_history(targets: Sequence[str]) -> None:
    built = registry.plan(targets, given=STAGED, scope="customer")
    _check_withheld(built)
    read = registry.external_reads(m.name for m in built)
    missing = sorted(read - {table for table, _ in HISTORY})
    if missing:
        raise ArrearsError(
            f"customer models read {', '.join(missing)}, which a partition is not given: "
            "add it to arrears.partition.HISTORY"
        )


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
    # The previous night's dates the models bind (arrears.state.previous_dates).
    previous: dict[str, date | None] = field(default_factory=dict)
    # The risk features' look-back nights, found on the warehouse (a partition holds only its
    # loans' rows of them); None: exported for a strategy without risk.model.
    lookback: dict[str, date | None] | None = None
    # The columns and types of each STAGED model's rows (a partition may have none of them).
    staged: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

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
    con: duckdb.DuckDBPyConnection,
    snapshot_date: date,
    partitions: int,
    exchange: Path,
    *,
    scoring: bool = False,
) -> list[PartitionPlan]:
    """Write every partition's inputs under `exchange` (replacing what was there); one plan each.

    Rows go to the partition of their customer. Rows keyed by loan (installments, arrangements)
    go to the partition of the loan's customer in work.loans; a loan off today's book goes with
    its latest customer (marts.loan_state). State and history rows of a loan go with the loan's
    customer today, so a loan that changed customer carries its state along.
    `scoring`: the strategy names a saved model; the rows of its look-back nights go too.
    """
    if partitions < 1:
        raise ConfigError(f"partitions must be at least 1, not {partitions}")
    exchange = Path(exchange)
    shutil.rmtree(exchange, ignore_errors=True)
    (exchange / "inputs").mkdir(parents=True)
    state.check(con, snapshot_date)
    previous = state.previous_dates(con, snapshot_date)
    lookback = None
    if scoring:
        from arrears.risk.features import lookback_dates

        lookback = lookback_dates(con, snapshot_date)
    params = {
        "snapshot_date": snapshot_date,
        "action_date": snapshot_date + timedelta(days=1),
        "partitions": partitions,
        "events_since": snapshot_date - timedelta(days=EVENT_DAYS),
        **previous,
        **dict.fromkeys(LOOKBACK, None),
        **(lookback or {}),
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
            select state.loan_id, state.customer_id
            from marts.loan_state as state
            semi join off_book
                on off_book.loan_id = state.loan_id
            where state.snapshot_date = $previous_snapshot_date
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
        {"previous_snapshot_date": previous["previous_snapshot_date"], "partitions": partitions},
    )
    for name in DATASETS:
        if not _table_exists(con, "work", name):
            continue
        if "customer_id" in DATASETS[name].column_names:
            query = f"select {_exported(name)}, {_part('customer_id')} as part from work.{name}"
            used = {"partitions": partitions}
        else:
            query = (
                f"select source.*, partition_loans.part from work.{name} as source "
                "inner join partition_loans on partition_loans.loan_id = source.loan_id"
            )
            used = {}
        _copy_partitioned(con, query, used, exchange / "inputs" / f"work.{name}")
    for table, where in HISTORY:
        columns = {
            c
            for (c,) in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = $s and table_name = $t",
                {"s": table.split(".")[0], "t": table.split(".")[1]},
            ).fetchall()
        }
        if "loan_id" in columns and "customer_id" in columns:
            # a loan's rows go with the loan's customer today (else its own customer)
            owner = "coalesce(partition_loans.part, " + _part("history.customer_id") + ")"
            query = (
                f"select history.*, {owner} as part from {table} as history "
                "left join partition_loans on partition_loans.loan_id = history.loan_id "
                f"where {where}"
            )
        elif "loan_id" in columns:
            query = (
                f"select history.*, partition_loans.part from {table} as history "
                "inner join partition_loans on partition_loans.loan_id = history.loan_id "
                f"where {where}"
            )
        else:
            query = (
                f"select *, {_part('customer_id')} as part from {table} as history where {where}"
            )
        _copy_partitioned(con, query, bind(query, params), exchange / "inputs" / table)
    con.execute("drop table partition_loans")
    staged = _export_staged(con, params, partitions, exchange)
    plans = [
        PartitionPlan(snapshot_date, k, partitions, exchange, previous, lookback, staged)
        for k in range(partitions)
    ]
    manifest = {
        "snapshot_date": snapshot_date.isoformat(),
        "partitions": partitions,
        "previous": _isoformat(previous),
        "lookback": None if lookback is None else _isoformat(lookback),
        "staged": staged,
    }
    (exchange / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return plans


def _export_staged(
    con: duckdb.DuckDBPyConnection, params: dict[str, Any], partitions: int, exchange: Path
) -> dict[str, list[tuple[str, str]]]:
    """Build the STAGED models here and export their rows by customer, in place of the
    personal columns they read; returns their columns and types. Dropped once exported, as a
    partitioned run never built them in the main process."""
    built = registry.plan(STAGED, scope="customer")
    registry.build(con, STAGED, params, scope="customer")
    staged = {}
    for name in STAGED:
        relation = f"work.{name}"
        staged[name] = [
            (column, kind) for column, kind, *_ in con.execute(f"describe {relation}").fetchall()
        ]
        query = f"select *, {_part('customer_id')} as part from {relation}"
        _copy_partitioned(con, query, {"partitions": partitions}, exchange / "inputs" / relation)
    for model in reversed(built):
        kind = "view" if model.materialized == "view" else "table"
        con.execute(f"drop {kind} {model.relation}")
    return staged


def remove_exchange(exchange: Path) -> None:
    """Drop a run's exchange folder once its results are merged (it holds personal data)."""
    shutil.rmtree(exchange, ignore_errors=True)


def load_plan(exchange: Path, partition: int) -> PartitionPlan:
    """The plan of partition k, read back from the exchange folder (what a worker is given)."""
    manifest = json.loads((Path(exchange) / MANIFEST).read_text(encoding="utf-8"))
    lookback = manifest.get("lookback")
    return PartitionPlan(
        snapshot_date=date.fromisoformat(manifest["snapshot_date"]),
        partition=partition,
        partitions=int(manifest["partitions"]),
        exchange=Path(exchange),
        previous=_dates(manifest["previous"]),
        lookback=None if lookback is None else _dates(lookback),
        staged={
            name: [(column, kind) for column, kind in columns]
            for name, columns in manifest["staged"].items()
        },
    )


def _isoformat(dates: dict[str, date | None]) -> dict[str, str | None]:
    return {k: v.isoformat() if v else None for k, v in dates.items()}


def _dates(found: dict[str, str | None]) -> dict[str, date | None]:
    return {k: date.fromisoformat(v) if v else None for k, v in found.items()}


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
    models_dir: Path | None = None,
) -> dict[str, int]:
    """Age and decide one partition in an in-memory DuckDB; write its results as Parquet.

    Builds the customer models only: the cut per channel is a global ranking, made after the
    merge. With risk.model, the partition's aged loans are scored first with the saved model in
    `models_dir` (as arrears.strategy.decide does). `memory_limit` caps that DuckDB (the
    memory_limit setting; None: DuckDB's default). Returns the row count of each result.
    """
    model = None
    if strategy.risk.model is not None:
        # Imported here: LightGBM takes a second to import, and most strategies name no model.
        from arrears.risk import scoring

        if plan.lookback is None:
            raise ConfigError(
                "risk.model: the partitions were exported without the model's look-back nights"
            )
        model = scoring.load(models_dir or Path("models"), strategy.risk.model)
        _check_history((*MODELS, scoring.FEATURE_MODEL))
    else:
        _check_history(MODELS)
    con = warehouse.connect(":memory:", memory_limit=memory_limit)
    try:
        for name in DATASETS:
            con.execute(warehouse.work_table_ddl(name))
            _load(con, f"work.{name}", plan.inputs(f"work.{name}"))
        for table, _ in HISTORY:
            _load(con, table, plan.inputs(table))
        # The STAGED models' rows, computed by the main process: given, never built here from
        # the customers, whose personal columns are empty.
        for name, columns in plan.staged.items():
            con.execute(
                f"create table work.{name} ("
                + ", ".join(f'"{column}" {kind}' for column, kind in columns)
                + ")"
            )
            _load(con, f"work.{name}", plan.inputs(f"work.{name}"))
        register_config(con, aging)
        write_config_tables(con, strategy)
        params = {
            **decide_params(plan.snapshot_date, strategy, default_timezone),
            **plan.previous,
            "tolerance": aging.tolerance,
        }
        staged = list(plan.staged)
        given = list(staged)
        if model is not None:
            # As arrears.strategy.decide: age, score, then the decide models that read the scores.
            given += [m.name for m in registry.plan(AGE_MODELS, given=staged, scope="customer")]
            registry.build(con, AGE_MODELS, params, given=staged, scope="customer")
            given += scoring.score(con, model, params, given=given, lookback=plan.lookback)
        registry.build(con, MODELS, params, given=given, scope="customer")
        shutil.rmtree(plan.results, ignore_errors=True)
        plan.results.mkdir(parents=True)
        counts = {}
        for name in results():
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

    merged = results()
    for name in merged:
        # Marts-typed results keep their mart's column types, as in the single-process run.
        if registry.models()[name].layer == "marts":
            con.execute(
                f"create or replace table work.{name} as select * from marts.{name} limit 0"
            )
            _load(con, f"work.{name}", [Path(f) for f in files(name)])
        else:
            con.execute(
                f"create or replace table work.{name} as select * from {READ}",
                {"files": files(name)},
            )

    register_config(con, aging)
    write_config_tables(con, strategy)
    params = {
        **decide_params(snapshot_date, strategy, default_timezone),
        **state.previous_dates(con, snapshot_date),
        "tolerance": aging.tolerance,
    }
    registry.build(con, MODELS, params, given=merged)
    age_counts = {name: warehouse.count(con, f"work.{name}") for name in AGE_MODELS}
    decide_counts = {
        name: warehouse.count(con, f"work.{name}")
        for name in ("arrangement_status", "collection_actions", "suppressed_actions")
    }
    return {"age": age_counts, "decide": decide_counts}
