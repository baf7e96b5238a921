"""PostgreSQL sink against the real server: create, upsert/replace, failure mid-write."""

from __future__ import annotations

import os
import uuid
from datetime import date
from decimal import Decimal

import psycopg
import pytest
from psycopg import sql

from arrears import warehouse
from arrears.contract import PERSONAL_COLUMNS
from arrears.errors import ArrearsError
from arrears.publish import sink_postgres

DSN = os.environ.get("ARREARS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
ACTION = date(2025, 7, 1)

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


def add_action(
    con, action_id: str, priority: int = 1, action_date: date = ACTION, overdue: str = "10.00"
) -> None:
    con.execute(
        """insert into marts.collection_actions (
            action_id, action_date, snapshot_date, customer_id, loan_ids, primary_loan_id,
            channel, stage, priority, risk_score, overdue_amount, outstanding_amount,
            window_start, window_end, timezone, max_attempts, template, strategy_version,
            strategy_variant
        ) values (
               $id, $ad, $ad - 1, 'C-' || $id, ['L-' || $id, 'L2-' || $id], 'L-' || $id, 'CALL',
               'CALL', $priority, 0.1234, $overdue::decimal(18,2), 100.00,
               timestamptz '2025-07-01 08:00:00+08', timestamptz '2025-07-01 22:00:00+08',
               'Asia/Shanghai', 6, 'call_v1', 'v1', 'champion')""",
        {"id": action_id, "ad": action_date, "priority": priority, "overdue": overdue},
    )


def add_suppressed(con, action_id: str, reason: str) -> None:
    con.execute(
        """insert into marts.suppressed_actions values (
               $id, '2025-07-01', '2025-06-30', 'C-' || $id, ['L-' || $id], 'L-' || $id, 'SMS',
               'REMINDER', $reason, null, 0.5, 20.00, 'v1', 'champion')""",
        {"id": action_id, "reason": reason},
    )


@pytest.fixture
def con():
    connection = warehouse.connect(":memory:")
    for action_id in ("A1", "A2", "A3"):
        add_action(connection, action_id)
    add_suppressed(connection, "S1", "CONSENT")
    yield connection
    connection.close()


def pg_rows(dsn: str, schema: str, table: str = "collection_actions") -> list[tuple]:
    with psycopg.connect(dsn) as pg:
        return pg.execute(
            sql.SQL("select * from {} order by 1, 2").format(sql.Identifier(schema, table))
        ).fetchall()


def ids(rows: list[tuple]) -> list[str]:
    return [r[0] for r in rows]


def test_creates_tables_and_copies_the_mart(con, dsn, schema):
    assert sink_postgres(con, ACTION, dsn, schema=schema) == 3
    rows = pg_rows(dsn, schema)
    assert ids(rows) == ["A1", "A2", "A3"]
    first = rows[0]
    assert first[1] == ACTION and first[2] == date(2025, 6, 30)
    assert first[4] == ["L-A1", "L2-A1"]
    assert first[9] == Decimal("0.1234") and first[10] == Decimal("10.00")
    assert first[12].isoformat() == "2025-07-01T00:00:00+00:00"
    assert ids(pg_rows(dsn, schema, "suppressed_actions")) == ["S1"]


def test_values_survive_the_copy_exactly(con, dsn, schema):
    con.execute("delete from marts.collection_actions")
    con.execute(
        """insert into marts.collection_actions (
            action_id, action_date, snapshot_date, customer_id, loan_ids, primary_loan_id,
            channel, stage, priority, risk_score, overdue_amount, outstanding_amount,
            window_start, window_end, timezone, max_attempts, template, strategy_version,
            strategy_variant
        ) values (
               'Q1', '2025-07-01', '2025-06-30', 'C,"1"', ['L"1', 'L\\2', 'L,3', 'L 4', ''], 'L"1',
               'SMS', 'REMINDER', 1, 12.3456, 0.01, 123456789012.34,
               timestamptz '2025-07-01 08:00:00.123456+08', timestamptz '2025-07-01 21:00:00-05',
               'America/Chicago', null, '', 'v1', 'champion')"""
    )
    sink_postgres(con, ACTION, dsn, schema=schema)
    (row,) = pg_rows(dsn, schema)
    (expected,) = con.execute("select * from marts.collection_actions").fetchall()
    assert row[3] == 'C,"1"'
    assert row[4] == ['L"1', "L\\2", "L,3", "L 4", ""]
    assert row[15] is None and row[16] == ""
    assert row[11] == Decimal("123456789012.34")
    assert row[12].isoformat() == "2025-07-01T00:00:00.123456+00:00"
    assert row[13].isoformat() == "2025-07-02T02:00:00+00:00"
    assert row[:12] + row[14:19] == expected[:12] + expected[14:19]


def test_tables_mirror_the_marts_and_hold_no_personal_columns(con, dsn, schema):
    sink_postgres(con, ACTION, dsn, schema=schema)
    for table in ("collection_actions", "suppressed_actions"):
        mart = [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_schema = 'marts' "
                "and table_name = $t order by ordinal_position",
                {"t": table},
            ).fetchall()
        ]
        with psycopg.connect(dsn) as pg:
            mirrored = [
                r[0]
                for r in pg.execute(
                    "select column_name from information_schema.columns where table_schema = %s "
                    "and table_name = %s order by ordinal_position",
                    (schema, table),
                ).fetchall()
            ]
        # The mart's columns, with the primary loan's currency and the load's run_id, loaded_at.
        added = ["currency"] if table == "collection_actions" else []
        assert sorted(mirrored) == sorted(mart + added + ["run_id", "loaded_at"]), table
        assert not set(mirrored) & set(PERSONAL_COLUMNS)


def test_rerun_replaces_the_date_and_leaves_other_dates_alone(con, dsn, schema):
    add_action(con, "B1", action_date=date(2025, 7, 2))
    sink_postgres(con, ACTION, dsn, schema=schema)
    sink_postgres(con, date(2025, 7, 2), dsn, schema=schema)

    con.execute("delete from marts.collection_actions where action_id = 'A2'")
    con.execute("update marts.collection_actions set overdue_amount = 99.99 where action_id = 'A3'")
    add_action(con, "A4", priority=4)
    con.execute("delete from marts.suppressed_actions")
    add_suppressed(con, "S2", "HOLD_DISPUTE")
    add_suppressed(con, "S2", "CADENCE")
    assert sink_postgres(con, ACTION, dsn, schema=schema) == 3

    rows = pg_rows(dsn, schema)
    assert ids(rows) == ["A1", "A3", "A4", "B1"]
    assert {r[0]: r[10] for r in rows}["A3"] == Decimal("99.99")
    assert [(r[0], r[8]) for r in pg_rows(dsn, schema, "suppressed_actions")] == [
        ("S2", "CADENCE"),
        ("S2", "HOLD_DISPUTE"),
    ]


def test_identical_rerun_is_a_no_op(con, dsn, schema):
    sink_postgres(con, ACTION, dsn, schema=schema)
    query = sql.SQL("select action_id, xmin::text from {} order by 1").format(
        sql.Identifier(schema, "collection_actions")
    )
    with psycopg.connect(dsn) as pg:
        before = pg.execute(query).fetchall()
    rows_before = pg_rows(dsn, schema)
    sink_postgres(con, ACTION, dsn, schema=schema)
    with psycopg.connect(dsn) as pg:
        after = pg.execute(query).fetchall()
    assert pg_rows(dsn, schema) == rows_before
    # Unchanged rows are not rewritten (same row version).
    assert after == before


@pytest.mark.parametrize("point", ["copied", "before_commit"])
def test_failure_mid_write_keeps_previous_rows_and_shows_nothing_partial(con, dsn, schema, point):
    sink_postgres(con, ACTION, dsn, schema=schema)
    previous = pg_rows(dsn, schema)
    previous_suppressed = pg_rows(dsn, schema, "suppressed_actions")

    con.execute("delete from marts.collection_actions where action_id = 'A1'")
    add_action(con, "A9", priority=9)
    con.execute("delete from marts.suppressed_actions")
    seen_meanwhile: list[list[tuple]] = []

    def hook(step: str) -> None:
        if step == point:
            # Another session, while the write is in flight, still sees exactly the old rows.
            seen_meanwhile.append(pg_rows(dsn, schema))
            seen_meanwhile.append(pg_rows(dsn, schema, "suppressed_actions"))
            raise Injected(point)

    with pytest.raises(Injected):
        sink_postgres(con, ACTION, dsn, schema=schema, on_step=hook)

    assert seen_meanwhile == [previous, previous_suppressed]
    assert pg_rows(dsn, schema) == previous
    assert pg_rows(dsn, schema, "suppressed_actions") == previous_suppressed

    # A retry is safe and lands the new set.
    assert sink_postgres(con, ACTION, dsn, schema=schema) == 3
    assert ids(pg_rows(dsn, schema)) == ["A2", "A3", "A9"]
    assert pg_rows(dsn, schema, "suppressed_actions") == []


def test_duplicate_action_ids_roll_back(con, dsn, schema):
    sink_postgres(con, ACTION, dsn, schema=schema)
    previous = pg_rows(dsn, schema)
    add_action(con, "A1", priority=7)
    with pytest.raises(ArrearsError, match="repeats action_id A1"):
        sink_postgres(con, ACTION, dsn, schema=schema)
    assert pg_rows(dsn, schema) == previous


def loads(dsn: str, schema: str) -> list[tuple]:
    with psycopg.connect(dsn) as pg:
        return pg.execute(
            sql.SQL(
                "select action_date, run_id, loaded_at, collection_actions, suppressed_actions "
                "from {} order by loaded_at"
            ).format(sql.Identifier(schema, "loads"))
        ).fetchall()


def test_loads_tell_an_empty_date_from_one_not_loaded_and_rows_carry_their_load(con, dsn, schema):
    empty = date(2025, 7, 9)
    assert sink_postgres(con, ACTION, dsn, schema=schema, run_id="run-1") == 3
    assert sink_postgres(con, empty, dsn, schema=schema, run_id="run-e") == 0
    (first, zero) = loads(dsn, schema)
    assert first[:2] == (ACTION, "run-1") and first[3:] == (3, 1)
    assert zero[:2] == (empty, "run-e") and zero[3:] == (0, 0)
    # Every row carries its load: the same run_id and the transaction's loaded_at.
    for table in ("collection_actions", "suppressed_actions"):
        assert {(r[-2], r[-1]) for r in pg_rows(dsn, schema, table)} == {("run-1", first[2])}

    # A later load: changed rows take its run_id, unchanged rows keep the load that wrote them.
    con.execute("update marts.collection_actions set priority = 5 where action_id = 'A2'")
    sink_postgres(con, ACTION, dsn, schema=schema, run_id="run-2")
    second = loads(dsn, schema)[-1]
    assert second[:2] == (ACTION, "run-2") and second[2] > first[2]
    assert {r[0]: (r[-2], r[-1]) for r in pg_rows(dsn, schema)} == {
        "A1": ("run-1", first[2]),
        "A2": ("run-2", second[2]),
        "A3": ("run-1", first[2]),
    }


def test_a_failed_load_leaves_no_loads_row(con, dsn, schema):
    sink_postgres(con, ACTION, dsn, schema=schema, run_id="run-1")

    def fail(step: str) -> None:
        if step == "before_commit":
            raise Injected(step)

    with pytest.raises(Injected):
        sink_postgres(con, ACTION, dsn, schema=schema, run_id="run-2", on_step=fail)
    assert [r[1] for r in loads(dsn, schema)] == ["run-1"]


def add_loan(con, loan_id: str, currency: str) -> None:
    con.execute(
        "insert into marts.loan_aging (snapshot_date, loan_id, customer_id, product, branch, "
        "currency, status, is_aged, dpd, bucket, aging_term, loan_class, ifrs9_stage, "
        "transition, overdue_installments, overdue_principal_amount, overdue_interest_amount, "
        "overdue_fees_amount, overdue_amount, outstanding_principal, paid_to_date_amount, "
        "has_source_dpd_mismatch) values ('2025-06-30', $l, 'C', 'p', 'b', $c, "
        "'ACTIVE', true, 9, 'M1', 'SHORT', 'SPECIAL_MENTION', 1, 'STAY', 1, 0, 0, 0, 10, 100, 0, "
        "false)",
        {"l": loan_id, "c": currency},
    )


def test_currency_is_the_covered_loans_when_they_share_one(con, dsn, schema):
    add_loan(con, "L-A1", "USD")
    add_loan(con, "L2-A1", "USD")
    add_loan(con, "L-A2", "USD")
    add_loan(con, "L2-A2", "EUR")  # two currencies: no single currency for the amounts
    add_loan(con, "L-A3", "CNY")  # L2-A3 unknown at the snapshot
    sink_postgres(con, ACTION, dsn, schema=schema)
    with psycopg.connect(dsn) as pg:
        currency = dict(
            pg.execute(
                sql.SQL("select action_id, currency from {}").format(
                    sql.Identifier(schema, "collection_actions")
                )
            ).fetchall()
        )
    assert currency == {"A1": "USD", "A2": None, "A3": None}


def test_tables_of_an_earlier_release_get_the_new_columns_and_loads(con, dsn, schema):
    sink_postgres(con, ACTION, dsn, schema=schema)
    with psycopg.connect(dsn, autocommit=True) as pg:
        # As an earlier release left them: no currency, run_id, loaded_at, and no loads table.
        pg.execute(
            sql.SQL(
                "alter table {} drop column currency, drop column run_id, drop column loaded_at"
            ).format(sql.Identifier(schema, "collection_actions"))
        )
        pg.execute(
            sql.SQL("alter table {} drop column run_id, drop column loaded_at").format(
                sql.Identifier(schema, "suppressed_actions")
            )
        )
        pg.execute(sql.SQL("drop table {}").format(sql.Identifier(schema, "loads")))
    assert sink_postgres(con, ACTION, dsn, schema=schema, run_id="run-9") == 3
    assert {r[-2] for r in pg_rows(dsn, schema)} == {"run-9"}
    assert [r[1] for r in loads(dsn, schema)] == ["run-9"]
