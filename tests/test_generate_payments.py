"""The generator's intraday payments: each snapshot's next day, consistent with the next
snapshot, in batches by hour, some split, some partial, and accepted by the payments reader."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from arrears import payments, warehouse
from arrears.contract import INSTALLMENTS, LOANS, PAYMENTS
from arrears.generate import generate_landing
from arrears.generate.payments import BATCH_HOURS

START = date(2025, 6, 1)
PAID = "principal_paid + interest_paid + fee_paid + penalty_paid"


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    summary = generate_landing(root, START, 2, 3000, seed=7, payments=True)
    assert summary.rows["payments"] > 0
    return root


def typed(path: Path, dataset) -> str:
    columns = ", ".join(f"'{c.name}': '{c.sql_type}'" for c in dataset.columns)
    return f"read_csv('{path}', header = true, columns = {{{columns}}})"


def test_the_day_after_each_snapshot_gets_its_payments_in_hourly_batches(landing):
    for day in ("2025-06-02", "2025-06-03"):
        names = sorted(p.name for p in (landing / day / "payments").iterdir())
        assert names == [f"payments-{h:02d}.csv" for h in BATCH_HOURS]
    assert not (landing / "2025-06-01" / "payments").exists()
    # the day after the last snapshot holds only its payments
    assert [p.name for p in (landing / "2025-06-03").iterdir()] == ["payments"]


def test_payments_are_what_the_next_snapshot_shows_paid(landing):
    con = duckdb.connect()
    mismatched, paying, split = con.sql(
        f"""
        with before as (
            select loan_id, sum({PAID}) as paid
            from {typed(landing / "2025-06-01" / "installments.csv", INSTALLMENTS)} group by 1
        ),
        after as (
            select loan_id, sum({PAID}) as paid
            from {typed(landing / "2025-06-02" / "installments.csv", INSTALLMENTS)} group by 1
        ),
        paid as (
            select loan_id, sum(amount) as amount, count(*) as payments
            from {typed(landing / "2025-06-02" / "payments" / "*.csv", PAYMENTS)} group by 1
        )
        select
            count(*) filter (where coalesce(after.paid - before.paid, 0)
                                   <> coalesce(paid.amount, 0)),
            count(paid.loan_id),
            count(*) filter (where paid.payments = 2)
        from before
        left join after on after.loan_id = before.loan_id
        full join paid on paid.loan_id = before.loan_id
        """
    ).fetchall()[0]
    assert mismatched == 0
    assert paying > 50 and split > 0


def test_batches_hold_the_payments_made_before_their_hour(landing):
    folder = landing / "2025-06-02" / "payments"
    previous = 0
    for hour in BATCH_HOURS:
        hours = duckdb.sql(
            "select min(hour(timezone('Asia/Shanghai', paid_at))), "
            "max(hour(timezone('Asia/Shanghai', paid_at))) "
            f"from {typed(folder / f'payments-{hour:02d}.csv', PAYMENTS)}"
        ).fetchall()[0]
        assert previous <= hours[0] and hours[1] < hour
        previous = hour


def test_the_payments_reader_accepts_every_generated_file(landing, tmp_path):
    con = warehouse.connect(":memory:")
    con.execute(
        f"insert into raw.loans select '2025-06-01', * "
        f"from {typed(landing / '2025-06-01' / 'loans.csv', LOANS)}"
    )
    landed = payments.load_payments(con, date(2025, 6, 2), landing, "Asia/Shanghai")
    assert [Path(f.file).name for f in landed.files] == [
        f"payments-{h:02d}.csv" for h in BATCH_HOURS
    ]
    assert landed.rows == warehouse.count(con, "work.payments") > 0


def test_some_payers_pay_only_part_of_what_is_overdue(landing):
    due = "principal_due + interest_due + fee_due + penalty_due"
    still_overdue = duckdb.sql(
        f"""
        select count(distinct inst.loan_id)
        from {typed(landing / "2025-06-02" / "installments.csv", INSTALLMENTS)} as inst
        where inst.due_date < date '2025-06-02'
          and ({due}) - ({PAID}) > 1.00
          and inst.loan_id in (
              select loan_id
              from {typed(landing / "2025-06-02" / "payments" / "*.csv", PAYMENTS)}
          )
        """
    ).fetchall()[0][0]
    assert still_overdue > 0
