"""One landing folder into `work.<dataset>`, dataset by dataset: its file or its absence."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import duckdb

from arrears import warehouse
from arrears.contract import DATASETS, Dataset
from arrears.errors import InputRejected, Rejections, rejected
from arrears.ingest import careful_reader
from arrears.ingest.carry_forward import absent_dataset, drop_seen_events
from arrears.ingest.fast_reader import load_fast
from arrears.ingest.header import check_header, contract_names, csv_header
from arrears.ingest.landing import FileScan, find_file, landing_folder, scan_file
from arrears.ingest.summary import IngestSummary, LandedFile
from arrears.ingest.transcoding import utf8_copy

log = logging.getLogger(__package__)


def ingest(
    con: duckdb.DuckDBPyConnection,
    snapshot_date: date,
    landing: Path,
    encodings: dict[str, str] | None = None,
    default_encoding: str = "utf-8",
) -> IngestSummary:
    """Load every dataset of `landing/<D>/` into `work.<dataset>`, or raise InputRejected."""
    folder = landing_folder(landing, snapshot_date)
    if not folder.is_dir():
        raise InputRejected(
            str(folder),
            "landing folder for the snapshot date does not exist",
            0,
            hint=f"land the files of {snapshot_date} there, or check --landing",
        )
    encodings = encodings or {}
    files: dict[str, LandedFile] = {}
    # Every file is read whatever an earlier one broke: one run names all that is wrong.
    refused: list[InputRejected] = []
    for dataset in DATASETS.values():
        con.execute(warehouse.work_table_ddl(dataset.name))
        try:
            path = find_file(folder, dataset.name)
            if path is None:
                files[dataset.name] = absent_dataset(con, dataset, folder, snapshot_date)
                continue
            encoding = encodings.get(dataset.name, default_encoding)
            files[dataset.name] = load_file(con, dataset, path, snapshot_date, encoding)
        except Rejections as exc:
            refused += exc.rejections
        except InputRejected as exc:
            refused.append(exc)
    rejected(refused)
    files["contact_events"].duplicates_ignored = drop_seen_events(con, snapshot_date)
    files["contact_events"].rows -= files["contact_events"].duplicates_ignored
    return IngestSummary(snapshot_date, files)


def load_file(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    path: Path,
    snapshot_date: date,
    encoding: str = "utf-8",
) -> LandedFile:
    """Check one landing file and insert it, typed, into `work.<dataset>`."""
    if path.stat().st_size == 0:
        raise InputRejected(str(path), "file is empty (no header row)", 0)
    # The file's bytes are read on a second thread while DuckDB parses it (hashing and DuckDB
    # release the GIL).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") as pool:
        scan = pool.submit(scan_file, path)
        if path.suffix == ".parquet":
            table = careful_reader.staged_table(dataset)
            header = careful_reader.stage_parquet(con, dataset, path, table)
            rows, ignored = careful_reader.load_staged(con, dataset, path, header, snapshot_date)
            used_encoding = None
        else:
            with utf8_copy(path, encoding) as readable:
                rows, ignored = _load_csv(con, dataset, path, readable, snapshot_date, scan.result)
            used_encoding = encoding
        sha256 = scan.result().sha256
    log.info("%s: %d rows from %s", dataset.name, rows, path.name)
    return LandedFile(dataset.name, str(path), sha256, rows, used_encoding, ignored_columns=ignored)


def _load_csv(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    original: Path,
    readable: Path,
    snapshot_date: date,
    scanned: Callable[[], FileScan],
) -> tuple[int, list[str]]:
    """The fast pass when the header can be read and the file is clean, else the careful one."""
    header = csv_header(readable)
    warned = header is not None
    if header is not None:
        ignored = check_header(dataset, original, header)
        names = contract_names(dataset, header)
        rows = load_fast(con, dataset, readable, names, snapshot_date, scanned)
        if rows is not None:
            careful_reader.check_not_empty(dataset, original, rows)
            return rows, ignored
        con.execute(warehouse.work_table_ddl(dataset.name))
    table = careful_reader.staged_table(dataset)
    header = careful_reader.stage_csv(con, dataset, original, readable, table)
    return careful_reader.load_staged(con, dataset, original, header, snapshot_date, warned=warned)
