"""Sealing and opening the personal columns (targets: 3 s per million customers sealed by a
night, 1 s per 100,000 records opened; docs/privacy.md).

    .venv/bin/python bench/bench_pii.py [--rows 100000] [--changed 0.01]

Timings on an in-memory warehouse: the first night (every record sealed), the median of the
next `--nights` nights, on each of which a share `--changed` of the customers changed a
personal value (the others' sealed records carried: the step a nightly run pays), and opening
the records of the last night as publishing does.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, timedelta

import polars as pl

from arrears import warehouse
from arrears.pii.keys import PiiKey
from arrears.pii.sealing import open_records, seal_table

FIRST = date(2025, 6, 30)


def customers(rows: int, night: int, changed: float) -> pl.DataFrame:
    """The customers of the `night`-th night: each night a share `changed` of them has a new
    phone number."""
    ids = [f"C{i:08d}" for i in range(rows)]
    every = round(1 / changed) if changed else rows + night + 1
    versions = [(night + i % every) // every for i in range(rows)]
    day = FIRST + timedelta(days=night)
    return pl.DataFrame(
        {
            "snapshot_date": [day] * rows,
            "customer_id": ids,
            "full_name": [f"张三{i % 997}" for i in range(rows)],
            "national_id": [f"1101011990{i % 10**8:08d}" for i in range(rows)],
            "phone": [f"+8613{v % 10}{i:08d}" for i, v in enumerate(versions)],
            "email": [None if i % 3 else f"c{i}@example.cn" for i in range(rows)],
            "address": [f"{i % 500} Nanjing Road, Room {i % 40}" for i in range(rows)],
            "postal_code": [f"{200000 + i % 999}" for i in range(rows)],
            "city": ["Shanghai"] * rows,
        }
    )


def seal_night(con, frame: pl.DataFrame, key: PiiKey) -> tuple[float, float]:
    """Seconds (wall, and CPU of all the process's threads) to seal work.customers as the
    run's step does; then commit it into raw."""
    con.execute("create or replace table work.customers as from raw.customers limit 0")
    con.register("landed", frame)
    con.execute("insert into work.customers by name select * from landed")
    con.unregister("landed")
    start, cpu = time.perf_counter(), time.process_time()
    with warehouse.transaction(con):
        seal_table(con, "work.customers", key)
    seconds = time.perf_counter() - start, time.process_time() - cpu
    con.execute("insert into raw.customers by name select * from work.customers")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--nights", type=int, default=3)
    args = parser.parse_args()
    rows = args.rows
    key = PiiKey.generate()
    con = warehouse.connect(":memory:")
    con.execute("create schema if not exists work")
    first, first_cpu = seal_night(con, customers(rows, 0, args.changed), key)
    nights = [
        seal_night(con, customers(rows, n, args.changed), key) for n in range(1, args.nights + 1)
    ]
    night = statistics.median(wall for wall, _ in nights)
    night_cpu = statistics.median(cpu for _, cpu in nights)
    last = FIRST + timedelta(days=args.nights)
    sealed = con.execute(
        "select pii, customer_id from raw.customers where snapshot_date = $d order by rowid",
        {"d": last},
    ).fetchall()
    start = time.perf_counter()
    opened = open_records([s[0] for s in sealed], [s[1] for s in sealed], key)
    open_s = time.perf_counter() - start
    assert opened["phone"] == customers(rows, args.nights, args.changed)["phone"].to_list()
    con.close()
    per_million = 1e6 / rows
    print(
        f"{rows:,} customers: first night {first:.3f} s ({first * per_million:.2f} s per "
        f"million, CPU {first_cpu * per_million:.2f} s); nights with {args.changed:.0%} changed, "
        f"median {night:.3f} s ({night * per_million:.2f} s per million, CPU "
        f"{night_cpu * per_million:.2f} s) of {', '.join(f'{w:.3f}' for w, _ in nights)}; "
        f"open {open_s:.3f} s ({open_s * 1e5 / rows:.2f} s per 100,000)"
    )


if __name__ == "__main__":
    main()
