"""Housekeeping after a night: retention of raw snapshots, personal data and outbox folders
(docs/CONTRACT.md section 8, docs/operating.md "Retention").

- raw.<dataset> keeps the last `raw_keep_days` snapshot dates (those of raw.loans, which every
  night lands); older snapshots move to the archive (arrears/archive.py), except customers,
  whose older copies are deleted.
- A customer none of whose loans has been on the book (ACTIVE or CHARGED_OFF) for more than
  `personal_data_days` days is erased from raw.customers and raw.contact_fingerprints:
  marts.customer_state's last_on_book_date in the state version of the latest committed night,
  or, for a customer never seen on the book, the day before the first committed night.
- Outbox folders more than `outbox_keep_days` days before the night's action date are deleted
  (arrears/publish/retention.py); the night's own set and later ones never are.

Each is recorded in ops.housekeeping: tables, folders, dates and row counts, never values.

Order, so that a kill at any point leaves one truth (docs/reliability.md "Archive"): in one
DuckDB transaction, each snapshot's archive file is written, read back and renamed to its final
name before its rows are deleted from raw.*; old customer copies are deleted, customers erased,
expired outbox folders hidden (renamed) and the records inserted; the hidden folders are removed
once it has committed. Until then raw.* still holds every snapshot. Everything is idempotent: a
rerun writes byte-identical files over leftovers and finds nothing more to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from arrears import archive, faults, state, warehouse
from arrears.errors import ArrearsError
from arrears.publish import retention as outbox_retention
from arrears.publish.folders import safe_token
from arrears.runs import action_date_for

# The personal-data zone: the sealed customers and the fingerprints of the phones and addresses
# reported bad (a fingerprint identifies a number as well as the number does). Each table's
# table is searched on its own (one ops.housekeeping row each), so the fingerprints of a customer
# erased from raw.customers before they were covered go too.
PERSONAL_TABLES = ("raw.customers", "raw.contact_fingerprints")


@dataclass(frozen=True)
class Retention:
    """How long each kind of data is kept (the ARREARS_* retention settings)."""

    archive: Path
    outbox: Path
    raw_keep_days: int = 7
    personal_data_days: int = 1825
    outbox_keep_days: int = 90

    @classmethod
    def from_settings(cls, settings: Any) -> Retention:
        return cls(
            archive=Path(settings.archive),
            outbox=Path(settings.outbox),
            raw_keep_days=settings.raw_keep_days,
            personal_data_days=settings.personal_data_days,
            outbox_keep_days=settings.outbox_keep_days,
        )


@dataclass(frozen=True)
class Entry:
    """One row of ops.housekeeping."""

    action: str  # archived, deleted, erased
    target: str  # raw.<dataset> or outbox/<action_date>
    target_date: date | None
    rows: int
    customers: int | None = None
    location: str | None = None

    def describe(self) -> str:
        if self.action == "erased":
            return (
                f"erased {self.customers} customers ({self.rows} rows) from {self.target}: "
                f"last on the book on or before {self.target_date}"
            )
        if self.action == "archived":
            return f"archived {self.target} {self.target_date}: {self.rows} rows to {self.location}"
        if self.target.startswith("outbox/"):
            return f"deleted {self.target} ({self.rows} actions)"
        return f"deleted {self.target} {self.target_date}: {self.rows} rows"


@dataclass
class Report:
    """What one housekeeping did, and what it left alone and why."""

    snapshot_date: date
    entries: list[Entry]
    notes: list[str]

    def totals(self) -> dict[str, int]:
        """Rows per action and target, for ops.runs.row_counts_json and the log."""
        found: dict[str, int] = {}
        for entry in self.entries:
            target = "outbox" if entry.target.startswith("outbox/") else entry.target
            key = f"{entry.action} {target}"
            found[key] = found.get(key, 0) + entry.rows
        return found


def kept_snapshots(con: duckdb.DuckDBPyConnection, keep_days: int) -> list[date]:
    """The snapshot dates raw.* keeps: the latest `keep_days` of raw.loans."""
    rows = con.execute(
        "select distinct snapshot_date from raw.loans order by 1 desc limit $n", {"n": keep_days}
    ).fetchall()
    return sorted(d for (d,) in rows)


def _dates_before(con: duckdb.DuckDBPyConnection, dataset: str, cutoff: date) -> list[date]:
    rows = con.execute(
        f"select distinct snapshot_date from raw.{dataset} where snapshot_date < $cutoff "
        "order by 1",
        {"cutoff": cutoff},
    ).fetchall()
    return [d for (d,) in rows]


def _delete_snapshot(con: duckdb.DuckDBPyConnection, dataset: str, day: date) -> int:
    table = f"raw.{dataset}"
    before = warehouse.count(con, table)
    con.execute(f"delete from {table} where snapshot_date = $d", {"d": day})
    return before - warehouse.count(con, table)


def _archive(con: duckdb.DuckDBPyConnection, retention: Retention) -> list[Entry]:
    kept = kept_snapshots(con, retention.raw_keep_days)
    if len(kept) < retention.raw_keep_days:
        return []
    # The nights that fall out, read before anything is deleted: each archived dataset gets a
    # file for every one of them, a dataset without rows that night an empty file.
    nights = _dates_before(con, "loans", kept[0])
    entries = []
    for dataset in archive.ARCHIVED:
        for day in sorted({*nights, *_dates_before(con, dataset, kept[0])}):
            path, rows = archive.write_snapshot(con, retention.archive, dataset, day)
            deleted = _delete_snapshot(con, dataset, day)
            if deleted != rows:
                raise archive.ArchiveError(
                    f"raw.{dataset} {day}: {deleted} rows deleted but {rows} archived"
                )
            entries.append(Entry("archived", f"raw.{dataset}", day, rows, location=str(path)))
    for day in _dates_before(con, "customers", kept[0]):
        rows = _delete_snapshot(con, "customers", day)
        entries.append(Entry("deleted", "raw.customers", day, rows))
    return entries


def _erase(con: duckdb.DuckDBPyConnection, retention: Retention, notes: list[str]) -> list[Entry]:
    """Erase from the personal-data zone the customers off the book for longer than the period."""
    committed = state.committed_snapshots(con)
    if not committed:
        return []
    latest = committed[-1]
    version = warehouse.scalar(con, "select max(snapshot_date) from marts.customer_state")
    if version != latest:
        # After `arrears rebuild-state --through` an earlier date the state is behind the marts:
        # a customer back on the book since would look gone. Erase once it has caught up.
        notes.append(
            f"personal data not erased: the latest state version is {version}, the latest "
            f"committed night {latest} (the state catches up as those nights are rerun)"
        )
        return []
    # Off the book for more than personal_data_days: last on the book before this date.
    since = latest - timedelta(days=retention.personal_data_days)
    params = {"version": version, "first": committed[0], "since": since}
    entries = []
    for table in PERSONAL_TABLES:
        # A customer never seen on the book has been off it at least since the first night.
        erased = (
            f"select distinct personal.customer_id from {table} as personal "
            "left join marts.customer_state as customer_state "
            "on customer_state.customer_id = personal.customer_id "
            "and customer_state.snapshot_date = $version "
            "where coalesce(customer_state.last_on_book_date, $first::date - 1) < $since"
        )
        customers = warehouse.scalar(con, f"select count(*) from ({erased})", params)
        if not customers:
            continue
        before = warehouse.count(con, table)
        con.execute(f"delete from {table} where customer_id in ({erased})", params)
        rows = before - warehouse.count(con, table)
        entries.append(Entry("erased", table, since - timedelta(days=1), rows, customers))
    return entries


def _record(
    con: duckdb.DuckDBPyConnection, run_id: str, snapshot_date: date, entries: list[Entry]
) -> None:
    for entry in entries:
        con.execute(
            "insert into ops.housekeeping (run_id, snapshot_date, action, target, target_date, "
            "rows, customers, location, recorded_at) values ($run_id, $snapshot_date, $action, "
            "$target, $target_date, $rows, $customers, $location, now())",
            {
                "run_id": run_id,
                "snapshot_date": snapshot_date,
                "action": entry.action,
                "target": entry.target,
                "target_date": entry.target_date,
                "rows": entry.rows,
                "customers": entry.customers,
                "location": entry.location,
            },
        )


def _recorded_runs(con: duckdb.DuckDBPyConnection, target: str) -> set[str]:
    """The runs (as file-name parts) that recorded deleting `target`."""
    rows = con.execute(
        "select distinct run_id from ops.housekeeping where action = 'deleted' "
        "and target = $target",
        {"target": target},
    ).fetchall()
    return {safe_token(run_id) for (run_id,) in rows}


def run(
    con: duckdb.DuckDBPyConnection,
    snapshot_date: date,
    retention: Retention,
    run_id: str,
) -> Report:
    """Apply the retention rules after the night of `snapshot_date`; returns what was done."""
    notes: list[str] = []
    entries: list[Entry] = []
    action_date = action_date_for(snapshot_date)
    hidden: list[outbox_retention.ExpiredFolder] = []
    with warehouse.transaction(con):
        entries += _archive(con, retention)
        entries += _erase(con, retention, notes)
        # Folders an earlier housekeeping hid and was killed before removing: record those it
        # could not record, then remove them with tonight's.
        for folder in outbox_retention.hidden_folders(retention.outbox):
            if folder.run_token not in _recorded_runs(con, folder.target):
                entries.append(Entry("deleted", folder.target, folder.action_date, folder.rows))
            hidden.append(folder)
        for day in outbox_retention.expired(
            retention.outbox, action_date, retention.outbox_keep_days
        ):
            expired = outbox_retention.hide(retention.outbox, day, run_id)
            if expired is not None:
                faults.checkpoint("housekeeping:outbox-hidden")
                entries.append(Entry("deleted", expired.target, day, expired.rows))
                hidden.append(expired)
        _record(con, run_id, snapshot_date, entries)
        faults.checkpoint("housekeeping:before-commit")
    faults.checkpoint("housekeeping:after-commit")
    for folder in hidden:
        outbox_retention.remove(retention.outbox, folder)
    return Report(snapshot_date, entries, notes)


def latest_night(con: duckdb.DuckDBPyConnection) -> date:
    """The night `arrears housekeeping` runs for when no date is given."""
    committed = state.committed_snapshots(con)
    if committed:
        return committed[-1]
    latest = warehouse.scalar(con, "select max(snapshot_date) from raw.loans")
    if latest is None:
        raise ArrearsError("the warehouse holds no committed night: nothing to keep house for")
    return latest
