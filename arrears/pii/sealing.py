"""Sealing the personal columns of a customers table, and opening them for publishing.

The personal columns of a row (SEALED: the six of PERSONAL and the coordinates) are joined into
one record and sealed with
AES-256-GCM under a synthetic 96-bit nonce (a keyed hash of customer and record, see _seal),
the customer_id as associated data (a sealed record moved to another customer does not open).
`pii` holds nonce | ciphertext | tag, `pii_key_id` the id of the key; the clear columns are
emptied. One seal per row rather than per value (one AES-GCM call is most of a row's cost), and
a night seals only the customers whose record changed: the others' sealed records are carried
from the night before, found by their nonce in DuckDB (seal_table).

City, province, time zone and language stay in clear (routing and windows need them).
"""

from __future__ import annotations

import hashlib

import duckdb
import polars as pl

from arrears.errors import ArrearsError, ConfigError
from arrears.pii.keys import PiiKey

PERSONAL: tuple[str, ...] = (
    "full_name",
    "national_id",
    "phone",
    "email",
    "address",
    "postal_code",
)
# What a record seals: the six, then the coordinates (docs/allocation.md). Nothing published
# opens the coordinates (routing reads the run's clear copy), so opening returns PERSONAL unless
# asked; a record sealed before them opens with them empty.
SEALED: tuple[str, ...] = (*PERSONAL, "latitude", "longitude")
NONCE_BYTES = 12
# Record syntax: values separated by US, a missing value written as RS. Ingest refuses control
# characters in landed text, and sealing checks again, so neither can occur inside a value.
_SEPARATOR = "\x1f"
_MISSING = "\x1e"


# The record of a row in SQL: the same bytes as the syntax above.
_RECORD_SQL = "concat_ws(chr(31), " + ", ".join(f"coalesce({c}, chr(30))" for c in SEALED) + ")"
_CLASH_SQL = " or ".join(
    f"coalesce(contains({c}, chr(30)) or contains({c}, chr(31)), false)" for c in SEALED
)
# The synthetic nonce: the first 96 bits of SHA-256 over a secret block ($prefix: 64 hex digits
# of 32 bytes derived from the key), the record, US and the customer_id, a whole column at a
# time in DuckDB. The secret fills SHA-256's first block, so the hash runs from a secret state;
# cut to 96 of its 256 bits, the output cannot be extended to other inputs (the length-extension
# weakness of a secret prefix needs the whole state). The record holds exactly len(SEALED) - 1
# US (the clash check), so record and customer_id are read back unambiguously. One hash rather than
# HMAC's two: this runs over every customer every night.
_NONCE_SQL = "unhex(left(sha256($prefix || _record || chr(31) || customer_id), 24))"


def _nonce_params(key: PiiKey) -> dict[str, str]:
    secret = hashlib.blake2b(key.secret, digest_size=32, person=b"arrears-siv").hexdigest()
    return {"prefix": secret}


def _check_clash(
    con: duckdb.DuckDBPyConnection, relation: str, params: dict, flag: str = _CLASH_SQL
) -> None:
    clash = con.execute(f"select count(*) from {relation} where {flag}", params).fetchone()
    if clash and clash[0]:
        raise ArrearsError(f"{clash[0]} customers hold control characters in personal columns")


def seal_frame(frame: pl.DataFrame, key: PiiKey) -> pl.DataFrame:
    """`frame` (customer_id and the SEALED columns, any others) with `pii`, `pii_key_id`
    set and the SEALED columns emptied (a SEALED column the frame lacks seals as missing)."""
    present = [c for c in SEALED if c in frame.columns]
    given = frame.select("customer_id", *present).with_columns(
        pl.lit(None, dtype=pl.Utf8).alias(c) for c in SEALED if c not in present
    )
    with duckdb.connect() as con:  # memory only: the records never reach a file
        con.register("clear_rows", given)
        _check_clash(con, "clear_rows", {})
        nonced = con.execute(
            f"select _record, {_NONCE_SQL} as _nonce "
            f"from (select customer_id, {_RECORD_SQL} as _record from clear_rows)",
            _nonce_params(key),
        ).fetchall()
    records = [record for record, _ in nonced]
    nonces = [nonce for _, nonce in nonced]
    sealed = _seal(records, nonces, frame["customer_id"].to_list(), key)
    return frame.with_columns(
        pl.Series("pii", sealed, dtype=pl.Binary),
        pl.lit(key.key_id, dtype=pl.Utf8).alias("pii_key_id"),
        *(pl.lit(None, dtype=pl.Utf8).alias(c) for c in present),
    )


def _seal(
    records: list[str], nonces: list[bytes], customer_ids: list[str], key: PiiKey
) -> list[bytes]:
    """AES-GCM with a synthetic nonce (_NONCE_SQL): a keyed hash of the customer and the record.
    The same record of the same customer seals to the same bytes (a rerun of a night leaves the
    warehouse identical, and an unchanged customer's record can be carried from the night
    before); two different records never share a nonce, which is what GCM requires. What it
    reveals is only that a customer's record did not change, as the rerun itself would."""
    encrypt = key.aead().encrypt
    return [
        nonce + encrypt(nonce, record.encode(), customer_id.encode())
        for record, nonce, customer_id in zip(records, nonces, customer_ids, strict=True)
    ]


def open_records(
    sealed: list[bytes | None],
    customer_ids: list[str],
    key: PiiKey,
    names: tuple[str, ...] = PERSONAL,
) -> dict[str, list[str | None]]:
    """The `names` columns (of SEALED) of sealed records (None for a row without a record)."""
    decrypt = key.aead().decrypt
    columns: dict[str, list[str | None]] = {c: [] for c in SEALED}
    appenders = [columns[c].append for c in SEALED]
    empty = [None] * len(SEALED)
    for blob, customer_id in zip(sealed, customer_ids, strict=True):
        if blob is None:
            values: list[str | None] = list(empty)
        else:
            record = decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], customer_id.encode())
            values = [None if v == _MISSING else v for v in record.decode().split(_SEPARATOR)]
            values += [None] * (len(SEALED) - len(values))
        for append, value in zip(appenders, values, strict=True):
            append(value)
    return {c: columns[c] for c in names}


def open_one(con: duckdb.DuckDBPyConnection, key: PiiKey) -> bool:
    """Whether `key` opens a stored record of raw.customers (the check that it is the key)."""
    from cryptography.exceptions import InvalidTag

    rows = con.execute(
        "select pii, customer_id from raw.customers "
        "where pii is not null and pii_key_id = $key_id limit 1",
        {"key_id": key.key_id},
    ).fetchall()
    if not rows:
        return False
    try:
        open_records([rows[0][0]], [rows[0][1]], key)
    except InvalidTag:
        return False
    return True


def add_sealed_columns(con: duckdb.DuckDBPyConnection, table: str) -> None:
    con.execute(f"alter table {table} add column if not exists pii blob")
    con.execute(f"alter table {table} add column if not exists pii_key_id varchar")
    # A table from before the coordinates (an upgrade seals it before adding them) seals them
    # as missing.
    for column in SEALED:
        con.execute(f"alter table {table} add column if not exists {column} varchar")


def seal_table(con: duckdb.DuckDBPyConnection, table: str, key: PiiKey) -> int:
    """Seal the rows of `table` still in clear, snapshot by snapshot; returns how many.

    A customer whose record is the one sealed with `key` in the previous snapshot of
    raw.customers (the same nonce, the keyed hash of customer and record) gets that sealed
    record as it is: the bytes sealing would produce, without sealing. Only new and changed
    records are encrypted, in Python; the rest is DuckDB's. Call inside a transaction: the rows
    are updated in place.
    """
    add_sealed_columns(con, table)
    dates = con.execute(
        f"select distinct snapshot_date from {table} where pii is null order by 1"
    ).fetchall()
    sealed = 0
    for (snapshot_date,) in dates:
        sealed += _seal_snapshot(con, table, snapshot_date, key)
    return sealed


# The clear rows of one snapshot by rowid, with their nonce and the previous night's sealed
# record when it is the same record. No clear value is kept: the table is read again for the
# records that must be sealed.
_SEALING = f"""
create or replace temp table _sealing as
with nonced as (
    select _row, customer_id, {_NONCE_SQL} as _nonce, _clash
    from (
        select rowid as _row, customer_id, {_RECORD_SQL} as _record, {_CLASH_SQL} as _clash
        from {{table}}
        where snapshot_date = $d and pii is null
    )
),
previous as (
    -- one row per customer: ingest refuses a customers file with a duplicate customer_id
    select customer_id, pii
    from raw.customers
    where snapshot_date = (
        select max(snapshot_date) from raw.customers where snapshot_date < $d
    )
    and pii_key_id = $key_id
)
select nonced.*, previous.pii as _carried
from nonced
left join previous
    on previous.customer_id = nonced.customer_id
    and previous.pii[1:12] = nonced._nonce
"""
_CHANGED = f"""
select _sealing._row, {_RECORD_SQL} as _record, _sealing._nonce, _sealing.customer_id
from {{table}} as clear_rows
inner join _sealing on _sealing._row = clear_rows.rowid
where clear_rows.snapshot_date = $d and clear_rows.pii is null and _sealing._carried is null
order by _sealing._row
"""
# The rows sealed in place: an update of the clear rows found by rowid (half the cost of
# inserting sealed copies and deleting the clear rows).
_SEALED_ROWS = """
update {table}
set pii = coalesce(_sealing._carried, sealed_now.pii), pii_key_id = $key_id, {emptied}
from _sealing
left join sealed_now on sealed_now._row = _sealing._row
where {table}.rowid = _sealing._row
"""


def _seal_snapshot(
    con: duckdb.DuckDBPyConnection, table: str, snapshot_date: object, key: PiiKey
) -> int:
    bound = {"d": snapshot_date, "key_id": key.key_id}
    con.execute(_SEALING.format(table=table), {**bound, **_nonce_params(key)})
    try:
        _check_clash(con, "_sealing", {}, "_clash")
        changed = con.execute(_CHANGED.format(table=table), {"d": snapshot_date}).fetchall()
        now = pl.DataFrame(
            {
                "_row": [row[0] for row in changed],
                "pii": _seal(
                    [row[1] for row in changed],
                    [row[2] for row in changed],
                    [row[3] for row in changed],
                    key,
                ),
            },
            schema={"_row": pl.Int64, "pii": pl.Binary},
        )
        con.register("sealed_now", now)
        try:
            emptied = ", ".join(f"{c} = null" for c in SEALED)
            con.execute(_SEALED_ROWS.format(table=table, emptied=emptied), {"key_id": key.key_id})
        finally:
            con.unregister("sealed_now")
        total = con.execute("select count(*) from _sealing").fetchone()
        return int(total[0]) if total else 0
    finally:
        con.execute("drop table if exists temp._sealing")


def reseal_table(con: duckdb.DuckDBPyConnection, table: str, old: PiiKey, new: PiiKey) -> int:
    """Open every record of `table` sealed with `old` and seal it again with `new`."""
    dates = con.execute(
        f"select distinct snapshot_date from {table} where pii_key_id = $k order by 1",
        {"k": old.key_id},
    ).fetchall()
    resealed = 0
    for (snapshot_date,) in dates:
        where = "snapshot_date = $d and pii_key_id = $k"
        bound = {"d": snapshot_date, "k": old.key_id}
        frame = query_frame(con, f"select * from {table} where {where}", bound)
        opened = open_records(frame["pii"].to_list(), frame["customer_id"].to_list(), old, SEALED)
        clear = frame.with_columns(pl.Series(c, v, dtype=pl.Utf8) for c, v in opened.items())
        con.execute(f"delete from {table} where {where}", bound)
        _insert(con, table, seal_frame(clear, new))
        resealed += frame.height
    return resealed


def sealed_with(frame: pl.DataFrame, key: PiiKey | None, who: str, refusing: str) -> pl.DataFrame:
    """The rows of `frame` (raw.customers columns pii, pii_key_id), after checking that every one
    is sealed and with `key`: a clear row is an ArrearsError, another key a ConfigError (exit 2).
    `who` names the rows in the messages ("recipients of 2025-06-02"); `refusing`, what is not
    done."""
    sealed = frame.filter(pl.col("pii").is_not_null())
    if sealed.height < frame.height:
        raise ArrearsError(
            f"raw.customers holds {frame.height - sealed.height} {who} whose personal data is "
            f"not sealed; {refusing}"
        )
    if sealed.height:
        found = set(sealed["pii_key_id"].unique().to_list())
        if key is None or found != {key.key_id}:
            raise ConfigError(
                f"the {who} are sealed with key {', '.join(sorted(found))}, not with the given "
                f"key ({key.key_id if key else 'none'})"
            )
    return sealed


def query_frame(con: duckdb.DuckDBPyConnection, query: str, params: dict) -> pl.DataFrame:
    table = con.sql(query, params=params).to_arrow_table()
    return pl.DataFrame(pl.from_arrow(table))


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    con.register("sealed_rows", frame)
    try:
        con.execute(f"insert into {table} by name select * from sealed_rows")
    finally:
        con.unregister("sealed_rows")
