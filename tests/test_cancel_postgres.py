"""The cancellations in PostgreSQL: upserted per action date in one transaction, so a dialer
reading the table sees each call's complete list, and nothing of a failed one."""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg
import pytest
from cancel_support import ACTION, at, commit_night, find, land
from psycopg import sql

from arrears import warehouse
from arrears.publish import sink_cancellations

DSN = os.environ.get("ARREARS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

pytestmark = pytest.mark.postgres


class Injected(Exception):
    pass


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
    name = f"arrears_test_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(name)))


@pytest.fixture
def con():
    connection = warehouse.connect(":memory:")
    commit_night(connection)
    yield connection
    connection.close()


def rows(dsn: str, schema: str) -> list[tuple]:
    with psycopg.connect(dsn) as pg:
        return pg.execute(
            sql.SQL(
                "select action_id, reason, covered_at, covered_amount, payment_ids, xmin::text "
                "from {} order by action_id"
            ).format(sql.Identifier(schema, "cancelled_actions"))
        ).fetchall()


def test_cancellations_are_upserted_and_unchanged_rows_left_alone(con, tmp_path, dsn, schema):
    land(tmp_path, "a.csv", [f"P1,L3,{at('09:00')},499.00"])
    find(con, tmp_path)
    assert sink_cancellations(con, ACTION, dsn, schema=schema) == 1
    first = rows(dsn, schema)
    covered = datetime(2025, 7, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert [r[:5] for r in first] == [("A-reminder", "PAID", covered, Decimal("499.00"), ["P1"])]

    land(tmp_path, "b.csv", [f"P2,L2,{at('10:00')},299.00"])
    find(con, tmp_path)
    assert sink_cancellations(con, ACTION, dsn, schema=schema) == 3
    second = rows(dsn, schema)
    assert [r[0] for r in second] == ["A-call-two", "A-reminder", "A-sms-two"]
    # the row already there is not rewritten (same row version)
    assert [r for r in second if r[0] == "A-reminder"] == first
    assert sink_cancellations(con, ACTION, dsn, schema=schema) == 3
    assert rows(dsn, schema) == second


def test_a_failure_before_the_commit_leaves_the_previous_list(con, tmp_path, dsn, schema):
    land(tmp_path, "a.csv", [f"P1,L3,{at('09:00')},499.00"])
    find(con, tmp_path)
    sink_cancellations(con, ACTION, dsn, schema=schema)
    before = rows(dsn, schema)
    land(tmp_path, "b.csv", [f"P2,L2,{at('10:00')},299.00"])
    find(con, tmp_path)

    def fail(step: str) -> None:
        if step == "before_commit":
            raise Injected(step)

    with pytest.raises(Injected):
        sink_cancellations(con, ACTION, dsn, schema=schema, on_step=fail)
    assert rows(dsn, schema) == before
    sink_cancellations(con, ACTION, dsn, schema=schema)
    assert len(rows(dsn, schema)) == 3
