"""Age and decide in N customer partitions on Dask (docs/scaling.md).

    export (here) -> age + decide per partition (Dask workers) -> merge (here)

daily_collections calls `age_and_decide` in place of its age and decide tasks when
settings.partitions > 1; everything before and after stays in the flow's own process.
"""

from __future__ import annotations

import os
from datetime import date
from typing import TYPE_CHECKING

from prefect import flow

from arrears.settings import Settings
from tasks.partition import age_and_decide_partition, export_partitions, merge_partitions

if TYPE_CHECKING:
    from prefect_dask import DaskTaskRunner


def task_runner(settings: Settings) -> DaskTaskRunner:
    """The Dask scheduler at settings.dask_address, or a local cluster in this process.

    The local cluster runs partitions on threads of one worker: DuckDB releases the GIL, so
    they run in parallel, and they report to the same Prefect API as the flow. Worker processes
    would each start a temporary Prefect API of their own when no server is configured.
    """
    # Imported here: dask takes over a second to import, and single-process runs never need it.
    from prefect_dask import DaskTaskRunner

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": 1,
            "threads_per_worker": max(1, min(settings.partitions, os.cpu_count() or 1)),
            "processes": False,
            "dashboard_address": None,
        }
    )


@flow(name="age-decide-partitioned")
def age_and_decide_partitioned(
    snapshot_date: date, settings: Settings
) -> tuple[dict[str, int], dict[str, int]]:
    exchange = export_partitions(snapshot_date, settings)
    futures = [
        age_and_decide_partition.submit(exchange, k, settings) for k in range(settings.partitions)
    ]
    for future in futures:
        future.result()
    merged = merge_partitions(exchange, settings)
    return merged["age"], merged["decide"]


def age_and_decide(
    snapshot_date: date, settings: Settings, runner: DaskTaskRunner | None = None
) -> tuple[dict[str, int], dict[str, int]]:
    """The age and decide steps of one snapshot, partitioned; returns their row counts."""
    partitioned = age_and_decide_partitioned.with_options(
        # prefect-dask's runner is a TaskRunner of its own future type, which Prefect's
        # annotation (TaskRunner[PrefectFuture]) does not admit
        task_runner=runner or task_runner(settings)  # type: ignore[arg-type]
    )
    return partitioned(snapshot_date, settings)
