"""The report's SQL models (arrears/report/sql/*.sql), run as lists of dict rows."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb

from arrears.contract import CHANNELS
from arrears.strategy.config import STAGES

SQL_DIR = Path(__file__).resolve().parent / "sql"

# Early to late: the order a funnel and a channel table read in. Stages outside the table
# (ARRANGEMENT reminders) come after it.
STAGE_ORDER: tuple[str, ...] = (*reversed(STAGES), "ARRANGEMENT")


@functools.cache
def sql_text(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def rows(
    con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The rows of model `name`, binding only the $params it uses."""
    query = sql_text(name)
    used = {k: v for k, v in params.items() if f"${k}" in query}
    result = con.execute(query, used)
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
