"""The archive of raw snapshots that fell out of raw.* (docs/CONTRACT.md section 8).

    <archive>/<dataset>/snapshot_date=<D>/data.parquet

One file per dataset and snapshot date: the dataset's contract columns as they were landed
and typed (the folder names the date, hive style), zstd, rows in a total order, so the same
rows always give the same bytes. Every dataset but customers is archived, an empty snapshot
as a file without rows: "no rows that night" and "never archived" stay apart, which a replay
needs (arrears/restore.py). raw.customers is never archived.

Writing is crash-safe (docs/reliability.md "Archive"): the file is written as
`data.parquet.tmp`, flushed to disk, read back and counted, then renamed to its final name and
the folder flushed, all before the transaction that deletes the rows from raw.* commits. So a
kill at any point leaves the snapshot in raw.* (with at most a byte-identical file beside it,
which the next night writes again) or in the archive alone; never in neither. A `.tmp` file is
never read.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb

from arrears import faults
from arrears.contract import DATASETS
from arrears.errors import ArrearsError
from arrears.publish.folders import fsync_path

# raw.customers is personal data: its older copies are deleted, never archived.
ARCHIVED = tuple(name for name in DATASETS if name != "customers")
FILE_NAME = "data.parquet"
# Fixed writer options: the bytes depend on them (and on the DuckDB version, which the file
# records), so they are spelled out rather than left to defaults.
PARQUET_OPTIONS = "format parquet, compression zstd, row_group_size 122880"


class ArchiveError(ArrearsError):
    """An archive file does not hold what raw.* holds (exit 1); raw.* is left as it was."""


def snapshot_path(archive: Path, dataset: str, snapshot_date: date) -> Path:
    return Path(archive) / dataset / f"snapshot_date={snapshot_date.isoformat()}" / FILE_NAME


def archived_dates(archive: Path, dataset: str) -> list[date]:
    """The snapshot dates of `dataset` in the archive (complete files only), in order."""
    folder = Path(archive) / dataset
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob(f"snapshot_date=*/{FILE_NAME}"):
        try:
            found.append(date.fromisoformat(path.parent.name.split("=", 1)[1]))
        except ValueError:
            continue
    return sorted(found)


def file_rows(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Rows of a Parquet file, from its footer."""
    row = con.execute(
        "select coalesce(sum(num_rows), 0) from parquet_file_metadata($path)", {"path": str(path)}
    ).fetchall()
    return int(row[0][0])


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def write_snapshot(
    con: duckdb.DuckDBPyConnection, archive: Path, dataset: str, snapshot_date: date
) -> tuple[Path, int]:
    """Write raw.<dataset> of `snapshot_date` to its archive file; returns (path, rows).

    The rows stay in raw.*: the caller deletes them, in its transaction, once this returns.
    """
    if dataset not in ARCHIVED:
        raise ValueError(f"{dataset} is never archived")
    target = snapshot_path(archive, dataset, snapshot_date)
    created = not target.parent.exists()
    target.parent.mkdir(parents=True, exist_ok=True)
    if created:
        fsync_path(target.parent.parent)
        fsync_path(target.parent.parent.parent)
    temporary = target.with_name(FILE_NAME + ".tmp")
    columns = ", ".join(DATASETS[dataset].column_names)
    # `order by all`: a total order, so the bytes do not depend on how DuckDB scanned the rows.
    query = f"select {columns} from raw.{dataset} where snapshot_date = $snapshot_date order by all"
    written = con.execute(
        f"copy ({query}) to {_quoted(temporary)} ({PARQUET_OPTIONS})",
        {"snapshot_date": snapshot_date},
    ).fetchall()
    rows = int(written[0][0]) if written else 0
    fsync_path(temporary)
    expected = con.execute(
        f"select count(*) from raw.{dataset} where snapshot_date = $d", {"d": snapshot_date}
    ).fetchall()[0][0]
    found = file_rows(con, temporary)
    if not rows == found == expected:
        raise ArchiveError(
            f"{temporary}: read back {found} rows, raw.{dataset} holds {expected} for "
            f"{snapshot_date} (wrote {rows}); nothing was deleted from raw.{dataset}"
        )
    faults.checkpoint("archive:tmp-written")
    os.replace(temporary, target)
    fsync_path(target.parent)
    faults.checkpoint("archive:renamed")
    return target, rows
