"""The optional PostgreSQL sink (CONTRACT section 7, `--postgres DSN`).

Per action date, one transaction: the mart's rows are streamed with COPY into temporary tables,
then the date's stale rows are deleted and the new ones upserted by action_id (suppressed
actions are replaced whole). The same-day cancellations of a date go the same way, in a
transaction of their own at each `arrears cancel` call (`sink_cancellations`). Nothing is
visible to other sessions until the commit, and both functions are idempotent, so a retry after
any failure is safe. No personal data is sent.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import psycopg
from psycopg import sql

from arrears import faults
from arrears.errors import ArrearsError
from arrears.warehouse import sql_text

DEFAULT_SCHEMA = "arrears"
_CHUNK = 1 << 20
# DuckDB's CSV matches PostgreSQL's CSV COPY (unquoted empty = null, "" = empty string) except
# for lists and zoned timestamps, rendered here as PostgreSQL array and UTC literals.
_PG_CSV = "format csv, header false, delimiter ',', quote '\"', escape '\"', null ''"
_PG_UTC = "strftime(timezone('UTC', {c}), '%Y-%m-%d %H:%M:%S.%f') || '+00'"
_PG_ARRAY = (
    "'{{' || array_to_string(list_transform({c}, lambda item: "
    "'\"' || replace(replace(item, '\\', '\\\\'), '\"', '\\\"') || '\"'), ',') || '}}'"
)
_PG_TEXT = {
    "loan_ids": _PG_ARRAY.format(c="loan_ids"),
    "window_start": _PG_UTC.format(c="window_start"),
    "window_end": _PG_UTC.format(c="window_end"),
    "payment_ids": _PG_ARRAY.format(c="payment_ids"),
    "covered_at": _PG_UTC.format(c="covered_at"),
}

# Hook called at named points ("copied", "before_commit"): where tests inject failures.
StepHook = Callable[[str], None]


def _statement(name: str, schema: str) -> sql.Composed:
    return sql.SQL(sql_text(f"publish/{name}")).format(schema=sql.Identifier(schema))


def ensure_postgres_tables(pg: psycopg.Connection[Any], schema: str = DEFAULT_SCHEMA) -> None:
    """Create the schema and the sink tables when missing."""
    with pg.transaction():
        pg.execute(_statement("pg_tables", schema))


def sink_postgres(
    con: duckdb.DuckDBPyConnection,
    action_date: date,
    dsn: str,
    *,
    schema: str = DEFAULT_SCHEMA,
    on_step: StepHook | None = None,
) -> int:
    """Replace the action date's rows in PostgreSQL by the mart's; returns the actions sent."""
    step = on_step or (lambda _name: None)
    params = {"action_date": action_date}
    with (
        tempfile.TemporaryDirectory(prefix="arrears-sink-") as scratch,
        psycopg.connect(dsn, autocommit=True, client_encoding="utf8") as pg,
    ):
        ensure_postgres_tables(pg, schema)
        with pg.transaction():
            # Two sinks of the same date serialize instead of interleaving their deletes.
            pg.execute(
                "select pg_advisory_xact_lock(hashtextextended(%(key)s, 0))",
                {"key": f"{schema}.collection_actions/{action_date.isoformat()}"},
            )
            actions = _stage(pg, con, schema, "collection_actions", params, Path(scratch))
            suppressed = _stage(pg, con, schema, "suppressed_actions", params, Path(scratch))
            step("copied")
            _refuse_duplicate_ids(pg, action_date)
            pg.execute(_statement("pg_delete_stale_collection_actions", schema), params)
            pg.execute(_statement("pg_upsert_collection_actions", schema), params)
            pg.execute(_statement("pg_delete_suppressed_actions", schema), params)
            pg.execute(_statement("pg_insert_suppressed_actions", schema), params)
            _check_count(pg, schema, "collection_actions", action_date, actions)
            _check_count(pg, schema, "suppressed_actions", action_date, suppressed)
            step("before_commit")
            faults.checkpoint("postgres:before-commit")
    return actions


def sink_cancellations(
    con: duckdb.DuckDBPyConnection,
    action_date: date,
    dsn: str,
    *,
    schema: str = DEFAULT_SCHEMA,
    on_step: StepHook | None = None,
) -> int:
    """Upsert the action date's cancellations (marts.cancelled_actions) into PostgreSQL in one
    transaction, dropping the date's rows the list no longer holds; returns the rows sent."""
    step = on_step or (lambda _name: None)
    params = {"action_date": action_date}
    with (
        tempfile.TemporaryDirectory(prefix="arrears-sink-") as scratch,
        psycopg.connect(dsn, autocommit=True, client_encoding="utf8") as pg,
    ):
        with pg.transaction():
            pg.execute(_statement("pg_create_cancelled_actions", schema))
        with pg.transaction():
            pg.execute(
                "select pg_advisory_xact_lock(hashtextextended(%(key)s, 0))",
                {"key": f"{schema}.cancelled_actions/{action_date.isoformat()}"},
            )
            cancelled = _stage(pg, con, schema, "cancelled_actions", params, Path(scratch))
            step("copied")
            pg.execute(_statement("pg_delete_stale_cancelled_actions", schema), params)
            pg.execute(_statement("pg_upsert_cancelled_actions", schema), params)
            _check_count(pg, schema, "cancelled_actions", action_date, cancelled)
            step("before_commit")
            faults.checkpoint("postgres:cancel-before-commit")
    return cancelled


def _stage(
    pg: psycopg.Connection[Any],
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    params: dict[str, date],
    scratch: Path,
) -> int:
    """COPY the mart's rows of the date into a temporary table dropped at commit.

    DuckDB renders the rows as PostgreSQL-ready CSV into a scratch file that is streamed to
    COPY FROM STDIN: no row passes through Python objects.
    """
    stage = sql.Identifier(f"stage_{table}")
    pg.execute(
        sql.SQL("create temp table {} (like {} including defaults) on commit drop").format(
            stage, sql.Identifier(schema, table)
        )
    )
    query = sql_text(f"publish/sink_{table}")
    columns = [d[0] for d in con.execute(f"select * from ({query}) limit 0", params).description]
    select_list = ", ".join(f"{_PG_TEXT[c]} as {c}" if c in _PG_TEXT else c for c in columns)
    path = scratch / f"{table}.csv"
    target = str(path).replace("'", "''")
    row = con.execute(
        f"copy (select {select_list} from ({query}) as rows) to '{target}' ({_PG_CSV})", params
    ).fetchone()
    copy_sql = sql.SQL("copy {} ({}) from stdin (format csv)").format(
        stage, sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with pg.cursor() as cur, cur.copy(copy_sql) as copy, path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            copy.write(chunk)
    path.unlink()
    return int(row[0]) if row else 0


def _refuse_duplicate_ids(pg: psycopg.Connection[Any], action_date: date) -> None:
    duplicates = pg.execute(
        "select action_id from stage_collection_actions group by action_id "
        "having count(*) > 1 order by action_id limit 5"
    ).fetchall()
    if duplicates:
        raise ArrearsError(
            f"marts.collection_actions for {action_date} repeats action_id "
            f"{', '.join(r[0] for r in duplicates)}; nothing was written to PostgreSQL"
        )


def _check_count(
    pg: psycopg.Connection[Any], schema: str, table: str, action_date: date, expected: int
) -> None:
    # The date's rows must now be exactly the staged set; anything else aborts the transaction.
    query = sql.SQL("select count(*) from {} where action_date = %(d)s").format(
        sql.Identifier(schema, table)
    )
    row = pg.execute(query, {"d": action_date}).fetchone()
    found = int(row[0]) if row else 0
    if found != expected:
        raise ArrearsError(
            f"PostgreSQL {schema}.{table} holds {found} rows for {action_date} after the "
            f"replace, expected {expected}; rolled back"
        )
