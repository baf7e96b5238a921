"""What a landing folder gets wrong that needs no warehouse to see: the folder missing, a
required file missing, a dataset in two files, an empty file, a header that cannot be read or
lacks required columns. The command line checks these before Prefect starts, in a fraction of
a second; ingest checks the same again inside the run (arrears/ingest/loading.py), with the
same messages, and then the values."""

from __future__ import annotations

import codecs
import csv
from datetime import date
from pathlib import Path

from arrears.contract import DATASETS
from arrears.errors import InputRejected
from arrears.ingest.header import check_header
from arrears.ingest.landing import find_file, landing_folder
from arrears.ingest.transcoding import not_valid

# Bytes read to find a header line; a header longer than this is read as unreadable here and
# left to the careful reader inside the run.
HEADER_BYTES = 1 << 16


def problems(
    landing: Path,
    snapshot_date: date,
    encodings: dict[str, str] | None = None,
    default_encoding: str = "utf-8",
) -> list[InputRejected]:
    """Every problem of the folder of `snapshot_date` that the files' first line shows."""
    folder = landing_folder(landing, snapshot_date)
    if not folder.is_dir():
        return [
            InputRejected(
                str(folder),
                "landing folder for the snapshot date does not exist",
                0,
                hint=f"land the files of {snapshot_date} there, or check --landing",
            )
        ]
    found: list[InputRejected] = []
    for dataset in DATASETS.values():
        try:
            path = find_file(folder, dataset.name)
            if path is None:
                if dataset.required:
                    found.append(
                        InputRejected(
                            str(folder / f"{dataset.name}.csv"),
                            f"required dataset {dataset.name} is missing (no .csv or .parquet)",
                            0,
                            hint="every run needs loans, installments and customers",
                        )
                    )
                continue
            if path.stat().st_size == 0:
                found.append(InputRejected(str(path), "file is empty (no header row)", 0))
                continue
            if path.suffix == ".csv":
                encoding = (encodings or {}).get(dataset.name, default_encoding)
                header = _header(path, encoding)
                if header is not None:
                    check_header(dataset, path, header, warn=False)
        except InputRejected as exc:
            found.append(exc)
    return found


def _header(path: Path, encoding: str) -> list[str] | None:
    """The header row, or None when this quick read cannot tell (the run's reader says why).
    A header that is not text in the configured encoding is refused here, with the message
    the run's readers give (arrears/ingest/transcoding.py, careful_reader.py)."""
    with open(path, "rb") as fh:
        head = fh.read(HEADER_BYTES)
    line, newline, _ = head.partition(b"\n")
    if not newline and len(head) == HEADER_BYTES:
        return None
    utf8 = codecs.lookup(encoding).name == "utf-8"
    try:
        text = line.decode("utf-8-sig" if utf8 else encoding)
    except UnicodeDecodeError as exc:
        raise not_valid(path, encoding, exc.start) from None
    try:
        return next(csv.reader([text.rstrip("\r")]))
    except (StopIteration, csv.Error):
        return None
