"""Where a snapshot date's files are, which file holds each dataset, and its checksum."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from arrears.errors import InputRejected

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


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
