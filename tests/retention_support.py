"""Helpers of the retention tests: nights run through the plain functions the tasks call (no
Prefect), and what raw.*, marts.*, the archive and ops.housekeeping hold."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import duckdb

from arrears import archive, commit, housekeeping, ingest, restore, state, warehouse
from arrears.aging import build_aging, load_aging_config
from arrears.allocation.config import load_allocation
from arrears.allocation.step import allocate_night
from arrears.allocation.step import build_kpis as build_assignee_kpis
from arrears.contract import DATASETS
from arrears.pii.keys import key_for_run
from arrears.pii.sealing import seal_table
from arrears.publish import publish_outbox
from arrears.report.kpis import build_kpi_variants
from arrears.settings import Settings
from arrears.strategy import decide, load_strategy


@cache
def _rules(aging: Path, strategy: Path, profile: str):
    return load_aging_config(aging), load_strategy(strategy, profile)


def run_night(settings: Settings, day: date, run_id: str | None = None):
    """One night as daily_collections runs it, minus the quality suites and ops.runs: ingest
    (from landing/<D>/ or what restore.landing_for rebuilds), age, decide, allocate, KPIs, state,
    commit, publish, housekeeping. Returns (the ingest summary, the restored landing, the
    report)."""
    aging, strategy = _rules(settings.aging, settings.strategy, settings.profile)
    key = key_for_run(settings)
    with warehouse.opened(settings.warehouse) as con:
        warehouse.clear_work(con)
        previous = state.check(con, day)
        with restore.landing_for(
            con, settings.landing, settings.archive, day, settings.warehouse, key
        ) as landing:
            summary = ingest.ingest(con, day, landing.root)
            landing.name_sources(summary)
        build_aging(con, day, aging)
        decide(con, day, strategy, settings.timezone)
        allocate_night(con, day, load_allocation(settings.allocation))
        build_kpi_variants(con, day)
        build_assignee_kpis(con, day)
        state.build(con, day, previous)
        seal_table(con, "work.customers", key)
        commit.commit(con, day, keep_nights=settings.raw_keep_days)
        publish_outbox(
            con,
            day + timedelta(days=1),
            settings.outbox,
            run_id or f"night-{day}",
            settings.csv_channels,
            settings.csv_encoding,
            key=key,
        )
        report = housekeeping.run(
            con, day, housekeeping.Retention.from_settings(settings), run_id or f"night-{day}"
        )
        warehouse.clear_work(con)
    return summary, landing, report


def copy_scene(source: Settings, root: Path, **changes) -> Settings:
    """A copy of a scene's warehouse, archive and outbox under `root` (the landing is shared
    unless `changes` names another)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source.warehouse, root / "arrears.duckdb")
    if source.pii_key_path().exists():  # the key that opens the warehouse's customers
        shutil.copy2(source.pii_key_path(), root / "pii.key")
    for name, path in (("archive", source.archive), ("outbox", source.outbox)):
        if Path(path).exists():
            shutil.copytree(path, root / name, symlinks=True)
    return source.model_copy(
        update={
            "warehouse": root / "arrears.duckdb",
            "archive": root / "archive",
            "outbox": root / "outbox",
            "reports": root / "reports",
            **changes,
        }
    )


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = current_database() and table_schema = $s order by 1",
        {"s": schema},
    ).fetchall()
    return [f"{schema}.{name}" for (name,) in rows]


def tables(db: Path, schema: str) -> dict[str, list[tuple]]:
    """Every row of every table of `schema`, sorted."""
    with warehouse.opened(db, read_only=True) as con:
        return {
            t: sorted(con.execute(f"select * from {t}").fetchall(), key=repr)
            for t in _tables(con, schema)
        }


def snapshots(db: Path) -> dict[tuple[str, date], list[tuple]]:
    """Every row of raw.*, by dataset and snapshot date, sorted."""
    found: dict[tuple[str, date], list[tuple]] = {}
    for table, rows in tables(db, "raw").items():
        for row in rows:
            found.setdefault((table.split(".", 1)[1], row[0]), []).append(row)
    return found


def raw_dates(db: Path, dataset: str = "loans") -> list[date]:
    with warehouse.opened(db, read_only=True) as con:
        rows = con.execute(f"select distinct snapshot_date from raw.{dataset} order by 1")
        return [d for (d,) in rows.fetchall()]


def archived_rows(root: Path) -> dict[tuple[str, date], list[tuple]]:
    """Every archive file's rows, by dataset and date, with the date put back in front (so
    they compare with raw.* rows)."""
    found = {}
    con = duckdb.connect()
    try:
        for dataset in DATASETS:
            for day in archive.archived_dates(root, dataset):
                path = archive.snapshot_path(root, dataset, day)
                rows = con.execute(
                    "select $d::date, * from read_parquet($p, hive_partitioning = false)",
                    {"d": day, "p": str(path)},
                ).fetchall()
                found[(dataset, day)] = sorted(rows, key=repr)
    finally:
        con.close()
    return found


def digests(root: Path) -> dict[str, str]:
    """sha256 of every file under `root` (a `.tmp` leftover included), by relative path."""
    if not Path(root).exists():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(root).rglob("*"))
        if p.is_file()
    }


def housekeeping_rows(db: Path) -> list[tuple]:
    """ops.housekeeping without run ids and times; archive files as <dataset>/<date>/<file>
    (the table holds where they were written, and the tests copy warehouses around)."""
    with warehouse.opened(db, read_only=True) as con:
        rows = con.execute(
            "select action, target, target_date, rows, customers, location "
            "from ops.housekeeping order by all"
        ).fetchall()
    return sorted((*row[:5], "/".join(Path(row[5]).parts[-3:]) if row[5] else None) for row in rows)
