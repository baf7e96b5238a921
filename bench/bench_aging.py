"""Benchmark: aging of 1M loans with ~12M installments in a file warehouse.

    .venv/bin/python bench/bench_aging.py [--loans 1000000] [--runs 3] [--warehouse PATH]

The book is synthetic and built in DuckDB with range() (no generator needed): 12 monthly
installments per loan, a mix of paid, partly paid and unpaid ones, a few CLOSED / WRITTEN_OFF /
CHARGED_OFF loans. The day before D is aged and committed first, so the timed run of D
computes real transitions and roll rates against one day of history.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from arrears import state, warehouse
from arrears.aging import build_aging, load_aging_config

SNAPSHOT = date(2025, 6, 30)

LOANS = """
insert into work.loans
select
    $snapshot_date,
    'L' || lpad(i::varchar, 8, '0'),
    'C' || lpad((i // 2)::varchar, 8, '0'),
    ['consumer_loan', 'credit_card', 'microloan', 'auto_loan'][1 + i % 4],
    'BR' || (i % 50)::varchar,
    'CNY',
    date '2024-07-01' + (i % 28)::integer,
    date '2025-07-01' + (i % 28)::integer,
    12000.00,
    cast(1000 * (12 - i % 12) as decimal(18,2)),
    case when i % 997 = 0 then 'CLOSED' when i % 991 = 0 then 'WRITTEN_OFF'
         when i % 983 = 0 then 'CHARGED_OFF' else 'ACTIVE' end,
    case when i % 5 = 0 then (i % 200)::integer end,
from range($loans) t(i)
"""

# Installment n of loan i is due n months after origination; how much of it is paid depends
# on a hash of (i, n): 96 % are paid, 2 % partly, 2 % not at all.
INSTALLMENTS = """
insert into work.installments
select
    $snapshot_date,
    'L' || lpad(i::varchar, 8, '0'),
    n,
    cast(date '2024-07-01' + (i % 28)::integer + to_months(n) as date),
    1000.00,
    50.00,
    0.00,
    case when h % 10 = 0 then 20.00 else 0.00 end,
    case when due > $snapshot_date then 0.00 when h % 100 < 96 then 1000.00
         when h % 100 < 98 then 400.00 else 0.00 end,
    case when due > $snapshot_date then 0.00 when h % 100 < 96 then 50.00 else 0.00 end,
    0.00,
    0.00,
    case when due <= $snapshot_date and h % 100 < 98 then due end,
from (
    select i, n, hash(i, n) as h,
        cast(date '2024-07-01' + (i % 28)::integer + to_months(n) as date) as due,
    from range($loans) a(i), range(1, 13) b(n)
)
"""


def build_book(con, snapshot_date: date, loans: int) -> None:
    for dataset in ("loans", "installments"):
        con.execute(warehouse.work_table_ddl(dataset))
    params = {"snapshot_date": snapshot_date, "loans": loans}
    con.execute(LOANS, params)
    con.execute(INSTALLMENTS, params)


def commit(con, snapshot_date: date) -> None:
    with warehouse.transaction(con):
        for table in ("loan_aging", "kpi_daily", "roll_rates"):
            warehouse.replace_partition(
                con, f"marts.{table}", f"work.{table}", "snapshot_date", snapshot_date
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warehouse", type=Path, default=None)
    args = parser.parse_args()

    config = load_aging_config()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.warehouse or Path(tmp) / "bench.duckdb"
        con = warehouse.connect(path)
        previous = SNAPSHOT - timedelta(days=1)
        started = time.perf_counter()
        build_book(con, previous, args.loans)
        build_aging(con, previous, config)
        commit(con, previous)
        state.rebuild(con)  # the state the night after `previous` reads
        build_book(con, SNAPSHOT, args.loans)
        installments = warehouse.count(con, "work.installments")
        print(
            f"book: {args.loans:,} loans, {installments:,} installments "
            f"(setup {time.perf_counter() - started:.1f} s)"
        )

        timings, cpu = [], []
        for _ in range(args.runs):
            started, started_cpu = time.perf_counter(), time.process_time()
            counts = build_aging(con, SNAPSHOT, config)
            timings.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        print(f"rows: {counts}")
        print("runs (wall): " + ", ".join(f"{t:.2f} s" for t in timings))
        # CPU time of all DuckDB threads: a figure that a busy machine inflates less than wall time.
        print("runs (cpu):  " + ", ".join(f"{t:.2f} s" for t in cpu))
        print(
            f"build_aging median of {args.runs}: {statistics.median(timings):.2f} s wall, "
            f"{statistics.median(cpu):.2f} s cpu"
        )
        kpi = con.sql("select bucket, loans, overdue_amount from work.kpi_daily").fetchall()
        print("buckets: " + ", ".join(f"{b}={n:,}" for b, n, _ in kpi))
        con.close()


if __name__ == "__main__":
    main()
