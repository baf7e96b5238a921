"""The fast pass: a clean CSV file parsed, typed and checked in one streaming read.

DuckDB's typed reader parses the file straight into `work.<dataset>`, with the checks its casts
do not make themselves (arrears.ingest.acceptance) evaluated in the same pass; then required
values and keys are checked on the typed table. Clean files, the nightly case, are read once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb

from arrears import warehouse
from arrears.contract import Dataset
from arrears.ingest.acceptance import literal, quote, rule_of, typed_reader, typed_select
from arrears.ingest.landing import FileScan
from arrears.personal import mask

log = logging.getLogger(__package__)


def load_fast(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    path: Path,
    header: list[str],
    snapshot_date: date,
    scanned: Callable[[], FileScan],
) -> int | None:
    """One typed, checked pass of the file into `work.<dataset>`; None when anything is wrong.

    `header`: the file's column names in order, as the contract spells them (the reader names
    the columns itself and skips the file's header row). `scanned`: what the read of the
    file's bytes found (waited for once the typed pass is done).

    None sends the file to the careful path, which names every rule broken and its rows; so a
    failure here needs no message of its own.
    """
    names = set(dataset.column_names)
    columns = ", ".join(
        f"{literal(name)}: "
        + literal(rule_of(dataset.column(name)).read_as if name in names else "VARCHAR")
        for name in header
    )
    select, params = typed_select(
        dataset, set(header), lambda c: rule_of(c).checked(quote(c.name), c.name)
    )
    try:
        con.execute(
            f"insert into work.{dataset.name} select $snapshot_date, {select} "
            f"from {typed_reader('$path', columns)}",
            {**params, "snapshot_date": snapshot_date, "path": str(path)},
        )
    except duckdb.Error as exc:
        # DuckDB's message may quote the file's values: of personal data, only that it failed.
        reason = "" if dataset.holds_personal_data else f" ({str(exc).splitlines()[0]})"
        log.info("%s: checking row by row%s", path.name, mask(reason))
        return None
    if scanned().control_bytes:
        # The per-file rule of text (acceptance): the careful pass names the rows.
        log.info("%s: checking row by row (control characters in the file)", path.name)
        return None
    table = f"work.{dataset.name}"
    required = [c.name for c in dataset.columns if c.required and c.name in header]
    # The row count and the missing required values in one scan of the loaded table.
    missing = " + ".join(f"count(*) - count({name})" for name in required) or "0"
    rows, missing = con.execute(f"select count(*), {missing} from {table}").fetchall()[0]
    keys = ", ".join(dataset.key)
    duplicated = warehouse.scalar(
        con, f"select count(*) from (select 1 from {table} group by {keys} having count(*) > 1)"
    )
    if missing or duplicated:
        log.info("%s: checking row by row (missing values or duplicate keys)", path.name)
        return None
    return int(rows)
