"""PostgreSQL sink waits: every wait is bounded, logged while it lasts, and named when it ends
the sink; the warehouse is closed while PostgreSQL makes the sink wait."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import date

import psycopg
import pytest
from fixtures.reliability_support import pg_database, pg_drop
from psycopg import sql

from arrears import warehouse
from arrears.publish import sink_postgres
from arrears.publish.postgres_sink import SinkBlocked, Timeouts
from arrears.settings import Settings
from tasks.publish import sink_date

DSN = "postgresql://postgres@127.0.0.1:5432/test"
ACTION = date(2025, 7, 1)
SNAPSHOT = date(2025, 6, 30)
SHORT = Timeouts(connect=5, lock=2, statement=30)
# Outside a flow run, the lines go to a logger of the test's own (Prefect's API handler serves
# the arrears loggers only inside a run).
LOG = logging.getLogger("test.sink")

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def dsn() -> str:
    try:
        with psycopg.connect(DSN, connect_timeout=3) as pg:
            pg.execute("select 1")
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL at {DSN} is unreachable: {error}")
    return DSN


@pytest.fixture
def schema(dsn):
    name = f"arrears_wait_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(name)))


def fill(con) -> None:
    for action_id in ("A1", "A2"):
        con.execute(
            """insert into marts.collection_actions (
            action_id, action_date, snapshot_date, customer_id, loan_ids, primary_loan_id,
            channel, stage, priority, risk_score, overdue_amount, outstanding_amount,
            window_start, window_end, timezone, max_attempts, template, strategy_version,
            strategy_variant
        ) values (
                   $id, $ad, $ad - 1, 'C-' || $id, ['L-' || $id], 'L-' || $id, 'CALL', 'CALL',
                   1, 0.5, 10.00, 100.00, timestamptz '2025-07-01 08:00:00+08',
                   timestamptz '2025-07-01 22:00:00+08', 'Asia/Shanghai', 6, 'call_v1', 'v1',
                   'champion')""",
            {"id": action_id, "ad": ACTION},
        )


@pytest.fixture
def con():
    connection = warehouse.connect(":memory:")
    fill(connection)
    yield connection
    connection.close()


@pytest.fixture
def holder(dsn):
    """Another session, left idle in a transaction after the statement it is given."""
    sessions: list[psycopg.Connection] = []

    def hold(statement: sql.Composable) -> int:
        pg = psycopg.connect(dsn, application_name="analyst-notebook")
        pg.execute(statement)  # psycopg opens a transaction and leaves it open
        sessions.append(pg)
        return pg.info.backend_pid

    yield hold
    for pg in sessions:
        pg.close()


def test_a_table_locked_by_another_session_ends_the_sink_naming_it(
    con, dsn, schema, holder, caplog
):
    sink_postgres(con, ACTION, dsn, schema=schema)
    pid = holder(
        sql.SQL("lock table {} in access exclusive mode").format(
            sql.Identifier(schema, "collection_actions")
        )
    )
    began = time.monotonic()
    with (
        caplog.at_level(logging.WARNING, logger="test.sink"),
        pytest.raises(SinkBlocked) as blocked,
    ):
        sink_postgres(con, ACTION, dsn, schema=schema, timeouts=SHORT, log=LOG)

    assert time.monotonic() - began < 15
    message = str(blocked.value)
    assert "gave up after waiting 2 s for a lock" in message
    assert f"pid {pid} (idle in transaction for " in message
    assert "analyst-notebook" in message and "ARREARS_POSTGRES_LOCK_TIMEOUT" in message
    waits = [r.getMessage() for r in caplog.records if "waiting" in r.getMessage()]
    assert waits and f"pid {pid}" in waits[0]


def test_a_session_idle_in_transaction_on_the_dates_rows_ends_the_sink_naming_it(
    con, dsn, schema, holder
):
    sink_postgres(con, ACTION, dsn, schema=schema)
    pid = holder(
        sql.SQL("update {} set priority = priority where action_id = 'A1'").format(
            sql.Identifier(schema, "collection_actions")
        )
    )
    con.execute("update marts.collection_actions set overdue_amount = 11.00")

    with pytest.raises(SinkBlocked, match=rf"pid {pid} \(idle in transaction for \d+ s"):
        sink_postgres(con, ACTION, dsn, schema=schema, timeouts=SHORT, log=LOG)

    with psycopg.connect(dsn) as pg:
        amounts = pg.execute(
            sql.SQL("select distinct overdue_amount::text from {}").format(
                sql.Identifier(schema, "collection_actions")
            )
        ).fetchall()
    assert amounts == [("10.00",)], "the blocked sink wrote something"


def test_a_statement_timeout_is_named(con, dsn, schema, holder):
    sink_postgres(con, ACTION, dsn, schema=schema)
    pid = holder(
        sql.SQL("lock table {} in access exclusive mode").format(
            sql.Identifier(schema, "suppressed_actions")
        )
    )
    limits = Timeouts(connect=5, lock=30, statement=2)
    with pytest.raises(SinkBlocked) as blocked:
        sink_postgres(con, ACTION, dsn, schema=schema, timeouts=limits, log=LOG)
    message = str(blocked.value)
    assert "ran longer than 2 s (ARREARS_POSTGRES_STATEMENT_TIMEOUT)" in message
    assert f"pid {pid}" in message


def test_a_server_that_never_answers_fails_within_the_connect_timeout(con):
    # A listener that accepts connections and says nothing: libpq waits for its greeting.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    planted = "Pl4nted-connect-pw"
    try:
        began = time.monotonic()
        with pytest.raises(psycopg.OperationalError) as failed:
            sink_postgres(
                con,
                ACTION,
                f"host=127.0.0.1 port={port} dbname=test user=u password={planted}",
                timeouts=Timeouts(connect=2, lock=2, statement=2),
                log=LOG,
            )
        assert time.monotonic() - began < 10
        assert planted not in str(failed.value)
    finally:
        server.close()


def test_the_warehouse_is_closed_while_postgres_makes_the_sink_wait(dsn, holder, tmp_path):
    name = f"arrears_wait_{uuid.uuid4().hex[:12]}"
    private = pg_database(name)
    try:
        db = tmp_path / "arrears.duckdb"
        with warehouse.opened(db) as con:
            fill(con)
        settings = Settings(warehouse=db, postgres=private, postgres_lock_timeout=6)
        log = LOG
        assert sink_date(SNAPSHOT, settings, log) == 2
        holder_dsn = private
        pg = psycopg.connect(holder_dsn)
        pg.execute("lock table arrears.collection_actions in access exclusive mode")
        outcome: list[BaseException] = []

        def sink() -> None:
            try:
                sink_date(SNAPSHOT, settings, log)
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=sink)
        thread.start()
        time.sleep(2)
        assert thread.is_alive(), "the sink did not wait"
        # Another process opens the file for writing meanwhile: nobody holds it.
        opened = subprocess.run(
            [sys.executable, "-c", f"import duckdb; duckdb.connect({str(db)!r}).close()"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        thread.join(timeout=30)
        pg.close()
        assert opened.returncode == 0, opened.stderr
        assert outcome and isinstance(outcome[0], SinkBlocked)
    finally:
        pg_drop(name)
