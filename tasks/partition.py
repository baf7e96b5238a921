"""Partitioned age + decide: export (main process), one task per partition, merge (main process)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import get_run_logger, task

from arrears import partition
from arrears.aging import load_aging_config
from arrears.settings import Settings
from arrears.strategy import load_strategy


def exchange_root(settings: Settings) -> Path:
    """Where partitions exchange Parquet files: the setting, or a folder beside the warehouse."""
    if settings.partition_exchange is not None:
        return Path(settings.partition_exchange)
    return Path(f"{settings.warehouse}.partitions")


@task(name="partition-export")
def export_partitions(snapshot_date: date, settings: Settings) -> str:
    """Each partition's inputs as Parquet under the exchange folder; returns that folder."""
    exchange = partition.exchange_folder(exchange_root(settings), snapshot_date)
    scoring = load_strategy(settings.strategy, settings.profile).risk.model is not None
    with settings.open_warehouse() as con:
        plans = partition.export_partitions(
            con, snapshot_date, settings.partitions, exchange, scoring=scoring
        )
    get_run_logger().info(
        "%d partitions exported to %s (with the state of %s)",
        len(plans),
        exchange,
        plans[0].previous.get("previous_snapshot_date") or "no earlier night",
    )
    return str(exchange)


@task(name="partition-age-decide")
def age_and_decide_partition(exchange: str, index: int, settings: Settings) -> dict[str, int]:
    """Age and decide partition `index` in its own in-memory DuckDB (runs on a Dask worker)."""
    plan = partition.load_plan(Path(exchange), index)
    counts = partition.compute_partition(
        plan,
        load_aging_config(settings.aging),
        load_strategy(settings.strategy, settings.profile),
        settings.timezone,
        memory_limit=settings.memory_limit,
        models_dir=settings.models,
    )
    get_run_logger().info("partition %d of %d: %s", index, plan.partitions, counts)
    return counts


@task(name="partition-merge")
def merge_partitions(exchange: str, settings: Settings) -> dict[str, dict[str, int]]:
    """Load every partition's results into work.*, then kpi_daily, roll_rates and capacity."""
    plans = [partition.load_plan(Path(exchange), k) for k in range(settings.partitions)]
    with settings.open_warehouse() as con:
        counts = partition.merge_partitions(
            con,
            plans,
            load_aging_config(settings.aging),
            load_strategy(settings.strategy, settings.profile),
            settings.timezone,
        )
    partition.remove_exchange(Path(exchange))
    get_run_logger().info("partitions merged: %s", counts)
    return counts
