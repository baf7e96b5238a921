"""A landing file's header against the contract: required columns present, names unique,
columns the contract does not know named once and ignored."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from arrears.contract import Dataset
from arrears.errors import InputRejected

log = logging.getLogger(__package__)


def csv_header(path: Path) -> list[str] | None:
    """The header row's column names, or None when it cannot be read (the careful path says why)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return next(csv.reader(fh))
    except (StopIteration, UnicodeDecodeError, csv.Error):
        return None


def check_header(dataset: Dataset, path: Path, header: list[str], warn: bool = True) -> list[str]:
    """Refuse a header without the required columns or with a repeated name; return (and, when
    `warn`, log) the columns that are not in the contract."""
    names = list(header)
    missing = [c.name for c in dataset.columns if c.required and c.name not in names]
    if missing:
        raise InputRejected(
            str(path),
            "missing required column" + ("s " if len(missing) > 1 else " ") + ", ".join(missing),
            len(missing),
            examples=["header: " + ",".join(names)],
            hint=f"{dataset.name} needs: "
            + ", ".join(c.name for c in dataset.columns if c.required),
        )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputRejected(str(path), "duplicate column names: " + ", ".join(dupes), len(dupes))
    ignored = [n for n in names if n not in dataset.column_names]
    if ignored and warn:
        log.warning("%s: ignoring columns not in the contract: %s", path.name, ", ".join(ignored))
    return ignored
