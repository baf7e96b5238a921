"""The optional PostgreSQL sink (CONTRACT section 7, `--postgres DSN`).

Two phases, so the warehouse is never held while PostgreSQL makes the sink wait:

    export_sink_rows (DuckDB)   the date's mart rows rendered as PostgreSQL CSV into scratch files
    send_sink_rows (PostgreSQL) one transaction: the files streamed with COPY into temporary
                                tables, the date's stale rows deleted and the new ones upserted by
                                action_id (suppressed actions replaced whole), and a row in
                                `loads` (action date, run_id, loaded_at, row counts)

The same-day cancellations of a date go the same way, in a transaction of their own at each
`arrears cancel` call (`sink_cancellations`). Nothing is visible to other sessions until the
commit, and both sends are idempotent, so a retry after any failure is safe. No personal data
is sent.

Every wait is bounded (Timeouts: connect, lock and statement, from the settings): while the
transaction waits on a lock a line is logged naming the blocking sessions, and a lock or
statement timeout ends the sink with SinkBlocked, which names them too. Errors from psycopg are
re-raised without any secret of the DSN (arrears.redact).
"""

from __future__ import annotations

import contextlib
import logging
import math
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from arrears import faults
from arrears.errors import ArrearsError
from arrears.publish.postgres_waits import WaitWatcher, describe
from arrears.redact import describe_dsn, dsn_secrets, redact
from arrears.warehouse import sql_text

logger = logging.getLogger(__name__)

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
Log = logging.Logger | logging.LoggerAdapter[Any]

# The mart tables the sink copies, in the order they are staged; their rows carry the run_id
# and loaded_at of the load that wrote them (`loads` records each load).
TABLES = ("collection_actions", "suppressed_actions")


class SinkBlocked(ArrearsError):
    """PostgreSQL made the sink wait past a timeout; the message names what it waited for."""


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for a connection, for any lock, and for one statement."""

    connect: float = 10.0
    lock: float = 60.0
    statement: float = 300.0


@dataclass(frozen=True)
class StagedRows:
    """One mart's rows of the date, rendered for COPY: the file, its columns and row count."""

    table: str
    path: Path
    columns: tuple[str, ...]
    rows: int


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
    timeouts: Timeouts | None = None,
    log: Log | None = None,
    run_id: str | None = None,
) -> int:
    """Replace the action date's rows in PostgreSQL by the mart's; returns the actions sent.

    Both phases with one warehouse connection; the flow's task closes the warehouse between
    them (tasks/publish.py)."""
    with tempfile.TemporaryDirectory(prefix="arrears-sink-") as scratch:
        staged = export_sink_rows(con, action_date, Path(scratch))
        return send_sink_rows(
            staged,
            action_date,
            dsn,
            schema=schema,
            on_step=on_step,
            timeouts=timeouts,
            log=log,
            run_id=run_id,
        )


def sink_cancellations(
    con: duckdb.DuckDBPyConnection,
    action_date: date,
    dsn: str,
    *,
    schema: str = DEFAULT_SCHEMA,
    on_step: StepHook | None = None,
    timeouts: Timeouts | None = None,
) -> int:
    """Upsert the action date's cancellations (marts.cancelled_actions) into PostgreSQL in one
    transaction, dropping the date's rows the list no longer holds; returns the rows sent."""
    step = on_step or (lambda _name: None)
    limits = timeouts or Timeouts()
    params = {"action_date": action_date}
    with tempfile.TemporaryDirectory(prefix="arrears-sink-") as scratch:
        rows = _export(con, "cancelled_actions", params, Path(scratch))
        with _masked_errors(dsn), _connect(dsn, limits) as pg:
            with pg.transaction():
                pg.execute(_statement("pg_create_cancelled_actions", schema))
            with pg.transaction():
                pg.execute(
                    "select pg_advisory_xact_lock(hashtextextended(%(key)s, 0))",
                    {"key": f"{schema}.cancelled_actions/{action_date.isoformat()}"},
                )
                _stage(pg, schema, rows)
                step("copied")
                pg.execute(_statement("pg_delete_stale_cancelled_actions", schema), params)
                pg.execute(_statement("pg_upsert_cancelled_actions", schema), params)
                _check_count(pg, schema, "cancelled_actions", action_date, rows.rows)
                step("before_commit")
                faults.checkpoint("postgres:cancel-before-commit")
    return rows.rows


def _export(
    con: duckdb.DuckDBPyConnection, table: str, params: dict[str, date], scratch: Path
) -> StagedRows:
    """One mart's rows of the date as a PostgreSQL-ready CSV file (DuckDB writes it: no row
    passes through Python objects)."""
    query = sql_text(f"publish/sink_{table}")
    described = con.execute(f"select * from ({query}) limit 0", params).description
    columns = tuple(d[0] for d in described)
    select_list = ", ".join(f"{_PG_TEXT[c]} as {c}" if c in _PG_TEXT else c for c in columns)
    path = Path(scratch) / f"{table}.csv"
    target = str(path).replace("'", "''")
    row = con.execute(
        f"copy (select {select_list} from ({query}) as rows) to '{target}' ({_PG_CSV})",
        params,
    ).fetchone()
    return StagedRows(table, path, columns, int(row[0]) if row else 0)


def export_sink_rows(
    con: duckdb.DuckDBPyConnection, action_date: date, scratch: Path
) -> list[StagedRows]:
    """Render each mart's rows of the date as PostgreSQL-ready CSV files in `scratch`; COPY
    FROM STDIN streams them later, once the warehouse is closed."""
    params = {"action_date": action_date}
    return [_export(con, table, params, scratch) for table in TABLES]


def send_sink_rows(
    staged: list[StagedRows],
    action_date: date,
    dsn: str,
    *,
    schema: str = DEFAULT_SCHEMA,
    on_step: StepHook | None = None,
    timeouts: Timeouts | None = None,
    log: Log | None = None,
    run_id: str | None = None,
) -> int:
    """Replace the action date's rows in PostgreSQL by the staged files; returns the actions.

    `run_id` (the run whose marts were read) goes on every row written and on the `loads` row.

    Wait lines go to `log` (the task's run logger in a flow; this module's logger by default,
    which Prefect's API handler serves only inside a run)."""
    step = on_step or (lambda _name: None)
    limits = timeouts or Timeouts()
    log = log or logger
    params = {"action_date": action_date}
    counts = {s.table: s.rows for s in staged}
    label = f"postgres sink {action_date} ({describe_dsn(dsn)})"
    with _masked_errors(dsn), _connect(dsn, limits) as pg:
        watcher = WaitWatcher(
            lambda: _connect(dsn, limits, statement_seconds=min(limits.statement, 10.0)),
            pg.info.backend_pid,
            poll_seconds=min(2.0, max(0.2, limits.lock / 4)),
            label=label,
            log=log,
        )
        with watcher, _bounded(label, limits, watcher):
            ensure_postgres_tables(pg, schema)
            with pg.transaction():
                # Two sinks of the same date serialize instead of interleaving their deletes.
                pg.execute(
                    "select pg_advisory_xact_lock(hashtextextended(%(key)s, 0))",
                    {"key": f"{schema}.collection_actions/{action_date.isoformat()}"},
                )
                for rows in staged:
                    _stage(pg, schema, rows, run_id)
                step("copied")
                _refuse_duplicate_ids(pg, action_date)
                pg.execute(_statement("pg_delete_stale_collection_actions", schema), params)
                pg.execute(_statement("pg_upsert_collection_actions", schema), params)
                pg.execute(_statement("pg_delete_suppressed_actions", schema), params)
                pg.execute(_statement("pg_insert_suppressed_actions", schema), params)
                for table in TABLES:
                    _check_count(pg, schema, table, action_date, counts[table])
                pg.execute(
                    _statement("pg_insert_loads", schema),
                    {"action_date": action_date, "run_id": run_id, **counts},
                )
                step("before_commit")
                faults.checkpoint("postgres:before-commit")
    return counts["collection_actions"]


def _connect(
    dsn: str, limits: Timeouts, *, statement_seconds: float | None = None
) -> psycopg.Connection[Any]:
    """A session whose waits are bounded: connect_timeout, lock_timeout, statement_timeout."""
    pg = psycopg.connect(
        dsn,
        autocommit=True,
        client_encoding="utf8",
        # libpq reads whole seconds, and treats 1 as 2
        connect_timeout=max(2, math.ceil(limits.connect)),
    )
    statement = limits.statement if statement_seconds is None else statement_seconds
    pg.execute(
        "select set_config('lock_timeout', %(lock)s, false), "
        "set_config('statement_timeout', %(statement)s, false)",
        {"lock": f"{_ms(limits.lock)}ms", "statement": f"{_ms(statement)}ms"},
    )
    return pg


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


@contextlib.contextmanager
def _bounded(label: str, limits: Timeouts, watcher: WaitWatcher) -> Iterator[None]:
    """A lock or statement timeout as SinkBlocked, naming what the sink waited for."""
    try:
        yield
    except pg_errors.LockNotAvailable:
        raise SinkBlocked(
            f"{label}: gave up after waiting {limits.lock:g} s for a lock "
            f"(ARREARS_POSTGRES_LOCK_TIMEOUT), {describe(watcher.last_seen)}; nothing was "
            "written (rolled back). End or commit that session, or raise the timeout, then "
            "send the date again (arrears sink --date D)"
        ) from None
    except pg_errors.QueryCanceled:
        seen = f"; {describe(watcher.last_seen)}" if watcher.last_seen else ""
        raise SinkBlocked(
            f"{label}: a statement ran longer than {limits.statement:g} s "
            f"(ARREARS_POSTGRES_STATEMENT_TIMEOUT){seen}; nothing was written (rolled back)"
        ) from None


@contextlib.contextmanager
def _masked_errors(dsn: str) -> Iterator[None]:
    """psycopg's errors, of the same class (retries tell transient ones by it), without any
    secret of the DSN; the original is not chained, so no traceback repeats it."""
    try:
        yield
    except psycopg.Error as exc:
        raise type(exc)(redact(str(exc), dsn_secrets(dsn))) from None


def _stage(
    pg: psycopg.Connection[Any], schema: str, rows: StagedRows, run_id: str | None = None
) -> None:
    """COPY one staged file into a temporary table dropped at commit; the rows of a loaded
    table take the load's run_id and loaded_at (now(): the transaction's start) as defaults."""
    stage = sql.Identifier(f"stage_{rows.table}")
    pg.execute(
        sql.SQL("create temp table {} (like {} including defaults) on commit drop").format(
            stage, sql.Identifier(schema, rows.table)
        )
    )
    if rows.table in TABLES:
        pg.execute(
            sql.SQL(
                "alter table {} alter column run_id set default {}, "
                "alter column loaded_at set default now()"
            ).format(stage, sql.Literal(run_id))
        )
    copy_sql = sql.SQL("copy {} ({}) from stdin (format csv)").format(
        stage, sql.SQL(", ").join(map(sql.Identifier, rows.columns))
    )
    with pg.cursor() as cur, cur.copy(copy_sql) as copy, rows.path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            copy.write(chunk)


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
