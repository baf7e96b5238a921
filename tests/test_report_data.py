"""Hand-made marts for the report tests: three snapshots, four buckets, two variants.

Snapshots D0 = 2025-06-28, D1 = 2025-06-29 (previous) and D = 2025-06-30; actions for D + 1.
The expected figures in the tests are worked out by hand from these rows (see the comments).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb

D0, D1, D = date(2025, 6, 28), date(2025, 6, 29), date(2025, 6, 30)
NEXT = D + timedelta(days=1)
TZ = "Asia/Shanghai"

# Personal data that lands in raw.customers and must never reach a summary or report.
PERSONAL = (
    "Zhang Secretname",
    "+8613812345678",
    "zhang@example.invalid",
    "110101199001011234",
    "88 Hidden Road",
)


def insert(con: duckdb.DuckDBPyConnection, table: str, **values: Any) -> None:
    columns = ", ".join(f"${name} as {name}" for name in values)
    con.execute(f"insert into {table} by name select {columns}", values)


def aging(
    con,
    snapshot_date,
    loan_id,
    customer_id,
    *,
    dpd,
    bucket,
    paid,
    status="ACTIVE",
    outstanding="1000.00",
    overdue="0.00",
):
    insert(
        con,
        "marts.loan_aging",
        snapshot_date=snapshot_date,
        loan_id=loan_id,
        customer_id=customer_id,
        product="consumer_loan",
        branch="BR1",
        currency="CNY",
        status=status,
        is_aged=status not in ("CLOSED", "WRITTEN_OFF"),
        dpd=dpd,
        bucket=bucket,
        aging_term="NONE",
        loan_class="NORMAL",
        ifrs9_stage=1,
        transition="STAY",
        overdue_installments=0,
        overdue_principal_amount=Decimal(overdue),
        overdue_interest_amount=Decimal("0"),
        overdue_fees_amount=Decimal("0"),
        overdue_amount=Decimal(overdue),
        outstanding_principal=Decimal(outstanding),
        paid_to_date_amount=Decimal(paid),
        has_source_dpd_mismatch=False,
    )


def action(
    con,
    table,
    action_id,
    action_date,
    customer_id,
    channel,
    stage,
    variant,
    overdue="0.00",
    reason=None,
):
    values: dict[str, Any] = dict(
        action_id=action_id,
        action_date=action_date,
        snapshot_date=action_date - timedelta(days=1),
        customer_id=customer_id,
        loan_ids=[f"LOAN-{customer_id}"],
        primary_loan_id=f"LOAN-{customer_id}",
        channel=channel,
        stage=stage,
        risk_score=Decimal("0.5"),
        overdue_amount=Decimal(overdue),
        strategy_version="v1",
        strategy_variant=variant,
    )
    if table == "marts.collection_actions":
        start = datetime(action_date.year, action_date.month, action_date.day, tzinfo=UTC)
        values |= dict(
            priority=1,
            outstanding_amount=Decimal("1000.00"),
            window_start=start,
            window_end=start + timedelta(hours=14),
            timezone=TZ,
            max_attempts=3 if channel == "CALL" else None,
            template="t1",
        )
    else:
        values |= dict(reason=reason)
    insert(con, table, **values)


def event(
    con,
    event_id,
    customer_id,
    outcome,
    occurred_at,
    *,
    action_id=None,
    channel="CALL",
    snapshot_date=D,
):
    # as a committed night leaves it: landed (raw) and in the ledger of events (marts)
    for table in ("raw.contact_events", "marts.contact_history"):
        insert(
            con,
            table,
            snapshot_date=snapshot_date,
            event_id=event_id,
            action_id=action_id,
            customer_id=customer_id,
            loan_id=None,
            channel=channel,
            occurred_at=occurred_at,
            outcome=outcome,
        )


def kpi(con, snapshot_date, bucket, loans, outstanding, overdue):
    insert(
        con,
        "marts.kpi_daily",
        snapshot_date=snapshot_date,
        bucket=bucket,
        loans=loans,
        outstanding_principal=Decimal(outstanding),
        overdue_amount=Decimal(overdue),
        new_loans=0,
        cured_loans=0,
        rolled_forward_loans=0,
    )


def roll(con, from_bucket, to_bucket, loans, share):
    insert(
        con,
        "marts.roll_rates",
        snapshot_date=D,
        period="DAY",
        previous_snapshot_date=D1,
        from_bucket=from_bucket,
        to_bucket=to_bucket,
        loans=loans,
        balance=Decimal(loans * 1000),
        loan_share=Decimal(share),
        balance_share=None,
    )


def arrangement(con, snapshot_date, arrangement_id, loan_id, customer_id, status):
    insert(
        con,
        "marts.arrangement_status",
        snapshot_date=snapshot_date,
        arrangement_id=arrangement_id,
        loan_id=loan_id,
        customer_id=customer_id,
        kind="PROMISE_TO_PAY",
        created_date=D0,
        promised_date=D,
        promised_amount=Decimal("100.00"),
        paid_amount=Decimal("0.00"),
        status=status,
    )


def utc(y, m, d, h, minute=0):
    return datetime(y, m, d, h, minute, tzinfo=UTC)


# The outcomes of the failed suites, as the validator stores them (example keys are ids: they
# must never reach the report).
DETAILS = {
    ("run-2", "loans.warning"): json.dumps(
        [
            {
                "rule": "product known",
                "type": "in_set",
                "column": "product",
                "success": True,
                "unexpected_count": 0,
                "example_keys": [],
            },
            {
                "rule": "outstanding > principal",
                "type": "sql",
                "column": None,
                "success": False,
                "unexpected_count": 3,
                "example_keys": ["LOAN-X7"],
            },
        ]
    ),
    ("run-1", "loans.critical"): json.dumps(
        [{"rule": "loan_id unique", "success": False, "unexpected_count": 7}]
    ),
}


def build(con: duckdb.DuckDBPyConnection) -> None:
    insert(
        con,
        "raw.customers",
        snapshot_date=D,
        customer_id="CUST-01",
        full_name=PERSONAL[0],
        national_id=PERSONAL[3],
        phone=PERSONAL[1],
        email=PERSONAL[2],
        address=PERSONAL[4],
    )

    # Loans at D1 and D. Variants at D1: CUST-01, CUST-05 champion; CUST-02, CUST-03 challenger;
    # CUST-04 and CUST-07 have no decision at D1 (they count only in 'all').
    aging(con, D1, "LOAN-01", "CUST-01", dpd=10, bucket="M1", paid="100.00")
    aging(con, D, "LOAN-01", "CUST-01", dpd=0, bucket="M0", paid="250.00")  # cured, +150.00
    aging(con, D1, "LOAN-02", "CUST-02", dpd=40, bucket="M2", paid="50.00")
    aging(con, D, "LOAN-02", "CUST-02", dpd=41, bucket="M2", paid="50.00")  # not cured, +0
    aging(con, D1, "LOAN-03", "CUST-03", dpd=5, bucket="M1", paid="0.00")
    aging(con, D, "LOAN-03", "CUST-03", dpd=0, bucket="M0", paid="80.50")  # cured, +80.50
    aging(con, D1, "LOAN-04", "CUST-04", dpd=0, bucket="M0", paid="300.00")
    aging(con, D, "LOAN-04", "CUST-04", dpd=0, bucket="M0", paid="400.00")  # current, +100.00
    aging(con, D1, "LOAN-05", "CUST-01", dpd=70, bucket="M3", paid="20.00")
    aging(
        con, D, "LOAN-05", "CUST-01", dpd=0, bucket="M0", paid="1020.00", status="CLOSED"
    )  # paid off and closed: not cured (not aged), +1,000.00
    aging(con, D1, "LOAN-06", "CUST-05", dpd=3, bucket="M1", paid="200.00")
    aging(con, D, "LOAN-06", "CUST-05", dpd=4, bucket="M1", paid="150.00")  # reversal: floor 0
    aging(con, D, "LOAN-07", "CUST-06", dpd=0, bucket="M0", paid="500.00")  # new: not counted
    aging(con, D1, "LOAN-08", "CUST-07", dpd=15, bucket="M1", paid="10.00")  # gone at D
    # An older snapshot: must not be taken for the previous one.
    aging(con, D0, "LOAN-04", "CUST-04", dpd=9, bucket="M1", paid="0.00")

    # Decisions at D1 (action date D): the variants above, and the calls of D.
    action(con, "marts.collection_actions", "A1", D, "CUST-01", "CALL", "CALL", "champion")
    action(con, "marts.collection_actions", "A2", D, "CUST-02", "CALL", "LETTER", "challenger")
    action(con, "marts.collection_actions", "A3", D, "CUST-03", "SMS", "REMINDER", "challenger")
    action(con, "marts.collection_actions", "A4", D, "CUST-08", "CALL", "CALL", "champion")
    action(con, "marts.collection_actions", "A5", D, "CUST-09", "CALL", "CALL", "challenger")
    action(con, "marts.collection_actions", "A6", D, "CUST-10", "CALL", "CALL", "champion")
    action(
        con,
        "marts.suppressed_actions",
        "S0",
        D,
        "CUST-05",
        "CALL",
        "REMINDER",
        "champion",
        reason="CADENCE",
    )

    # Outcomes of the calls of D (Asia/Shanghai is UTC+8).
    event(con, "E1", "CUST-01", "NO_ANSWER", utc(2025, 6, 30, 2), action_id="A1")
    event(con, "E2", "CUST-01", "PROMISE", utc(2025, 6, 30, 3))  # by customer + date: A1 PTP
    event(con, "E2", "CUST-01", "PROMISE", utc(2025, 6, 30, 3), snapshot_date=D1)  # repeated
    event(con, "E3", "CUST-02", "WRONG_PARTY", utc(2025, 6, 30, 4), action_id="A2")
    event(con, "E4", "CUST-08", "CONNECTED", utc(2025, 6, 29, 17, 30))  # 01:30 local on D: A4
    event(con, "E5", "CUST-09", "CONNECTED", utc(2025, 6, 30, 16, 30))  # 00:30 local on D+1
    event(con, "E6", "CUST-10", "DELIVERED", utc(2025, 6, 30, 5), channel="SMS")  # not a call

    # Arrangements: resolved at D are R1 (KEPT, champion), R2 (BROKEN, challenger) and R4
    # (BROKEN, its customer found through the loan: no variant).
    arrangement(con, D1, "R1", "LOAN-01", "CUST-01", "ACTIVE")
    arrangement(con, D, "R1", "LOAN-01", "CUST-01", "KEPT")
    arrangement(con, D1, "R2", "LOAN-02", "CUST-02", "ACTIVE")
    arrangement(con, D, "R2", "LOAN-02", "CUST-02", "BROKEN")
    arrangement(con, D1, "R3", "LOAN-03", "CUST-03", "KEPT")
    arrangement(con, D, "R3", "LOAN-03", "CUST-03", "KEPT")  # resolved before D
    arrangement(con, D, "R4", "LOAN-04", None, "BROKEN")
    arrangement(con, D, "R5", "LOAN-06", "CUST-05", "ACTIVE")

    # Actions for D + 1 (decided at D).
    action(
        con, "marts.collection_actions", "B1", NEXT, "CUST-01", "CALL", "CALL", "champion", "100.00"
    )
    action(
        con, "marts.collection_actions", "B2", NEXT, "CUST-01", "SMS", "CALL", "champion", "100.00"
    )
    action(
        con,
        "marts.collection_actions",
        "B3",
        NEXT,
        "CUST-02",
        "LETTER",
        "LETTER",
        "challenger",
        "500.00",
    )
    action(
        con,
        "marts.collection_actions",
        "B4",
        NEXT,
        "CUST-02",
        "CALL",
        "LETTER",
        "challenger",
        "500.00",
    )
    action(
        con,
        "marts.collection_actions",
        "B5",
        NEXT,
        "CUST-03",
        "SMS",
        "REMINDER",
        "challenger",
        "20.00",
    )
    action(
        con, "marts.collection_actions", "B6", NEXT, "CUST-11", "SMS", "PRE_DUE", "champion", "0.00"
    )
    action(
        con,
        "marts.suppressed_actions",
        "S1",
        NEXT,
        "CUST-05",
        "CALL",
        "REMINDER",
        "champion",
        reason="CADENCE",
    )
    action(
        con,
        "marts.suppressed_actions",
        "S2",
        NEXT,
        "CUST-12",
        "SMS",
        "REMINDER",
        "challenger",
        reason="CONSENT",
    )
    action(
        con,
        "marts.suppressed_actions",
        "S3",
        NEXT,
        "CUST-13",
        "CALL",
        "CALL",
        "champion",
        reason="CADENCE",
    )

    # Portfolio per bucket (marts.kpi_daily) at D0, D1 and D.
    for bucket, loans, outstanding, overdue in (
        ("M0", 10, "10000.00", "0.00"),
        ("M1", 2, "2000.00", "100.00"),
    ):
        kpi(con, D0, bucket, loans, outstanding, overdue)
    for bucket, loans, outstanding, overdue in (
        ("M0", 8, "8000.00", "0.00"),
        ("M1", 3, "3000.00", "150.00"),
        ("M2", 1, "1500.00", "300.00"),
        ("M3", 1, "1000.00", "400.00"),
    ):
        kpi(con, D1, bucket, loans, outstanding, overdue)
    for bucket, loans, outstanding, overdue in (
        ("M0", 9, "9000.50", "0.00"),
        ("M1", 1, "1200.00", "60.00"),
        ("M2", 2, "2500.00", "700.25"),
        ("M3", 0, "0.00", "0.00"),
    ):
        kpi(con, D, bucket, loans, outstanding, overdue)

    # Roll rates D1 -> D.
    roll(con, "M0", "M0", 7, "0.875000")
    roll(con, "M0", "M1", 1, "0.125000")
    roll(con, "M1", "M0", 2, "0.666667")
    roll(con, "M1", "M1", 1, "0.333333")
    roll(con, "M2", "M2", 1, "1.000000")
    roll(con, "M3", "CLOSED", 1, "1.000000")

    # Validation: two runs of D; the later one counts.
    for run_id, hour, status in (("run-1", 1, "FAILED"), ("run-2", 2, "SUCCEEDED")):
        insert(
            con,
            "ops.runs",
            run_id=run_id,
            snapshot_date=D,
            action_date=NEXT,
            started_at=utc(2025, 7, 1, hour),
            finished_at=utc(2025, 7, 1, hour) + timedelta(seconds=83),
            status=status,
        )
    for run_id, suite, dataset, success, evaluated, failed, unexpected, hour in (
        ("run-1", "loans.critical", "loans", False, 10, 2, 7, 1),
        ("run-2", "loans.critical", "loans", True, 10, 0, 0, 2),
        ("run-2", "loans.warning", "loans", False, 4, 1, 3, 2),
        ("run-2", "actions.critical", "actions", True, 5, 0, 0, 3),
    ):
        insert(
            con,
            "quality.runs",
            validation_id=f"{run_id}-{suite}",
            run_id=run_id,
            snapshot_date=D,
            suite=suite,
            dataset=dataset,
            success=success,
            evaluated=evaluated,
            failed=failed,
            unexpected_rows=unexpected,
            duration_seconds=0.1,
            details_json=DETAILS.get((run_id, suite)),
            validated_at=utc(2025, 7, 1, hour),
        )
    for run_id, key in (("run-1", "LOAN-X1"), ("run-1", "LOAN-X2"), ("run-2", "LOAN-X3")):
        insert(
            con,
            "quality.quarantine",
            snapshot_date=D,
            run_id=run_id,
            dataset="loans",
            record_key=key,
            rule="not_null",
            value=None,
        )


def store_kpis(con: duckdb.DuckDBPyConnection, snapshot_date: date = D) -> None:
    """What a run of `snapshot_date` leaves in marts.kpi_variants: its results of the date
    staged in work.* (as the run holds them before its commit), the KPI model, the commit."""
    from arrears import commit
    from arrears.report.kpis import build_kpi_variants
    from arrears.runs import action_date_for

    dates = {"snapshot": snapshot_date, "action": action_date_for(snapshot_date)}
    for table, column, which in commit.PARTITIONS:
        if which not in dates:  # the bureau's monthly rows: not a reporting night here
            continue
        name = table.split(".", 1)[1]
        con.execute(
            f"create or replace table work.{name} as select * from {table} where {column} = $d",
            {"d": dates[which]},
        )
    build_kpi_variants(con, snapshot_date)
    commit.commit(con, snapshot_date)
    con.execute("drop schema work cascade")
    con.execute("create schema work")


def kpis_from_history(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> list[dict[str, Any]]:
    """The KPIs of a date recomputed from the committed warehouse alone (raw.* and marts.*):
    the oracle the stored KPIs are compared with."""
    from pathlib import Path

    from arrears.sqlfiles import bind

    query = (Path(__file__).parent / "sql" / "kpis_from_history.sql").read_text(encoding="utf-8")
    params = {"snapshot_date": snapshot_date}
    result = con.execute(query, bind(query, params))
    columns = [d[0] for d in result.description]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]
