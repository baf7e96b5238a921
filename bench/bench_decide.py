"""Benchmark of the decide step: a synthetic book of N loans (default 1M) in DuckDB.

    .venv/bin/python bench/bench_decide.py [--loans 1000000] [--profile cn] [--runs 3]

Builds work.* inputs (loans ~1.6 per customer, 6 installments per loan, 1% holds, 2% promises,
call events over the last week) and history (12 month-end snapshots, the previous day, and 30
days of published actions), then times decide() and prints the median of the runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, timedelta

from arrears import state, warehouse
from arrears.contract import HOLD_KINDS
from arrears.settings import DEFAULTS_DIR
from arrears.strategy import decide, load_strategy

D = date(2025, 6, 30)

_AGING = """
    select
        $d::date as snapshot_date,
        'L' || i as loan_id,
        'C' || (i * 5 // 8) as customer_id,
        'consumer_loan' as product,
        'BR' || (i % 50) as branch,
        'CNY' as currency,
        case when hash(i, 1) % 200 = 0 then 'CHARGED_OFF' else 'ACTIVE' end as status,
        true as is_aged,
        (case when hash(i, 2) % 10 < 7 then 0 else hash(i, 3) % 200 end)::integer as dpd,
        'M?' as bucket,
        'NONE' as aging_term,
        'NORMAL' as loan_class,
        1 as ifrs9_stage,
        'STAY' as transition,
        0 as overdue_installments,
        0 as overdue_principal_amount,
        0 as overdue_interest_amount,
        0 as overdue_fees_amount,
        ((hash(i, 4) % 1000000) / 100)::decimal(18,2) as overdue_amount,
        ((hash(i, 5) % 5000000) / 100)::decimal(18,2) as outstanding_principal,
        ((hash(i, 6) % 300000) / 100)::decimal(18,2) as paid_to_date_amount,
        $d::date - (hash(i, 7) % 90)::integer as last_payment_date,
        false as has_source_dpd_mismatch,
    from range($n) t(i)
"""


def build(con, n: int) -> None:
    con.execute("create or replace table work.loan_aging as select * from marts.loan_aging limit 0")
    con.execute(f"insert into work.loan_aging by name {_AGING}", {"d": D, "n": n})
    month_ends = [
        date(2024, 7, 31),
        date(2024, 8, 31),
        date(2024, 9, 30),
        date(2024, 10, 31),
        date(2024, 11, 30),
        date(2024, 12, 31),
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
        date(2025, 5, 31),
        D - timedelta(days=1),
    ]
    for day in month_ends:
        con.execute(
            f"insert into marts.loan_aging by name {_AGING}",
            {"d": day, "n": n},
        )
    con.execute(warehouse.work_table_ddl("customers"))
    con.execute(
        "insert into work.customers by name select $d as snapshot_date, customer_id,"
        " 'x' as full_name, case when hash(customer_id) % 50 = 0 then null else '138' end as phone,"
        " 'a' as address, 'e' as email,"
        " case when hash(customer_id) % 10 = 0 then 'Asia/Urumqi' end as timezone,"
        " hash(customer_id) % 30 <> 0 as consent_sms, true as consent_call, true as consent_email"
        " from (select distinct customer_id from work.loan_aging)",
        {"d": D},
    )
    con.execute(warehouse.work_table_ddl("installments"))
    con.execute(
        "insert into work.installments by name select $d as snapshot_date, 'L' || i as loan_id,"
        " k as installment_no, $d::date - 90 + (k * 30 + i % 30)::integer as due_date,"
        " 100 as principal_due, 10 as interest_due, 0 as fee_due, 0 as penalty_due,"
        " case when k < 3 then 100 else 0 end as principal_paid,"
        " case when k < 3 then 10 else 0 end as interest_paid, 0 as fee_paid, 0 as penalty_paid"
        " from range($n) t(i), range(6) s(k)",
        {"d": D, "n": n},
    )
    con.execute(warehouse.work_table_ddl("holds"))
    con.execute(
        "insert into work.holds by name select $d as snapshot_date,"
        " 'C' || (i * 5 // 8) as customer_id,"
        " case when i % 2 = 0 then 'L' || i end as loan_id,"
        " $kinds[i % 7 + 1] as kind, $d::date - 10 as start_date, null as end_date"
        " from range($n) t(i) where hash(i, 8) % 100 = 0",
        {"d": D, "n": n, "kinds": list(HOLD_KINDS)},
    )
    con.execute(warehouse.work_table_ddl("arrangements"))
    con.execute(
        "insert into work.arrangements by name select $d as snapshot_date,"
        " 'P' || i as arrangement_id, 'L' || i as loan_id, 'PROMISE_TO_PAY' as kind,"
        " $d::date - (i % 10)::integer as created_date,"
        " $d::date + (i % 7)::integer - 3 as promised_date, 500 as promised_amount,"
        " i % 13 = 0 as cancelled from range($n) t(i) where hash(i, 9) % 50 = 0",
        {"d": D, "n": n},
    )
    con.execute(warehouse.work_table_ddl("contact_events"))
    con.execute(
        "insert into raw.contact_events by name select $d::date - 1 as snapshot_date,"
        " 'E' || i || '-' || k as event_id, null as action_id, 'C' || (i * 5 // 8) as customer_id,"
        " 'L' || i as loan_id, 'CALL' as channel,"
        " ($d::date - k::integer)::timestamp + interval 10 hour as occurred_at,"
        " case when (i + k) % 9 = 0 then 'CONNECTED' else 'NO_ANSWER' end as outcome"
        " from range($n) t(i), range(6) s(k) where hash(i, 10) % 10 = 0",
        {"d": D, "n": n},
    )
    con.execute(
        "insert into marts.collection_actions by name select md5(i || '-' || k) as action_id,"
        " $d::date - k::integer as action_date, $d::date - k::integer - 1 as snapshot_date,"
        " 'C' || (i * 5 // 8) as customer_id, ['L' || i] as loan_ids, 'L' || i as primary_loan_id,"
        " ['SMS','CALL','LETTER'][k % 3 + 1] as channel, 'CALL' as stage, 1 as priority,"
        " 0 as risk_score, 0 as overdue_amount, 0 as outstanding_amount,"
        " now() as window_start, now() as window_end, 'Asia/Shanghai' as timezone,"
        " 't' as template, 'v0' as strategy_version, 'champion' as strategy_variant"
        " from range($n) t(i), range(30) s(k) where hash(i, 11) % 10 = 0 and hash(i, k) % 4 = 0",
        {"d": D, "n": n},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--profile", default="cn")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    strategy = load_strategy(DEFAULTS_DIR / "strategy.yaml", args.profile)
    con = warehouse.connect(":memory:")
    started = time.perf_counter()
    build(con, args.loans)
    # the state a night reads, derived once from the planted history (as an upgrade does)
    state.rebuild(con, through=D - timedelta(days=1))
    print(f"built {args.loans:,} loans in {time.perf_counter() - started:.1f} s")
    timings = []
    counts = {}
    for _ in range(args.runs):
        started = time.perf_counter()
        counts = decide(con, D, strategy, "Asia/Shanghai")
        timings.append(time.perf_counter() - started)
    print(
        f"decide ({args.profile}): median {statistics.median(timings):.2f} s of "
        f"{', '.join(f'{t:.2f}' for t in timings)}"
    )
    print("rows:", counts)
    for row in con.execute(
        "select 'action' as kind, channel, count(*) from work.collection_actions group by all"
        " union all select reason, channel, count(*) from work.suppressed_actions group by all"
        " order by 1, 2"
    ).fetchall():
        print("   ", *row)


if __name__ == "__main__":
    main()
