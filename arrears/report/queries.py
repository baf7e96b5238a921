"""The report's queries (sql/report/*.sql), run as lists of dict rows."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import duckdb

from arrears.contract import CHANNELS
from arrears.sqlfiles import bind, sql_text
from arrears.strategy.config import STAGES

# Early to late: the order a funnel and a channel table read in. Stages outside the table
# (ARRANGEMENT reminders) come after it.
STAGE_ORDER: tuple[str, ...] = (*reversed(STAGES), "ARRANGEMENT")


def rows(
    con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The rows of query `sql/report/<name>.sql`, binding the $params it uses."""
    query = sql_text(f"report/{name}")
    result = con.execute(query, bind(query, params, where=f"sql/report/{name}.sql"))
    columns = [d[0] for d in result.description]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]


def bucket_key(label: str) -> tuple[Any, ...]:
    """Natural order of bucket labels: M2 before M10."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", label))


def _ordered_key(order: Iterable[str]):
    index = {name: i for i, name in enumerate(order)}
    return lambda value: (index.get(value, len(index)), value)


channel_key = _ordered_key(CHANNELS)
stage_key = _ordered_key(STAGE_ORDER)
