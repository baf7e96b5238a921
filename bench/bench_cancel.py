"""Benchmark of the same-day cancellation: `cancel_actions` over a committed night of N loans.

    .venv/bin/python bench/bench_cancel.py [--loans 1000000] [--payments 50000] [--runs 3]

Builds a warehouse file as a night of N loans leaves it (raw.loans and raw.installments of
the snapshot and of the night before, marts.loan_aging of the snapshot, a week of
marts.collection_actions: ~0.3 actions per loan on the action date, a tenth of them pre-due
reminders) and lands the day's payments in four batch files (70 % on loans with an action).
Then it starts Prefect's temporary API with a flow that does nothing, and times whole
`cancel_actions` flow runs after that start (the target: <= 10 s at 1M loans and 50k payments),
and the same steps without Prefect (read, find, publish), each the median of the runs.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from arrears.prefect_env import configure  # noqa: E402

configure()

from arrears import cancel, payments, warehouse  # noqa: E402
from arrears.aging import load_aging_config  # noqa: E402
from arrears.publish import publish_cancellations  # noqa: E402
from arrears.settings import DEFAULTS_DIR, load_settings  # noqa: E402
from arrears.strategy import load_strategy  # noqa: E402

ACTION = date(2025, 7, 1)
SNAPSHOT = ACTION - timedelta(days=1)
STRATEGY = load_strategy(DEFAULTS_DIR / "strategy.yaml", "cn")
CHANNELS = ["SMS", "CALL", "LETTER", "VISIT", "EMAIL", "LEGAL"]
STAGES = ["REMINDER", "CALL", "LETTER", "VISIT", "RECOVERY", "LEGAL"]

_LOANS = """
    insert into raw.loans (snapshot_date, loan_id, customer_id, product, branch, currency,
                           origination_date, principal_amount, outstanding_principal, status)
    select $d, 'L' || i, 'C' || (i * 5 // 8), 'consumer_loan', 'BR' || (i % 50), 'CNY',
           date '2024-01-01', 10000, 5000, 'ACTIVE'
    from range($n) t(i)
"""
_INSTALLMENTS = """
    insert into raw.installments (snapshot_date, loan_id, installment_no, due_date,
                                  principal_due, interest_due, fee_due, penalty_due,
                                  principal_paid, interest_paid, fee_paid, penalty_paid)
    select $d, 'L' || i, k, $d::date - 90 + (k * 30 + i % 30)::integer, 100, 10, 0, 0,
           case when k < 3 then 100 else 0 end, case when k < 3 then 10 else 0 end, 0, 0
    from range($n) t(i), range(6) s(k)
"""
_AGING = """
    insert into marts.loan_aging by name
    select $d::date as snapshot_date, 'L' || i as loan_id, 'C' || (i * 5 // 8) as customer_id,
           'consumer_loan' as product, 'BR1' as branch, 'CNY' as currency, 'ACTIVE' as status,
           true as is_aged, 0 as dpd, 'M0' as bucket, 'NONE' as aging_term,
           'NORMAL' as loan_class, 1 as ifrs9_stage, 'STAY' as transition,
           0 as overdue_installments, 0 as overdue_principal_amount,
           0 as overdue_interest_amount, 0 as overdue_fees_amount, 0 as overdue_amount,
           5000 as outstanding_principal, 0 as paid_to_date_amount,
           false as has_source_dpd_mismatch
    from range($n) t(i)
"""
# One action per customer and channel: customers are groups of 8/5 loans; ~0.3 per loan.
_ACTIONS = """
    insert into marts.collection_actions (
        action_id, action_date, snapshot_date, customer_id, loan_ids, primary_loan_id,
        channel, stage, priority, risk_score, overdue_amount, outstanding_amount,
        window_start, window_end, timezone, max_attempts, template, strategy_version,
        strategy_variant
    )
    select md5(a::varchar || '|' || c || '|' || ch), a, a - 1, 'C' || c, loans, loans[1],
           $channels[ch], case when c % 10 = 0 then 'PRE_DUE' else $stages[c % 6 + 1] end,
           1, 0.5, case when c % 10 = 0 then 0 else 110.00 * len(loans) end, 5000.00,
           a + interval 8 hour, a + interval 22 hour, 'Asia/Shanghai',
           case when ch = 2 then 6 end, 't', $version, 'champion'
    from (
        select c, list('L' || i order by i) as loans
        from (select i, i * 5 // 8 as c from range($n) t(i))
        group by c
    ) as customers,
    (select ($a::date - k::integer) as a from range(7) s(k)) as days,
    range(1, 3) ch(ch)
    where hash(c, a) % 100 < 20
"""


def build(folder: Path, loans: int, paid: int) -> tuple[Path, Path]:
    path = folder / "arrears.duckdb"
    con = warehouse.connect(path)
    for day in (SNAPSHOT - timedelta(days=1), SNAPSHOT):
        con.execute(_LOANS, {"d": day, "n": loans})
        con.execute(_INSTALLMENTS, {"d": day, "n": loans})
    con.execute(_AGING, {"d": SNAPSHOT, "n": loans})
    con.execute(
        _ACTIONS,
        {
            "n": loans,
            "a": ACTION,
            "channels": CHANNELS,
            "stages": STAGES,
            "version": STRATEGY.version,
        },
    )
    landing = folder / "landing"
    target = payments.payments_folder(landing, ACTION)
    target.mkdir(parents=True)
    for batch, hour in enumerate((12, 16, 20, 24)):
        out = str(target / f"payments-{hour:02d}.csv").replace("'", "''")
        con.execute(
            f"""
            copy (
                with action_loans as (
                    select loan_id, row_number() over (order by hash(loan_id)) - 1 as j
                    from (
                        select distinct unnest(loan_ids) as loan_id
                        from marts.collection_actions where action_date = $a
                    )
                ),
                numbered as (
                    select k, k % (select count(*) from action_loans) as j
                    from range(1, $paid + 1) t(k)
                    where k % 4 = $batch
                )
                select 'PM' || k as payment_id,
                       case when k % 10 < 7 then action_loans.loan_id
                            else 'L' || (hash(k) % $n) end as loan_id,
                       strftime($a::timestamp + to_seconds(($batch * 4 + 8) * 3600 + k % 14400),
                           '%Y-%m-%dT%H:%M:%S') || '+08:00' as paid_at,
                       (case when k % 3 = 0 then 40 else 230 end)::decimal(18,2) as amount
                from numbered
                inner join action_loans on action_loans.j = numbered.j
                order by k
            ) to '{out}' (header, delimiter ',')
            """,
            {"a": ACTION, "batch": batch, "n": loans, "paid": paid},
        )
    con.close()
    return path, landing


def median(fn, runs: int) -> tuple[float, list[float]]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--payments", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    folder = Path(args.workdir or tempfile.mkdtemp(prefix="bench-cancel-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        path, landing = build(folder, args.loans, args.payments)
        print(f"built {args.loans:,} loans in {time.perf_counter() - started:.1f} s")
        with warehouse.opened(path, read_only=True) as con:
            actions = cancel.require_committed_night(con, ACTION)
        settings = load_settings(warehouse=path, landing=landing, outbox=folder / "outbox")
        tolerance = load_aging_config(settings.aging).tolerance

        def steps() -> dict[str, float]:
            times: dict[str, float] = {}
            with warehouse.opened(path) as con:
                t = time.perf_counter()
                landed = payments.load_payments(con, ACTION, landing, settings.timezone)
                times["read"] = time.perf_counter() - t
                t = time.perf_counter()
                counts = cancel.find_cancellations(con, ACTION, STRATEGY, tolerance)
                times["find"] = time.perf_counter() - t
                t = time.perf_counter()
                publish_cancellations(con, ACTION, settings.outbox, uuid.uuid4().hex)
                times["publish"] = time.perf_counter() - t
                warehouse.clear_work(con)
            times["payments"] = landed.rows
            times["cancelled"] = sum(counts.values())
            return times

        plain = [steps() for _ in range(args.runs)]
        for key in ("read", "find", "publish"):
            values = [p[key] for p in plain]
            print(f"  {key:<8} median {statistics.median(values):.2f} s")
        print(
            f"{actions:,} actions of {ACTION}, {int(plain[0]['payments']):,} payments: "
            f"{int(plain[0]['cancelled']):,} withdrawn"
        )

        from prefect import flow

        from flows.cancel_actions import cancel_actions

        @flow(name="bench-prefect-start")
        def start() -> None:
            return None

        started = time.perf_counter()
        start()
        print(f"Prefect's temporary API started in {time.perf_counter() - started:.1f} s")
        seconds, timings = median(
            lambda: cancel_actions(action_date=ACTION, settings=settings), args.runs
        )
        print(
            f"cancel_actions flow ({args.loans:,} loans, {args.payments:,} payments): "
            f"median {seconds:.2f} s of {', '.join(f'{t:.2f}' for t in timings)} "
            f"(target <= 10 s at 1M loans and 50k payments)"
        )
    finally:
        if args.workdir is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
