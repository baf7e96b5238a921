"""Where a snapshot date's files are, which file holds each dataset, and what one read of its
bytes tells: the checksum, and whether a control character is anywhere in it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from arrears.errors import InputRejected
from arrears.ingest.acceptance import control_bytes_in

CHUNK = 1 << 20


def landing_folder(landing: Path, snapshot_date: date) -> Path:
    return Path(landing) / snapshot_date.isoformat()


def find_file(folder: Path, dataset: str) -> Path | None:
    found = [p for p in (folder / f"{dataset}.csv", folder / f"{dataset}.parquet") if p.exists()]
    if len(found) > 1:
        raise InputRejected(
            str(folder),
            f"both {dataset}.csv and {dataset}.parquet are present",
            2,
            hint="keep exactly one file per dataset",
        )
    return found[0] if found else None


@dataclass(frozen=True)
class FileScan:
    sha256: str
    # A control character refused in text is somewhere in the file (acceptance.control_bytes_in).
    control_bytes: bool


def scan_file(path: Path) -> FileScan:
    """One read of the file: its checksum, and whether any byte is a refused control character."""
    digest = hashlib.sha256()
    control = False
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            control = control or control_bytes_in(chunk)
    return FileScan(digest.hexdigest(), control)
