"""A committed night for the same-day cancellation tests: the actions of ACTION, the snapshot's
loans and installments, and helpers that land payment files and run the cancel steps."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from arrears import cancel, payments
from arrears.aging import load_aging_config
from arrears.publish import publish_cancellations
from arrears.settings import DEFAULTS_DIR
from arrears.strategy import load_strategy

ACTION = date(2025, 7, 1)
SNAPSHOT = date(2025, 6, 30)
TIMEZONE = "Asia/Shanghai"
STRATEGY = load_strategy(DEFAULTS_DIR / "strategy.yaml", "cn")
TOLERANCE = load_aging_config(DEFAULTS_DIR / "aging.yaml").tolerance
HEADER = "payment_id,loan_id,paid_at,amount"

# action_id: customer, loans, channel, stage, overdue_amount
ACTIONS: dict[str, tuple[str, list[str], str, str, str]] = {
    # one customer, two loans: a CALL and an SMS action of the CALL stage cover both
    "A-call-two": ("C1", ["L1", "L2"], "CALL", "CALL", "300.00"),
    "A-sms-two": ("C1", ["L1", "L2"], "SMS", "CALL", "300.00"),
    "A-reminder": ("C2", ["L3"], "SMS", "REMINDER", "500.00"),
    # a pre-due reminder: the installment of L4 due on 2025-07-03 (snapshot + 3)
    "A-pre-due": ("C3", ["L4"], "SMS", "PRE_DUE", "0.00"),
    "A-pre-due-two": ("C5", ["L6", "L7"], "SMS", "PRE_DUE", "0.00"),
    "A-letter": ("C4", ["L5"], "LETTER", "LETTER", "800.00"),
}
LOANS = ("L1", "L2", "L3", "L4", "L5", "L6", "L7", "L8")

# loan, installment_no, due_date, due (principal, interest), paid (principal, interest)
INSTALLMENTS = (
    ("L4", 1, "2025-06-03", ("100.00", "10.00"), ("100.00", "10.00")),
    # 0.40 left from June: paid before the reminded installment
    ("L4", 2, "2025-06-20", ("100.00", "10.00"), ("99.60", "10.00")),
    ("L4", 3, "2025-07-03", ("100.00", "10.00"), ("0.00", "0.00")),
    ("L4", 4, "2025-08-03", ("100.00", "10.00"), ("0.00", "0.00")),
    ("L6", 1, "2025-07-03", ("50.00", "5.00"), ("0.00", "0.00")),
    ("L7", 1, "2025-07-03", ("80.00", "8.00"), ("0.00", "0.00")),
)


def commit_night(con: duckdb.DuckDBPyConnection) -> None:
    """What the night of SNAPSHOT committed, as far as the cancel run reads it."""
    for loan in LOANS:
        con.execute(
            "insert into raw.loans (snapshot_date, loan_id, customer_id, product, branch, "
            "currency, origination_date, principal_amount, outstanding_principal, status) "
            "values ($d, $loan, 'C', 'consumer_loan', 'BR1', 'CNY', '2025-01-01', 1000, 500, "
            "'ACTIVE')",
            {"d": SNAPSHOT, "loan": loan},
        )
        con.execute(
            "insert into marts.loan_aging by name select $d::date as snapshot_date, "
            "$loan as loan_id, 'C' as customer_id, 'consumer_loan' as product, 'BR1' as branch, "
            "'CNY' as currency, 'ACTIVE' as status, true as is_aged, 0 as dpd, 'M0' as bucket, "
            "'NONE' as aging_term, 'NORMAL' as loan_class, 1 as ifrs9_stage, 'STAY' as "
            "transition, 0 as overdue_installments, 0 as overdue_principal_amount, "
            "0 as overdue_interest_amount, 0 as overdue_fees_amount, 0 as overdue_amount, "
            "500 as outstanding_principal, 0 as paid_to_date_amount, "
            "false as has_source_dpd_mismatch",
            {"d": SNAPSHOT, "loan": loan},
        )
    for action_id, (customer, loans, channel, stage, overdue) in ACTIONS.items():
        con.execute(
            """insert into marts.collection_actions (
            action_id, action_date, snapshot_date, customer_id, loan_ids, primary_loan_id,
            channel, stage, priority, risk_score, overdue_amount, outstanding_amount,
            window_start, window_end, timezone, max_attempts, template, strategy_version,
            strategy_variant
        ) values (
                   $id, $a, $d, $customer, $loans, $loans[1], $channel, $stage, 1, 0.5,
                   $overdue::decimal(18,2), 1000.00, timestamptz '2025-07-01 08:00:00+08',
                   timestamptz '2025-07-01 22:00:00+08', 'Asia/Shanghai',
                   case when $channel = 'CALL' then 6 end, 't', $version, 'champion')""",
            {
                "id": action_id,
                "a": ACTION,
                "d": SNAPSHOT,
                "customer": customer,
                "loans": loans,
                "channel": channel,
                "stage": stage,
                "overdue": overdue,
                "version": STRATEGY.version,
            },
        )
    for loan, number, due, (p_due, i_due), (p_paid, i_paid) in INSTALLMENTS:
        con.execute(
            "insert into raw.installments (snapshot_date, loan_id, installment_no, due_date, "
            "principal_due, interest_due, fee_due, penalty_due, principal_paid, interest_paid, "
            "fee_paid, penalty_paid) values ($d, $loan, $n, $due, $pd, $id, 0, 0, $pp, $ip, 0, 0)",
            {
                "d": SNAPSHOT,
                "loan": loan,
                "n": number,
                "due": date.fromisoformat(due),
                "pd": p_due,
                "id": i_due,
                "pp": p_paid,
                "ip": i_paid,
            },
        )


def land(landing: Path, name: str, rows: list[str], header: str = HEADER) -> Path:
    """A payments file of ACTION: rows as 'payment_id,loan_id,paid_at,amount' lines."""
    folder = payments.payments_folder(landing, ACTION)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def at(hhmm: str) -> str:
    """An ISO timestamp of ACTION in Shanghai time."""
    return f"{ACTION.isoformat()}T{hhmm}:00+08:00"


def find(con: duckdb.DuckDBPyConnection, landing: Path) -> dict[str, tuple]:
    """Read the day's payments and commit the cancellations; action_id -> row of the mart."""
    payments.load_payments(con, ACTION, landing, TIMEZONE)
    cancel.find_cancellations(con, ACTION, STRATEGY, TOLERANCE)
    rows = con.execute(
        "select action_id, reason, strftime(timezone($tz, covered_at), '%H:%M'), "
        "covered_amount::varchar, payment_ids from marts.cancelled_actions "
        "where action_date = $a order by action_id",
        {"tz": TIMEZONE, "a": ACTION},
    ).fetchall()
    return {row[0]: row[1:] for row in rows}


def cancel_and_publish(con: duckdb.DuckDBPyConnection, landing: Path, outbox: Path, run_id: str):
    find(con, landing)
    return publish_cancellations(con, ACTION, outbox, run_id)
