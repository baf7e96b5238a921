"""A run continues the warehouse's history, or is told to start a new one.

A warehouse that is missing, or holds no committed snapshot, while the outbox has published
action dates or the landing folder holds snapshots before D, is almost always the wrong file:
a worker started in another folder (the default path is relative), a mistyped
ARREARS_WAREHOUSE, a lost disk. Run anyway, it would start a new history: cadences, episodes
and the letters already sent forgotten, the same letters sent again. Such a run refuses to
start (exit 2) before anything is written, not even the run lock's file, unless asked to
initialise (`arrears run --init`, `arrears backfill --init`, or `arrears init` once).

An initialised warehouse records it in ops.initialisations (when, where, for which date, what
earlier dates were seen), so later runs on it go ahead while it is still empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from arrears import warehouse
from arrears.errors import ConfigError

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class FreshWarehouse(ConfigError):
    """A missing or empty warehouse where the outbox or landing folder shows a history."""


@dataclass(frozen=True)
class Evidence:
    """Dates outside the warehouse that say a history exists."""

    published: tuple[date, ...]  # action dates published in the outbox
    landed: tuple[date, ...]  # landing snapshots before the run's date

    def __bool__(self) -> bool:
        return bool(self.published or self.landed)

    def describe(self, landing: Path, outbox: Path, snapshot_date: date | None) -> str:
        parts = []
        if self.published:
            dates = _span(self.published)
            parts.append(f"the outbox {outbox.resolve()} holds published action dates {dates}")
        if self.landed:
            before = f" before {snapshot_date}" if snapshot_date else ""
            parts.append(
                f"the landing folder {landing.resolve()} holds snapshots{before} "
                f"({_span(self.landed)})"
            )
        return " and ".join(parts)


def _span(days: tuple[date, ...]) -> str:
    if len(days) == 1:
        return days[0].isoformat()
    return f"{days[0]} .. {days[-1]} ({len(days)})"


def _dated_folders(root: Path) -> list[tuple[date, Path]]:
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        if path.is_dir() and _DATE.match(path.name):
            try:
                found.append((date.fromisoformat(path.name), path))
            except ValueError:
                continue
    return sorted(found)


def evidence(landing: Path, outbox: Path, snapshot_date: date | None) -> Evidence:
    """Published outbox folders (with a manifest) and landing folders with files before D
    (any date when D is None)."""
    published = tuple(
        day for day, path in _dated_folders(outbox) if (path / "_manifest.json").is_file()
    )
    landed = tuple(
        day
        for day, path in _dated_folders(landing)
        if (snapshot_date is None or day < snapshot_date)
        and any(p.is_file() for p in path.iterdir())
    )
    return Evidence(published, landed)


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(
        warehouse.scalar(
            con,
            "select count(*) from information_schema.tables "
            "where table_schema = $s and table_name = $t",
            {"s": schema, "t": name},
        )
    )


def history_of(con: duckdb.DuckDBPyConnection) -> str | None:
    """What shows the warehouse has a history (committed snapshots, or an initialisation)."""
    if _table_exists(con, "raw", "loans"):
        nights = warehouse.scalar(con, "select count(distinct snapshot_date) from raw.loans")
        if nights:
            return f"{nights} committed snapshot(s)"
    if _table_exists(con, "ops", "initialisations"):
        when = warehouse.scalar(con, "select min(initialised_at) from ops.initialisations")
        if when is not None:
            return f"initialised at {when}"
    return None


def check(
    warehouse_path: Path,
    landing: Path,
    outbox: Path,
    snapshot_date: date,
    *,
    init: bool,
    wait_seconds: float,
) -> Evidence:
    """Refuse (FreshWarehouse) a run that would start a new history by mistake.

    Returns what was seen outside the warehouse, so an initialising run can record it.
    Reads only: the warehouse is opened read-only when it exists, and nothing is created.
    """
    seen = evidence(landing, outbox, snapshot_date)
    if init or not seen:
        return seen
    path = Path(warehouse_path)
    if path.exists():
        with warehouse.connect(path, read_only=True, wait_seconds=wait_seconds) as con:
            if history_of(con):
                return seen
        state = "holds no committed snapshot"
    else:
        state = "does not exist"
    raise FreshWarehouse(
        f"warehouse {path.resolve()} {state}, but {seen.describe(landing, outbox, snapshot_date)}: "
        "this run would start a new history and forget the cadences and letters already sent. "
        "Nothing was written. If the warehouse is elsewhere, point ARREARS_WAREHOUSE "
        f"(--warehouse) at it (the working directory is {Path.cwd()}); to start a new history "
        "on purpose, run with --init, or `arrears init` first."
    )


def record_initialisation(
    con: duckdb.DuckDBPyConnection,
    warehouse_path: Path,
    snapshot_date: date | None,
    seen: Evidence,
    landing: Path,
    outbox: Path,
) -> bool:
    """Note in ops.initialisations that this warehouse starts its history on purpose; once,
    and only while it has none. Returns whether a row was written."""
    if history_of(con):
        return False
    con.execute(
        "insert into ops.initialisations values (now(), $path, $d, $seen)",
        {
            "path": str(Path(warehouse_path).resolve()),
            "d": snapshot_date,
            "seen": seen.describe(landing, outbox, snapshot_date) if seen else None,
        },
    )
    return True
