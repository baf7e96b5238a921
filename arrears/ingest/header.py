"""A landing file's header against the contract: names matched whatever their case and spaces,
required columns present, names unique, columns the contract does not know named and ignored.

`Loan_ID ` reads as loan_id. A header that still does not match is refused with the expected
and the found names, and a guess where a found name is close to a missing one.
"""

from __future__ import annotations

import csv
import difflib
import logging
from pathlib import Path

from arrears.contract import Dataset
from arrears.errors import InputRejected
from arrears.personal import mask

log = logging.getLogger(__package__)


def csv_header(path: Path) -> list[str] | None:
    """The header row's column names, or None when it cannot be read (the careful path says why)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return next(csv.reader(fh))
    except (StopIteration, UnicodeDecodeError, csv.Error):
        return None


def normalized(name: str) -> str:
    """A header name as it is matched: case and whitespace do not count."""
    return "".join(name.split()).lower()


def contract_names(dataset: Dataset, found: list[str]) -> list[str]:
    """The found names in file order, each as the contract spells it when it matches one."""
    known = {normalized(name): name for name in dataset.column_names}
    return [known.get(normalized(name), name.strip()) for name in found]


def check_header(dataset: Dataset, path: Path, header: list[str], warn: bool = True) -> list[str]:
    """Refuse a header without the required columns or with a name twice; return (and, when
    `warn`, log) the found names that are not in the contract."""
    names = contract_names(dataset, header)
    missing = [c.name for c in dataset.columns if c.required and c.name not in names]
    if missing:
        raise InputRejected(
            str(path),
            "missing required column" + ("s " if len(missing) > 1 else " ") + ", ".join(missing),
            len(missing),
            examples=[
                "expected: " + ", ".join(c.name for c in dataset.columns if c.required),
                "found: " + _found(dataset, header),
            ],
            hint=_guess(dataset, header, names, missing),
            unit="column",
        )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputRejected(
            str(path),
            "duplicate column names: " + ", ".join(dupes),
            len(dupes),
            examples=["found: " + _found(dataset, header)],
            hint="names are matched ignoring case and spaces: keep one column of each",
            unit="column",
        )
    ignored = [n for n in names if n not in dataset.column_names]
    if ignored and warn:
        text = mask(", ".join(ignored))
        log.warning("%s: ignoring columns not in the contract: %s", path.name, text)
    return ignored


def _shown(name: str) -> str:
    """A found name as printed: quoted when blanks or unprintable characters would hide it."""
    return name if name and name.isprintable() and name == name.strip() else repr(name)


def _found(dataset: Dataset, header: list[str]) -> str:
    """The found names; in a dataset holding personal data, only those of the contract.

    A file exported without a header row has a customer's values where its names should be.
    """
    if not dataset.holds_personal_data:
        return mask(", ".join(_shown(n) for n in header))
    known = {normalized(name) for name in dataset.column_names}
    shown = [_shown(n) for n in header if normalized(n) in known]
    others = len(header) - len(shown)
    if not shown:
        return f"{others} names, none a {dataset.name} column (not shown: they may be values)"
    if others:
        shown.append(f"and {others} other name{'s' if others > 1 else ''} (not shown)")
    return ", ".join(shown)


def _guess(dataset: Dataset, header: list[str], names: list[str], missing: list[str]) -> str:
    """What the dataset needs, with the found name each missing column is probably spelt as."""
    needs = f"{dataset.name} needs: " + ", ".join(c.name for c in dataset.columns if c.required)
    unknown = {
        normalized(found): found
        for found, name in zip(header, names, strict=True)
        if name not in dataset.column_names
    }
    guesses = []
    for column in missing:
        close = difflib.get_close_matches(column, list(unknown), n=1, cutoff=0.6)
        # In a dataset holding personal data, only a found name that reads as a name is shown.
        plain = close and close[0].isascii() and close[0].isidentifier()
        if close and (plain or not dataset.holds_personal_data):
            guesses.append(mask(f"{unknown[close[0]]!r} may be {column}"))
    return "; ".join([needs, *guesses])
