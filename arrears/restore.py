"""The landing folder of a date whose files are gone, rebuilt from what the warehouse kept
(docs/CONTRACT.md section 8, docs/operating.md "Replay and backfill of an archived date").

Ingest reads a landing folder; this module hands it one. When `landing/<D>/` exists and every
dataset it lacks can be carried forward from raw.*, that is the folder, untouched. Otherwise a
private folder beside the warehouse (`.<warehouse>.landing-*`, owner-only: it may hold
personal data; removed when ingest is done, and any left by a killed run removed by the next)
holds one file per dataset:

- `landing/<D>/` is gone and raw.* still holds D: each dataset's snapshot of D from raw.*;
- gone and D archived: each archived dataset's file of D (a link to it), and customers from
  the latest copy of each customer in raw.customers, since customers are never archived: the
  replay sees today's names, contact data and consents, not those of D;
- `landing/<D>/` exists but lacks arrangements or holds, and raw.* holds no earlier snapshot of
  them (archived): links to the landed files, and the latest archived snapshot before D with
  rows, which is what ingest would have carried forward from raw.*.

`name_sources` then names the real sources in the ingest summary (ops.runs.inputs_json, the
log and rejection messages) instead of the private folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from arrears import archive, warehouse
from arrears.contract import DATASETS
from arrears.errors import ConfigError
from arrears.ingest import IngestSummary, find_file, landing_folder
from arrears.pii.keys import PiiKey
from arrears.pii.sealing import SEALED, open_records, query_frame

_SCRATCH = ".landing-"


@dataclass
class Landing:
    """The landing root ingest reads for a date, and where each restored file came from."""

    root: Path
    # dataset -> what its file holds, for files that are not the lender's own
    sources: dict[str, str] = field(default_factory=dict)
    # dataset -> the landed file a link in the private folder stands for
    linked: dict[str, Path] = field(default_factory=dict)
    # dataset -> the archived snapshot carried forward (no file landed for D)
    carried: dict[str, date] = field(default_factory=dict)
    # datasets whose file is not D's own snapshot (customers of an archived date)
    substituted: set[str] = field(default_factory=set)

    @property
    def restored(self) -> bool:
        return bool(self.sources or self.carried)

    def notes(self, snapshot_date: date) -> list[tuple[int, str]]:
        """(logging level, line): what the log says about the files read in place of
        landing/<D>/; a warning where the replay cannot see what the night saw (customers)."""
        lines = [
            (
                logging.WARNING if name in self.substituted else logging.INFO,
                f"{name}: landing/{snapshot_date} is gone, read from {source}",
            )
            for name, source in self.sources.items()
        ]
        lines += [
            (
                logging.INFO,
                f"{name}: no file for {snapshot_date} and no earlier snapshot in raw.{name}; "
                f"carrying forward the archived snapshot of {day}",
            )
            for name, day in self.carried.items()
        ]
        return lines

    def name_sources(self, summary: IngestSummary) -> None:
        for name, landed in summary.files.items():
            if name in self.linked:
                landed.file = str(self.linked[name])
            elif name in self.carried:
                landed.file, landed.sha256 = None, None
                landed.carried_forward_from = self.carried[name].isoformat()
            elif name in self.sources and landed.file is not None:
                landed.file = self.sources[name]


def _raw_holds(con: duckdb.DuckDBPyConnection, dataset: str, day: date) -> bool:
    return bool(
        warehouse.scalar(
            con,
            f"select count(*) > 0 from raw.{dataset} where snapshot_date = $d",
            {"d": day},
        )
    )


def is_kept(con: duckdb.DuckDBPyConnection, archive_root: Path, day: date) -> bool:
    """Whether the snapshot of `day` can be rebuilt without its landing folder: its loans are
    still in raw.* or in the archive."""
    return (
        _raw_holds(con, "loans", day) or archive.snapshot_path(archive_root, "loans", day).exists()
    )


def _raw_has_earlier(con: duckdb.DuckDBPyConnection, dataset: str, day: date) -> bool:
    return bool(
        warehouse.scalar(
            con,
            f"select count(*) > 0 from raw.{dataset} where snapshot_date < $d",
            {"d": day},
        )
    )


def _archived_before(con: duckdb.DuckDBPyConnection, root: Path, dataset: str, day: date):
    """The latest archived snapshot of `dataset` before `day` that has rows."""
    for earlier in reversed([d for d in archive.archived_dates(root, dataset) if d < day]):
        path = archive.snapshot_path(root, dataset, earlier)
        if archive.file_rows(con, path):
            return earlier, path
    return None


def _link(source: Path, target: Path) -> None:
    try:
        os.symlink(Path(source).resolve(), target)
    except OSError:
        shutil.copyfile(source, target)


def _copy_query(con: duckdb.DuckDBPyConnection, query: str, target: Path, params: dict) -> None:
    quoted = "'" + str(target).replace("'", "''") + "'"
    con.execute(f"copy ({query}) to {quoted} ({archive.PARQUET_OPTIONS})", params)


def _copy_customers(
    con: duckdb.DuckDBPyConnection,
    where: str,
    params: dict,
    target: Path,
    key: PiiKey | None,
) -> None:
    """raw.customers rows as a landing file: their sealed personal columns opened with the key
    (the file is the run's private scratch, removed with it, as a landing folder would be)."""
    columns = DATASETS["customers"].column_names
    frame = query_frame(
        con, f"select {', '.join(columns)}, pii from raw.customers {where} order by all", params
    )
    sealed = frame["pii"].is_not_null()
    if sealed.any():
        if key is None:
            raise ConfigError(
                "the customers of a replayed date are sealed in raw.customers: give their key "
                "(ARREARS_PII_KEY or ARREARS_PII_KEY_FILE)"
            )
        opened = open_records(frame["pii"].to_list(), frame["customer_id"].to_list(), key, SEALED)
        frame = frame.with_columns(
            pl.when(sealed).then(pl.Series(c, opened[c], dtype=pl.Utf8)).otherwise(pl.col(c))
            for c in SEALED
        )
    frame.drop("pii").write_parquet(target)


def _from_raw(
    con: duckdb.DuckDBPyConnection, day: date, folder: Path, found: Landing, key: PiiKey | None
) -> None:
    for name, dataset in DATASETS.items():
        if name == "customers":
            _copy_customers(
                con, "where snapshot_date = $d", {"d": day}, folder / "customers.parquet", key
            )
            found.sources[name] = f"raw.{name} (snapshot {day})"
            continue
        columns = ", ".join(dataset.column_names)
        _copy_query(
            con,
            f"select {columns} from raw.{name} where snapshot_date = $d order by all",
            folder / f"{name}.parquet",
            {"d": day},
        )
        found.sources[name] = f"raw.{name} (snapshot {day})"


def _from_archive(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    day: date,
    folder: Path,
    found: Landing,
    key: PiiKey | None,
) -> None:
    for name in archive.ARCHIVED:
        path = archive.snapshot_path(root, name, day)
        if path.exists():
            _link(path, folder / f"{name}.parquet")
            found.sources[name] = str(path)
    latest = warehouse.scalar(con, "select max(snapshot_date) from raw.customers")
    _copy_customers(
        con,
        "qualify row_number() over (partition by customer_id order by snapshot_date desc) = 1",
        {},
        folder / "customers.parquet",
        key,
    )
    found.substituted.add("customers")
    found.sources["customers"] = (
        f"raw.customers (customers are never archived: the latest copy of each customer, "
        f"up to snapshot {latest}, so today's contact data and consents)"
    )


def _scratch_folder(warehouse_path: Path) -> Path:
    parent = Path(warehouse_path).resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{Path(warehouse_path).name}{_SCRATCH}"
    # A run holds the warehouse run lock: whatever another run left here is a killed run's.
    for stale in parent.glob(f"{prefix}*"):
        shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


@contextlib.contextmanager
def landing_for(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    archive_root: Path,
    snapshot_date: date,
    warehouse_path: Path,
    key: PiiKey | None = None,
) -> Iterator[Landing]:
    """The landing root to ingest `snapshot_date` from (see the module doc)."""
    folder = landing_folder(landing, snapshot_date)
    if folder.is_dir():
        carried = {}
        for name, dataset in DATASETS.items():
            if not dataset.carries_forward or find_file(folder, name) is not None:
                continue
            if _raw_has_earlier(con, name, snapshot_date):
                continue
            earlier = _archived_before(con, archive_root, name, snapshot_date)
            if earlier is not None:
                carried[name] = earlier
        if not carried:
            yield Landing(Path(landing))
            return
    elif not is_kept(con, archive_root, snapshot_date):
        # Nothing kept of D: ingest says that the landing folder does not exist.
        yield Landing(Path(landing))
        return

    scratch = _scratch_folder(warehouse_path)
    try:
        target = scratch / snapshot_date.isoformat()
        target.mkdir()
        found = Landing(scratch)
        if folder.is_dir():
            for name in DATASETS:
                path = find_file(folder, name)
                if path is not None:
                    _link(path, target / path.name)
                    found.linked[name] = path
            for name, (day, path) in carried.items():
                _link(path, target / f"{name}.parquet")
                found.carried[name] = day
        elif _raw_holds(con, "loans", snapshot_date):
            _from_raw(con, snapshot_date, target, found, key)
        else:
            _from_archive(con, archive_root, snapshot_date, target, found, key)
        yield found
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
