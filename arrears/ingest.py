"""Landing folder -> typed `work.<dataset>` tables (docs/CONTRACT.md section 2).

A CSV file is loaded in one streaming pass: DuckDB's typed reader parses it straight into
`work.<dataset>`, with the checks its casts do not make themselves (amounts exact to the cent,
integers whole, timestamps with an offset, booleans from a fixed set) evaluated in the same
pass, then required values and keys are checked on the typed table. Clean files, the nightly
case, are read once.

When anything in that pass fails, the file is read again the careful way: as text into a
scratch table, checked column by column (missing values, dates, amounts, integers, booleans,
timestamps), then for duplicate keys, and only then cast. That path finds every offending row
and raises InputRejected naming the file, the rule, the count and the first offending rows;
nothing reaches `raw` or `marts` from a file that failed here. Both paths accept exactly the
same values (tests/test_ingest.py checks this value by value), so which one ran never changes
the result. Parquet files always take the careful path.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from arrears import warehouse
from arrears.contract import DATASETS, Column, Dataset
from arrears.errors import InputRejected

log = logging.getLogger(__name__)

EXAMPLES = 5
_CHUNK = 1 << 20

# A value is accepted when it converts exactly; what would be lost or ambiguous is refused.
# Amounts are parsed to 6 decimals and must equal their value to the cent ('12.345' is refused,
# '1e3' is 1000.00); integers must be whole ('1.5' is refused, where a cast would round it);
# dates are YYYY-MM-DD with a four-digit year ('16/05/2025' and '25-05-01' are refused);
# timestamps must carry an offset, since a timestamp without one is ambiguous for contact
# windows; booleans come from a fixed set.
_EXACT = "DECIMAL(18,6)"
_DATE_FORMAT = "%Y-%m-%d"
_FIRST_DATE = "1000-01-01"
_BOOLEANS = "('true', 'false', 't', 'f', '1', '0')"
_TIMESTAMP = r"\s*\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)\s*"
# How each contract type is read by the typed CSV reader of the fast path.
_READ_AS = {
    "string": "VARCHAR",
    "date": "DATE",
    "decimal": _EXACT,
    "integer": _EXACT,
    "boolean": "VARCHAR",
    "timestamp": "VARCHAR",
}
_DESCRIPTIONS = {
    "date": "not a date (YYYY-MM-DD)",
    "decimal": "not an amount with at most 2 decimals",
    "integer": "not an integer",
    "boolean": "not a boolean (true/false)",
    "timestamp": "not an ISO 8601 timestamp with offset",
}
_FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}


@dataclass
class LandedFile:
    dataset: str
    file: str | None
    sha256: str | None
    rows: int
    encoding: str | None = None
    carried_forward_from: str | None = None
    duplicates_ignored: int = 0
    ignored_columns: list[str] = field(default_factory=list)


@dataclass
class IngestSummary:
    snapshot_date: date
    files: dict[str, LandedFile]

    def rows(self) -> dict[str, int]:
        return {name: f.rows for name, f in self.files.items()}

    def as_json(self) -> dict[str, dict]:
        return {name: asdict(f) for name, f in self.files.items()}

    def sources(self) -> dict[str, str]:
        """Where each dataset's rows came from, as rejection messages name it."""
        named = {}
        for name, f in self.files.items():
            if f.file:
                named[name] = f.file
            elif f.carried_forward_from:
                named[name] = f"{name} (no file; carried forward from {f.carried_forward_from})"
        return named


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
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


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
    for dataset in DATASETS.values():
        con.execute(warehouse.work_table_ddl(dataset.name))
        path = find_file(folder, dataset.name)
        if path is None:
            files[dataset.name] = _absent(con, dataset, folder, snapshot_date)
            continue
        encoding = encodings.get(dataset.name, default_encoding)
        files[dataset.name] = load_file(con, dataset, path, snapshot_date, encoding)
    files["contact_events"].duplicates_ignored = _drop_seen_events(con, snapshot_date)
    files["contact_events"].rows -= files["contact_events"].duplicates_ignored
    return IngestSummary(snapshot_date, files)


def _absent(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, folder: Path, snapshot_date: date
) -> LandedFile:
    if dataset.required:
        raise InputRejected(
            str(folder / f"{dataset.name}.csv"),
            f"required dataset {dataset.name} is missing (no .csv or .parquet)",
            0,
            hint="every run needs loans, installments and customers",
        )
    if not dataset.carries_forward:
        return LandedFile(dataset.name, None, None, 0)
    # A full-snapshot dataset without a file today: yesterday's state stays in force.
    previous = warehouse.scalar(
        con,
        f"select max(snapshot_date) from raw.{dataset.name} where snapshot_date < $d",
        {"d": snapshot_date},
    )
    if previous is None:
        log.info("%s: no file and no earlier snapshot; treated as empty", dataset.name)
        return LandedFile(dataset.name, None, None, 0)
    columns = ", ".join(dataset.column_names)
    con.execute(
        f"insert into work.{dataset.name} select $d, {columns} "
        f"from raw.{dataset.name} where snapshot_date = $previous",
        {"d": snapshot_date, "previous": previous},
    )
    rows = warehouse.count(con, f"work.{dataset.name}")
    log.info(
        "%s: no file for %s; carried forward %d rows from %s",
        dataset.name,
        snapshot_date,
        rows,
        previous,
    )
    return LandedFile(dataset.name, None, None, rows, carried_forward_from=previous.isoformat())


def _drop_seen_events(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> int:
    """contact_events are increments: an event_id already landed on another date is ignored.

    The ledger marts.contact_history holds every event once, whatever raw.* still keeps."""
    before = warehouse.count(con, "work.contact_events")
    con.execute(
        "delete from work.contact_events where event_id in "
        "(select event_id from marts.contact_history where snapshot_date <> $d)",
        {"d": snapshot_date},
    )
    dropped = before - warehouse.count(con, "work.contact_events")
    if dropped:
        log.info("contact_events: %d events already landed on other dates were ignored", dropped)
    return dropped


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
    # The file is hashed on a second thread while DuckDB reads it (both release the GIL).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") as pool:
        digest = pool.submit(sha256_file, path)
        if path.suffix == ".parquet":
            header = _stage_parquet(con, dataset, path, _staged(dataset))
            rows, ignored = _load_staged(con, dataset, path, header, snapshot_date)
            used_encoding = None
        else:
            with _utf8_copy(path, encoding) as readable:
                rows, ignored = _load_csv(con, dataset, path, readable, snapshot_date)
            used_encoding = encoding
        sha256 = digest.result()
    log.info("%s: %d rows from %s", dataset.name, rows, path.name)
    return LandedFile(dataset.name, str(path), sha256, rows, used_encoding, ignored_columns=ignored)


def _staged(dataset: Dataset) -> str:
    return f"_landed_{dataset.name}"


def _load_csv(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    original: Path,
    readable: Path,
    snapshot_date: date,
) -> tuple[int, list[str]]:
    header = _csv_header(readable)
    warned = header is not None
    if header is not None:
        ignored = _check_header(dataset, original, header)
        rows = _load_fast(con, dataset, readable, header, snapshot_date)
        if rows is not None:
            _check_not_empty(dataset, original, rows)
            return rows, ignored
        con.execute(warehouse.work_table_ddl(dataset.name))
    header = _stage_csv(con, original, readable, _staged(dataset))
    return _load_staged(con, dataset, original, header, snapshot_date, warned=warned)


def _load_staged(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    path: Path,
    header: list[str],
    snapshot_date: date,
    warned: bool = False,
) -> tuple[int, list[str]]:
    """The careful path: staged text checked rule by rule, then cast into `work.<dataset>`.

    `warned`: the fast path already checked this header and named its ignored columns.
    """
    table = _staged(dataset)
    ignored = _check_header(dataset, path, header, warn=not warned)
    rows = warehouse.count(con, table)
    _check_not_empty(dataset, path, rows)
    _check_values(con, dataset, path, table, header)
    _check_keys(con, dataset, path, table)
    _insert_typed(con, dataset, table, header, snapshot_date)
    con.execute(f"drop table {table}")
    return rows, ignored


def _check_not_empty(dataset: Dataset, path: Path, rows: int) -> None:
    if rows == 0 and dataset.required:
        raise InputRejected(str(path), "file has a header but no rows", 0)


def _csv_header(path: Path) -> list[str] | None:
    """The header row's column names, or None when it cannot be read (the careful path says why)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return next(csv.reader(fh))
    except (StopIteration, UnicodeDecodeError, csv.Error):
        return None


def _load_fast(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    path: Path,
    header: list[str],
    snapshot_date: date,
) -> int | None:
    """One typed, checked pass of the file into `work.<dataset>`; None when anything is wrong.

    None sends the file to the careful path, which names every rule broken and its rows; so a
    failure here needs no message of its own.
    """
    names = set(dataset.column_names)
    columns = ", ".join(
        f"{_literal(name)}: "
        + _literal(_READ_AS[dataset.column(name).type] if name in names else "VARCHAR")
        for name in header
    )
    select, params = _typed_select(dataset, header, lambda c: _checked(c, _quote(c.name)))
    try:
        con.execute(
            f"insert into work.{dataset.name} select $snapshot_date, {select} "
            f"from {typed_reader('$path', columns)}",
            {**params, "snapshot_date": snapshot_date, "path": str(path)},
        )
    except duckdb.Error as exc:
        log.info("%s: checking row by row (%s)", path.name, str(exc).splitlines()[0])
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


def typed_reader(path: str, columns: str) -> str:
    """SQL: DuckDB's typed CSV reader over `path` with `columns` ('name': 'TYPE', ...)."""
    return (
        f"read_csv({path}, header = true, columns = {{{columns}}}, auto_detect = false, "
        "delim = ',', quote = '\"', escape = '\"', strict_mode = true, "
        f"null_padding = false, dateformat = '{_DATE_FORMAT}')"
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@contextlib.contextmanager
def _utf8_copy(path: Path, encoding: str) -> Iterator[Path]:
    """Yield a path DuckDB can read as UTF-8: the file itself, or a transcoded temporary copy.

    DuckDB 2.0 reads only UTF-8/UTF-16/Latin-1 without its encodings extension (not available
    offline), so GB18030/GBK files are transcoded here, streaming, with strict decoding.
    """
    if codecs.lookup(encoding).name == "utf-8":
        yield path
        return
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="strict")
    looks_utf8 = True
    multibyte = False
    fd, tmp = tempfile.mkstemp(suffix=".csv", prefix=f".{path.stem}-", dir=path.parent)
    try:
        with open(path, "rb") as src, os.fdopen(fd, "w", encoding="utf-8", newline="") as dst:
            offset = 0
            while chunk := src.read(_CHUNK):
                if offset == 0 and chunk.startswith(codecs.BOM_UTF8):
                    looks_utf8 = multibyte = True
                try:
                    dst.write(decoder.decode(chunk))
                except UnicodeDecodeError as exc:
                    if _is_utf8_text(path):
                        raise _utf8_not_configured(path, encoding) from None
                    raise InputRejected(
                        str(path),
                        f"text is not valid {encoding} (byte offset {offset + exc.start})",
                        1,
                        hint="check the file's encoding and the configured one "
                        "(ARREARS_ENCODING / ARREARS_DATASET_ENCODINGS)",
                    ) from None
                if looks_utf8:
                    try:
                        utf8.decode(chunk)
                        multibyte = multibyte or any(b >= 0x80 for b in chunk)
                    except UnicodeDecodeError:
                        looks_utf8 = False
                offset += len(chunk)
            dst.write(decoder.decode(b"", final=True))
        if looks_utf8 and multibyte:
            # Valid UTF-8 with non-ASCII text is almost never GB18030: decoding it would
            # silently turn every name and address into mojibake.
            raise _utf8_not_configured(path, encoding)
        yield Path(tmp)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _is_utf8_text(path: Path) -> bool:
    """True when the whole file decodes as UTF-8 and holds non-ASCII text."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    multibyte = False
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                decoder.decode(chunk)
                multibyte = multibyte or any(b >= 0x80 for b in chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return multibyte


def _utf8_not_configured(path: Path, encoding: str) -> InputRejected:
    return InputRejected(
        str(path),
        f"text is UTF-8 but the dataset is configured as {encoding}",
        1,
        hint="remove the encoding setting for this dataset, or re-export it as " + encoding,
    )


def _stage_csv(
    con: duckdb.DuckDBPyConnection, original: Path, readable: Path, table: str
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
        raise _csv_error(original, exc) from None
    return _columns(con, table)


def _csv_error(path: Path, exc: duckdb.Error) -> InputRejected:
    message = str(exc)
    if "Invalid unicode" in message or "not utf-8" in message:
        return InputRejected(
            str(path),
            "text is not valid UTF-8",
            1,
            hint="if the file is GB18030/GBK, set ARREARS_ENCODING=gb18030 or "
            'ARREARS_DATASET_ENCODINGS=\'{"<dataset>": "gb18030"}\'',
        )
    first = [line.strip() for line in message.splitlines() if line.strip()][:3]
    return InputRejected(
        str(path),
        "malformed CSV (truncated row, wrong number of columns or bad quoting)",
        1,
        examples=first,
        hint="re-export the file: every row needs the header's columns",
    )


def _stage_parquet(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, path: Path, table: str
) -> list[str]:
    try:
        schema = con.execute(
            "select column_name, column_type from (describe select * from read_parquet($path))",
            {"path": str(path)},
        ).fetchall()
    except duckdb.Error as exc:
        raise InputRejected(str(path), f"unreadable Parquet file: {exc}", 1) from None
    types = {name.strip(): str(kind).upper() for name, kind in schema}
    floats = [
        f"{name} ({kind})"
        for name, kind in types.items()
        if name in dataset.column_names
        and dataset.column(name).type == "decimal"
        and kind in _FLOAT_TYPES
    ]
    if floats:
        raise InputRejected(
            str(path),
            "amounts stored as floating point: " + ", ".join(floats),
            len(floats),
            hint="write amounts as DECIMAL(18,2) or text with two decimals",
        )
    # Everything as text, so Parquet and CSV go through the same checks and casts.
    select = ", ".join(
        f"cast({_quote(name)} as varchar) as {_quote(name.strip())}" for name, _ in schema
    )
    con.execute(
        f"create or replace temp table {table} as select {select} from read_parquet($path)",
        {"path": str(path)},
    )
    return _columns(con, table)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [row[0] for row in con.execute(f"describe {table}").fetchall()]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _check_header(dataset: Dataset, path: Path, header: list[str], warn: bool = True) -> list[str]:
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


def _text(column: Column) -> str:
    """The staged value as the careful path sees it: ids and names trimmed, empty as missing.

    Typed columns are parsed as they are (the parsers ignore surrounding blanks, and the CSV
    reader already gives NULL for an empty field): trimming 14M values costs a second pass.
    """
    if column.type == "string":
        return f"nullif(trim({_quote(column.name)}), '')"
    return _quote(column.name)


def _parsed(column: Column, text: str) -> str:
    """SQL: the staged text as the column's type, or NULL where it does not convert exactly.

    The same rules as `_checked` applies to the typed reader's values, so both paths of a file
    accept exactly the same values.
    """
    if column.type == "string":
        return text
    if column.type == "decimal":
        exact = f"try_cast({text} as {_EXACT})"
        return (
            f"(case when {exact} = round({exact}, 2) then cast({exact} as {column.sql_type}) end)"
        )
    if column.type == "integer":
        exact = f"try_cast({text} as {_EXACT})"
        return f"(case when {exact} = trunc({exact}) then try_cast({exact} as INTEGER) end)"
    if column.type == "date":
        parsed = f"cast(try_strptime({text}, '{_DATE_FORMAT}') as DATE)"
        return f"(case when {parsed} >= date '{_FIRST_DATE}' then {parsed} end)"
    if column.type == "boolean":
        word = f"lower(trim({text}))"
        return f"(case when {word} in {_BOOLEANS} then cast({word} as BOOLEAN) end)"
    return (
        f"(case when regexp_full_match({text}, '{_TIMESTAMP}') "
        f"then try_cast({text} as TIMESTAMPTZ) end)"
    )


def _checked(column: Column, value: str) -> str:
    """SQL for the fast path: the typed reader's value, raising where `_parsed` gives NULL.

    The error only aborts the pass; the careful path then finds and reports every bad row.
    """
    fail = f"error('{column.name}: {_DESCRIPTIONS.get(column.type, '')}')"
    if column.type == "string":
        return f"nullif(trim({value}), '')"
    if column.type == "decimal":
        cents = f"cast({value} as {column.sql_type})"
        return f"(case when {value} <> round({value}, 2) then {fail} else {cents} end)"
    if column.type == "integer":
        return (
            f"(case when {value} <> trunc({value}) then {fail} else cast({value} as INTEGER) end)"
        )
    if column.type == "date":
        return f"(case when {value} < date '{_FIRST_DATE}' then {fail} else {value} end)"
    if column.type == "boolean":
        word = f"lower(trim({value}))"
        return (
            f"(case when {value} is null then null when {word} in {_BOOLEANS} "
            f"then cast({word} as BOOLEAN) else {fail} end)"
        )
    return (
        f"(case when not regexp_full_match({value}, '{_TIMESTAMP}') then {fail} "
        f"else cast({value} as TIMESTAMPTZ) end)"
    )


def _bad_value(column: Column) -> str | None:
    """SQL predicate, over the staged text, that is true where the value cannot be typed."""
    if column.type == "string":
        return None
    value = _text(column)
    return f"({value} is not null and {_parsed(column, value)} is null)"


def _key_expr(dataset: Dataset) -> str:
    return " || '|' || ".join(f"coalesce({_text(dataset.column(k))}, '')" for k in dataset.key)


def _check_values(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, path: Path, table: str, header: list[str]
) -> None:
    checks: list[tuple[Column, str, str]] = []
    for column in dataset.columns:
        if column.name not in header:
            continue
        if column.required:
            checks.append((column, "missing value", f"{_text(column)} is null"))
        bad = _bad_value(column)
        if bad:
            checks.append((column, _DESCRIPTIONS[column.type], bad))
    if not checks:
        return
    counts = con.execute(
        "select "
        + ", ".join(f"count(*) filter (where {predicate})" for _, _, predicate in checks)
        + f" from {table}"
    ).fetchall()[0]
    for (column, rule, predicate), bad_count in zip(checks, counts, strict=True):
        if not bad_count:
            continue
        # Personal values never go into messages or logs: show the row's key instead.
        shown = "'<personal data withheld>'" if column.personal else f"{_quote(column.name)}"
        rows = con.execute(
            f"select {_key_expr(dataset)}, {shown} from {table} where {predicate} limit {EXAMPLES}"
        ).fetchall()
        raise InputRejected(
            str(path),
            f"column {column.name}: {rule}",
            int(bad_count),
            examples=[f"key {key or '<empty>'}: {value!r}" for key, value in rows],
        )


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


def _typed_select(
    dataset: Dataset, header: list[str], value: Callable[[Column], str]
) -> tuple[str, dict[str, object]]:
    """The select list of `work.<dataset>`: each contract column typed, defaults filled in."""
    params: dict[str, object] = {}
    select = []
    for i, column in enumerate(dataset.columns):
        typed = value(column) if column.name in header else "null"
        if column.default is not None:
            params[f"default_{i}"] = column.default
            typed = f"coalesce({typed}, cast($default_{i} as {column.sql_type}))"
        select.append(f"cast({typed} as {column.sql_type}) as {column.name}")
    return ", ".join(select), params


def _insert_typed(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    table: str,
    header: list[str],
    snapshot_date: date,
) -> None:
    select, params = _typed_select(dataset, header, lambda c: _parsed(c, _text(c)))
    con.execute(
        f"insert into work.{dataset.name} select $snapshot_date, {select} from {table}",
        {**params, "snapshot_date": snapshot_date},
    )
