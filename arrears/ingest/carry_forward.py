"""What earlier snapshots decide about today's rows: a full-snapshot dataset without a file
keeps yesterday's state, and an event already landed on another date is not counted twice."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import duckdb

from arrears import warehouse
from arrears.contract import Dataset
from arrears.errors import InputRejected
from arrears.ingest.summary import LandedFile

log = logging.getLogger(__package__)


def absent_dataset(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, folder: Path, snapshot_date: date
) -> LandedFile:
    """A dataset with no file today: refused, empty, or carried forward from its last snapshot."""
    if dataset.required:
        raise InputRejected(
            str(folder / f"{dataset.name}.csv"),
            f"required dataset {dataset.name} is missing (no .csv or .parquet)",
            0,
            hint="every run needs loans, installments and customers",
        )
    if not dataset.carries_forward:
        return LandedFile(dataset.name, None, None, 0)
    # A full-snapshot dataset without a file today: yesterday's state stays in force.
    previous = warehouse.scalar(
        con,
        f"select max(snapshot_date) from raw.{dataset.name} where snapshot_date < $d",
        {"d": snapshot_date},
    )
    if previous is None:
        log.info("%s: no file and no earlier snapshot; treated as empty", dataset.name)
        return LandedFile(dataset.name, None, None, 0)
    columns = ", ".join(dataset.column_names)
    con.execute(
        f"insert into work.{dataset.name} select $d, {columns} "
        f"from raw.{dataset.name} where snapshot_date = $previous",
        {"d": snapshot_date, "previous": previous},
    )
    rows = warehouse.count(con, f"work.{dataset.name}")
    log.info(
        "%s: no file for %s; carried forward %d rows from %s",
        dataset.name,
        snapshot_date,
        rows,
        previous,
    )
    return LandedFile(dataset.name, None, None, rows, carried_forward_from=previous.isoformat())


def drop_seen_events(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> int:
    """contact_events are increments: an event_id already landed on another date is ignored.

    The ledger marts.contact_history holds every event once, whatever raw.* still keeps. An
    event lands with the snapshot of the day it occurred or later (a day of slack for time
    zones), so only the ledger's nights from the earliest occurrence landed tonight are read:
    the check costs what the increment spans, not what the history holds."""
    before = warehouse.count(con, "work.contact_events")
    since = warehouse.scalar(con, "select min(occurred_at)::date - 1 from work.contact_events")
    con.execute(
        "delete from work.contact_events where event_id in "
        "(select event_id from marts.contact_history "
        "where snapshot_date <> $d and snapshot_date >= $since)",
        {"d": snapshot_date, "since": since},
    )
    dropped = before - warehouse.count(con, "work.contact_events")
    if dropped:
        log.info("contact_events: %d events already landed on other dates were ignored", dropped)
    return dropped
