"""Sealing the personal columns of a customers table, and opening them for publishing.

The personal columns of a row (PERSONAL) are joined into one record and sealed with
AES-256-GCM under a random 96-bit nonce, the customer_id as associated data (a sealed record
moved to another customer does not open). `pii` holds nonce | ciphertext | tag, `pii_key_id`
the id of the key; the clear columns are emptied. One seal per row rather than per value:
at about 1.5 us a seal, six per row would cost 9 s per million customers, one costs under 3.

City, province, time zone and language stay in clear (routing and windows need them).
"""

from __future__ import annotations

import hashlib

import duckdb
import polars as pl

from arrears.errors import ArrearsError
from arrears.pii.keys import PiiKey

PERSONAL: tuple[str, ...] = (
    "full_name",
    "national_id",
    "phone",
    "email",
    "address",
    "postal_code",
)
# What a record seals: the six, then the coordinates (schema migration 8; docs/allocation.md).
# Nothing published opens the coordinates (routing reads the run's clear copy), so opening
# returns PERSONAL unless asked; a record sealed before them opens with them empty.
SEALED: tuple[str, ...] = (*PERSONAL, "latitude", "longitude")
NONCE_BYTES = 12
# Record syntax: values separated by US, a missing value written as RS. Ingest refuses control
# characters in landed text, and sealing checks again, so neither can occur inside a value.
_SEPARATOR = "\x1f"
_MISSING = "\x1e"


def seal_frame(frame: pl.DataFrame, key: PiiKey) -> pl.DataFrame:
    """`frame` (customer_id and the SEALED columns, any others) with `pii`, `pii_key_id`
    set and the SEALED columns emptied (a SEALED column the frame lacks seals as missing)."""
    present = [c for c in SEALED if c in frame.columns]
    given = frame.with_columns(
        pl.lit(None, dtype=pl.Utf8).alias(c) for c in SEALED if c not in present
    )
    clash = frame.select(
        pl.any_horizontal(pl.col(c).str.contains("[\x1e\x1f]").fill_null(False) for c in present)
        .sum()
        .alias("rows")
    ).item()
    if clash:
        raise ArrearsError(f"{clash} customers hold control characters in personal columns")
    records = given.select(
        pl.concat_str([pl.col(c).fill_null(_MISSING) for c in SEALED], separator=_SEPARATOR)
    ).to_series()
    sealed = _seal(records.to_list(), frame["customer_id"].to_list(), key)
    return frame.with_columns(
        pl.Series("pii", sealed, dtype=pl.Binary),
        pl.lit(key.key_id, dtype=pl.Utf8).alias("pii_key_id"),
        *(pl.lit(None, dtype=pl.Utf8).alias(c) for c in present),
    )


def _seal(records: list[str], customer_ids: list[str], key: PiiKey) -> list[bytes]:
    """AES-GCM with a synthetic nonce: a keyed hash of the customer and the record. The same
    record of the same customer seals to the same bytes (a rerun of a night leaves the warehouse
    identical); two different records never share a nonce, which is what GCM requires. What it
    reveals is only that a customer's record did not change, as the rerun itself would."""
    encrypt = key.aead().encrypt
    nonce_key = hashlib.blake2b(key.secret, digest_size=32, person=b"arrears-nonce").digest()
    out = []
    for record, customer_id in zip(records, customer_ids, strict=True):
        plain = record.encode()
        aad = customer_id.encode()
        nonce = hashlib.blake2b(
            aad + b"\0" + plain, key=nonce_key, digest_size=NONCE_BYTES
        ).digest()
        out.append(nonce + encrypt(nonce, plain, aad))
    return out


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


def seal_table(con: duckdb.DuckDBPyConnection, table: str, key: PiiKey) -> int:
    """Seal the rows of `table` still in clear, snapshot by snapshot; returns how many.

    Call inside a transaction: the clear rows are deleted and their sealed copies inserted.
    """
    add_sealed_columns(con, table)
    dates = con.execute(
        f"select distinct snapshot_date from {table} where pii is null order by 1"
    ).fetchall()
    sealed = 0
    for (snapshot_date,) in dates:
        where = "snapshot_date = $d and pii is null"
        frame = query_frame(con, f"select * from {table} where {where}", {"d": snapshot_date})
        con.execute(f"delete from {table} where {where}", {"d": snapshot_date})
        _insert(con, table, seal_frame(frame, key))
        sealed += frame.height
    return sealed


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


def query_frame(con: duckdb.DuckDBPyConnection, query: str, params: dict) -> pl.DataFrame:
    table = con.sql(query, params=params).to_arrow_table()
    return pl.DataFrame(pl.from_arrow(table))


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    con.register("sealed_rows", frame)
    try:
        con.execute(f"insert into {table} by name select * from sealed_rows")
    finally:
        con.unregister("sealed_rows")
