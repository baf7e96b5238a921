"""actions.critical on hand-made work.collection_actions rows, and the outbox column guard."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from arrears import warehouse
from arrears.errors import InputRejected
from arrears.publish import check_personal_columns
from arrears.quality import ALLOWED_PERSONAL_COLUMNS, validate_actions
from arrears.settings import Settings

A = date(2025, 7, 1)
D = date(2025, 6, 30)


def action(action_id: str, customer_id: str, channel: str, **kw: Any) -> dict[str, Any]:
    return {
        "action_id": action_id,
        "action_date": A,
        "snapshot_date": D,
        "customer_id": customer_id,
        "loan_ids": [f"L{customer_id[1:]}"],
        "primary_loan_id": f"L{customer_id[1:]}",
        "channel": channel,
        "stage": "CALL",
        "priority": 1,
        "risk_score": Decimal("0.5000"),
        "overdue_amount": Decimal("100.00"),
        "outstanding_amount": Decimal("900.00"),
        "window_start": "2025-07-01 09:00:00+08",
        "window_end": "2025-07-01 20:00:00+08",
        "timezone": "Asia/Shanghai",
        "max_attempts": 3 if channel == "CALL" else None,
        "template": "t",
        "strategy_version": "v1",
        "strategy_variant": "champion",
        **kw,
    }


@pytest.fixture()
def con() -> duckdb.DuckDBPyConnection:
    connection = warehouse.connect(":memory:")
    connection.execute(
        "create table work.collection_actions as select * from marts.collection_actions limit 0"
    )
    connection.execute(warehouse.work_table_ddl("customers"))
    connection.execute(warehouse.work_table_ddl("holds"))
    connection.execute(
        "insert into work.customers (snapshot_date, customer_id, full_name, consent_sms, "
        "consent_call, consent_email) values "
        "($d, 'C1', 'x', true, true, true), ($d, 'C2', 'x', false, null, true), "
        "($d, 'C3', 'x', true, true, true), ($d, 'C4', 'x', true, true, true)",
        {"d": D},
    )
    connection.execute(
        "insert into work.holds values "
        "($d, 'C3', null, 'DECEASED', date '2025-06-01', null), "
        "($d, 'C4', 'L9', 'LEGAL_HOLD', date '2025-06-01', null), "
        "($d, 'C1', null, 'LEGAL_HOLD', date '2025-01-01', date '2025-03-01')",
        {"d": D},
    )
    yield connection
    connection.close()


def put(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        columns = list(row)
        con.execute(
            f"insert into work.collection_actions ({', '.join(columns)}) "
            f"values ({', '.join('?' for _ in columns)})",
            [row[c] for c in columns],
        )


def good_rows() -> list[dict[str, Any]]:
    return [
        action("a1", "C1", "CALL"),
        action("a2", "C1", "SMS"),
        action("a3", "C2", "CALL"),  # consent_call null = default true
        action("a4", "C4", "CALL"),  # LEGAL_HOLD on another loan (L9) only
        # 22:00 Shanghai is the last minute allowed in the cn profile.
        action("a5", "C2", "LETTER", window_end="2025-07-01 22:00:00+08"),
        action(
            "a6",
            "C5",
            "CALL",
            timezone="America/New_York",
            window_start="2025-07-01 08:00:00-04",
            window_end="2025-07-01 21:00:00-04",
        ),
    ]


def test_clean_actions_pass_and_are_recorded(con: duckdb.DuckDBPyConnection) -> None:
    put(con, good_rows())
    report = validate_actions(con, A, "run-1", Settings())
    assert report.success
    row = con.execute(
        "select suite, snapshot_date, success, unexpected_rows from quality.runs"
    ).fetchone()
    assert row == ("actions.critical", D, True, 0)


@pytest.mark.parametrize(
    ("bad", "rule", "example"),
    [
        (action("b1", "C1", "CALL"), "more than one action per customer, channel and date", "b1"),
        (action("b1", "C3", "LETTER"), "action for a DECEASED or LEGAL_HOLD customer", "b1"),
        (
            action("b1", "C4", "LETTER", loan_ids=["L4", "L9"]),
            "action for a DECEASED or LEGAL_HOLD customer",
            "b1",
        ),
        (action("b1", "C2", "SMS"), "action without consent", "b1"),
        (
            action("b1", "C1", "EMAIL", window_start="2025-07-01 07:59:00+08"),
            "contact window outside 08:00-22:00 local",
            "b1",
        ),
        (
            action("b1", "C1", "EMAIL", window_end="2025-07-01 22:00:01+08"),
            "contact window outside 08:00-22:00 local",
            "b1",
        ),
        (action("a1", "C2", "EMAIL"), "action_id duplicated", "a1"),
        (action("b1", "C2", "FAX"), "channel not a known value", "b1"),
    ],
)
def test_each_rule_rejects_the_planted_row(
    con: duckdb.DuckDBPyConnection, bad: dict[str, Any], rule: str, example: str
) -> None:
    put(con, [*good_rows(), bad])
    with pytest.raises(InputRejected) as caught:
        validate_actions(con, A, "run-1", Settings())
    assert caught.value.rule == rule
    assert example in caught.value.examples
    assert caught.value.exit_code == 3
    assert con.execute("select success from quality.runs").fetchone() == (False,)


def test_us_profile_window_closes_at_nine(con: duckdb.DuckDBPyConnection) -> None:
    put(con, [action("a1", "C1", "CALL", window_end="2025-07-01 21:30:00+08")])
    validate_actions(con, A, "run-1", Settings(profile="cn"))
    with pytest.raises(InputRejected, match="08:00-21:00"):
        validate_actions(con, A, "run-2", Settings(profile="us"))


def test_personal_columns_in_actions_or_outbox_are_refused(
    con: duckdb.DuckDBPyConnection,
) -> None:
    put(con, good_rows())
    with pytest.raises(InputRejected, match="SMS outbox carries personal data"):
        validate_actions(
            con, A, "run-1", Settings(), outbox_columns={"SMS": ["action_id", "phone", "email"]}
        )
    con.execute("alter table work.collection_actions add column phone varchar")
    with pytest.raises(InputRejected, match="personal data column in the action list"):
        validate_actions(con, A, "run-2", Settings())


def test_check_personal_columns_of_an_outbox_file() -> None:
    check_personal_columns("SMS", ["action_id", "customer_id", "phone"])
    check_personal_columns(
        "visit", ["full_name", "address", "city", "province", "postal_code", "branch"]
    )
    check_personal_columns("LEGAL", ["full_name", "national_id"])
    with pytest.raises(InputRejected) as caught:
        check_personal_columns("CALL", ["phone", "full_name", "national_id"])
    assert caught.value.examples == ["national_id"]
    with pytest.raises(ValueError, match="unknown channel"):
        check_personal_columns("FAX", ["phone"])
    assert set(ALLOWED_PERSONAL_COLUMNS) == {"SMS", "CALL", "EMAIL", "LETTER", "VISIT", "LEGAL"}
