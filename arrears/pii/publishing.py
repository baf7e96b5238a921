"""The personal data of one action date's recipients, opened for the outbox writer only.

The records of the customers who have an action on the date are opened into the connection's
temporary table `publish_customers` (memory, never the warehouse file), which
sql/publish/outbox_rows.sql joins; each channel's file then selects only the columns that
channel may carry (arrears/publish/columns.py). The table is dropped when the files are written.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date

import duckdb
import polars as pl
from cryptography.exceptions import InvalidTag

from arrears.errors import ConfigError
from arrears.pii.keys import PiiKey
from arrears.pii.sealing import PERSONAL, open_records, query_frame, sealed_with

TABLE = "publish_customers"
_RECIPIENTS = """
select distinct
    customers.customer_id,
    customers.snapshot_date,
    customers.city,
    customers.province,
    customers.pii,
    customers.pii_key_id,
from raw.customers as customers
inner join marts.collection_actions as actions
    on actions.customer_id = customers.customer_id
    and actions.snapshot_date = customers.snapshot_date
where actions.action_date = $action_date
"""


def open_recipients(con: duckdb.DuckDBPyConnection, action_date: date, key: PiiKey | None) -> int:
    """Fill `publish_customers` for `action_date`; returns how many records were opened."""
    frame = query_frame(con, _RECIPIENTS, {"action_date": action_date})
    sealed = sealed_with(frame, key, f"recipients of {action_date}", "refusing to publish")
    opened: dict[str, list[str | None]] = {c: [] for c in PERSONAL}
    try:
        if key is not None:  # no recipient, or all sealed with this key (checked above)
            opened = open_records(sealed["pii"].to_list(), sealed["customer_id"].to_list(), key)
    except InvalidTag:
        raise ConfigError(f"the given key does not open the recipients of {action_date}") from None
    table = sealed.select("customer_id", "snapshot_date", "city", "province").with_columns(
        pl.Series(c, opened[c], dtype=pl.Utf8) for c in PERSONAL
    )
    con.register("opened_recipients", table)
    try:
        con.execute(f"create or replace temp table {TABLE} as select * from opened_recipients")
    finally:
        con.unregister("opened_recipients")
    return table.height


def drop_recipients(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"drop table if exists temp.{TABLE}")


@contextlib.contextmanager
def recipients_opened(
    con: duckdb.DuckDBPyConnection, action_date: date, key: PiiKey | None
) -> Iterator[int]:
    """`publish_customers` for the duration of the block, dropped whatever happens."""
    try:
        yield open_recipients(con, action_date, key)
    finally:
        drop_recipients(con)
