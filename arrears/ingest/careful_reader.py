"""The careful pass: a file read as text, checked rule by rule, and only then typed.

It runs when the fast pass fails (and always for Parquet). The file is staged as text into a
scratch table, checked column by column (missing values, then each type's acceptance rule),
then for duplicate keys, and only then cast into `work.<dataset>`. It finds every offending row
and raises InputRejected naming the file, the rule, the count and the first offending rows;
nothing reaches `raw` or `marts` from a file that failed here.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from arrears import warehouse
from arrears.contract import Column, Dataset
from arrears.errors import InputRejected, rejected
from arrears.ingest.acceptance import quote, rule_of, typed_select
from arrears.ingest.header import check_header, contract_names
from arrears.ingest.transcoding import not_valid
from arrears.personal import WITHHELD, unquoted

EXAMPLES = 5
_FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}


def staged_table(dataset: Dataset) -> str:
    return f"_landed_{dataset.name}"


def load_staged(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    path: Path,
    header: list[str],
    snapshot_date: date,
    warned: bool = False,
) -> tuple[int, list[str]]:
    """Check the staged text rule by rule, then cast it into `work.<dataset>`.

    `warned`: the fast path already checked this header and named its ignored columns.
    """
    table = staged_table(dataset)
    ignored = check_header(dataset, path, header, warn=not warned)
    names = contract_names(dataset, header)
    for found, name in zip(header, names, strict=True):
        if found != name:
            con.execute(f"alter table {table} rename column {quote(found)} to {quote(name)}")
    header = names
    rows = warehouse.count(con, table)
    check_not_empty(dataset, path, rows)
    _check_values(con, dataset, path, table, header)
    _check_keys(con, dataset, path, table)
    _insert_typed(con, dataset, table, header, snapshot_date)
    con.execute(f"drop table {table}")
    return rows, ignored


def check_not_empty(dataset: Dataset, path: Path, rows: int) -> None:
    if rows == 0 and dataset.required:
        raise InputRejected(str(path), "file has a header but no rows", 0)


def stage_csv(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, original: Path, readable: Path, table: str
) -> list[str]:
    try:
        con.execute(
            f"create or replace temp table {table} as "
            "select * from read_csv($path, header = true, all_varchar = true, delim = ',', "
            "quote = '\"', escape = '\"', strict_mode = true, null_padding = false, "
            "auto_detect = true, sample_size = -1)",
            {"path": str(readable)},
        )
    except duckdb.Error as exc:
        raise _csv_error(dataset, original, exc) from None
    return _columns(con, table)


def _csv_error(dataset: Dataset, path: Path, exc: duckdb.Error) -> InputRejected:
    message = str(exc)
    if "Invalid unicode" in message or "not utf-8" in message:
        return not_valid(path, "utf-8", 0)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not dataset.holds_personal_data:
        first = lines[:3]
    else:
        # DuckDB quotes the offending line and values: only where it is, not what it holds.
        where = (line for line in lines if not line.startswith("Original Line"))
        first = [unquoted(line) for line in where][:2]
    return InputRejected(
        str(path),
        "malformed CSV (truncated row, wrong number of columns or bad quoting)",
        1,
        examples=first,
        hint="re-export the file: every row needs the header's columns",
    )


def stage_parquet(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, path: Path, table: str
) -> list[str]:
    try:
        schema = con.execute(
            "select column_name, column_type from (describe select * from read_parquet($path))",
            {"path": str(path)},
        ).fetchall()
    except duckdb.Error as exc:
        raise InputRejected(str(path), f"unreadable Parquet file: {exc}", 1) from None
    names = contract_names(dataset, [name for name, _ in schema])
    floats = [
        f"{name} ({str(kind).upper()})"
        for name, (_, kind) in zip(names, schema, strict=True)
        if name in dataset.column_names
        and dataset.column(name).type == "decimal"
        and str(kind).upper() in _FLOAT_TYPES
    ]
    if floats:
        raise InputRejected(
            str(path),
            "amounts stored as floating point: " + ", ".join(floats),
            len(floats),
            hint="write amounts as DECIMAL(18,2) or text with two decimals",
            unit="column",
        )
    # Everything as text, so Parquet and CSV go through the same checks and casts.
    select = ", ".join(
        f"cast({quote(name)} as varchar) as {quote(name.strip())}" for name, _ in schema
    )
    con.execute(
        f"create or replace temp table {table} as select {select} from read_parquet($path)",
        {"path": str(path)},
    )
    return _columns(con, table)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [row[0] for row in con.execute(f"describe {table}").fetchall()]


def _text(column: Column) -> str:
    """The staged value as the checks see it: text trimmed, empty as missing."""
    return rule_of(column).staged(quote(column.name))


def _key_expr(dataset: Dataset) -> str:
    return " || '|' || ".join(f"coalesce({_text(dataset.column(k))}, '')" for k in dataset.key)


def _check_values(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, path: Path, table: str, header: list[str]
) -> None:
    checks: list[tuple[Column, str, str]] = []
    for column in dataset.columns:
        if column.name not in header:
            continue
        rule = rule_of(column)
        if column.required:
            checks.append((column, "missing value", f"{_text(column)} is null"))
        refused = rule.refused(quote(column.name))
        if refused and rule.refusal:
            checks.append((column, rule.refusal, refused))
    if not checks:
        return
    counts = con.execute(
        "select "
        + ", ".join(f"count(*) filter (where {predicate})" for _, _, predicate in checks)
        + f" from {table}"
    ).fetchall()[0]
    # Every broken column of the file at once, not one per run.
    rejected(
        [
            InputRejected(
                str(path),
                f"column {column.name}: {refusal}",
                int(bad_count),
                examples=_examples(con, dataset, column, table, predicate),
            )
            for (column, refusal, predicate), bad_count in zip(checks, counts, strict=True)
            if bad_count
        ]
    )


def _examples(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, column: Column, table: str, predicate: str
) -> list[str]:
    """The first offending rows, by key, with the value where it may be shown.

    Values of personal columns, and of any column of a dataset holding personal data, are
    withheld; when the offending column is that dataset's key, the rows are named by their
    position in the file (the key is the value).
    """
    if not dataset.may_show(column.name) or column.personal:
        value = f"'{WITHHELD}'"
    else:
        value = quote(column.name)
    if column.name in dataset.key and dataset.holds_personal_data:
        rows = con.execute(
            f"select rowid + 1 from {table} where {predicate} order by rowid limit {EXAMPLES}"
        ).fetchall()
        return [f"data row {n}: '{WITHHELD}'" for (n,) in rows]
    rows = con.execute(
        f"select {_key_expr(dataset)}, {value} from {table} where {predicate} limit {EXAMPLES}"
    ).fetchall()
    return [f"key {key or '<empty>'}: {shown!r}" for key, shown in rows]


def _check_keys(con: duckdb.DuckDBPyConnection, dataset: Dataset, path: Path, table: str) -> None:
    key = _key_expr(dataset)
    # Grouping by the key columns themselves spares building 14M key strings on clean files.
    columns = ", ".join(_text(dataset.column(k)) for k in dataset.key)
    row = con.execute(
        f"select count(*), sum(n) from (select count(*) as n from {table} "
        f"group by {columns} having count(*) > 1)"
    ).fetchall()[0]
    if not row[0]:
        return
    examples = con.execute(
        f"select {key} as k, count(*) as n from {table} group by k having count(*) > 1 "
        f"order by n desc, k limit {EXAMPLES}"
    ).fetchall()
    raise InputRejected(
        str(path),
        f"duplicate key ({', '.join(dataset.key)})",
        int(row[1]),
        examples=[f"key {k}: {n} rows" for k, n in examples],
        hint=f"each ({', '.join(dataset.key)}) must appear once per file",
    )


def _insert_typed(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    table: str,
    header: list[str],
    snapshot_date: date,
) -> None:
    select, params = typed_select(dataset, set(header), lambda c: rule_of(c).parsed(quote(c.name)))
    con.execute(
        f"insert into work.{dataset.name} select $snapshot_date, {select} from {table}",
        {**params, "snapshot_date": snapshot_date},
    )
