"""Sealing and opening the personal columns: seconds per million customers sealed, and per
100,000 records opened (targets: 3 s and 1 s, docs/privacy.md).

    .venv/bin/python bench/bench_pii.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import time

import polars as pl

from arrears.pii.keys import PiiKey
from arrears.pii.sealing import open_records, seal_frame


def customers(rows: int) -> pl.DataFrame:
    ids = [f"C{i:08d}" for i in range(rows)]
    return pl.DataFrame(
        {
            "customer_id": ids,
            "full_name": [f"张三{i % 997}" for i in range(rows)],
            "national_id": [f"1101011990{i % 10**8:08d}" for i in range(rows)],
            "phone": [f"+86138{i % 10**8:08d}" for i in range(rows)],
            "email": [None if i % 3 else f"c{i}@example.cn" for i in range(rows)],
            "address": [f"{i % 500} Nanjing Road, Room {i % 40}" for i in range(rows)],
            "postal_code": [f"{200000 + i % 999}" for i in range(rows)],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    rows = parser.parse_args().rows
    frame = customers(rows)
    key = PiiKey.generate()
    start = time.perf_counter()
    sealed = seal_frame(frame, key)
    seal_s = time.perf_counter() - start
    start = time.perf_counter()
    opened = open_records(sealed["pii"].to_list(), sealed["customer_id"].to_list(), key)
    open_s = time.perf_counter() - start
    assert opened["phone"] == frame["phone"].to_list()
    print(
        f"{rows:,} customers: seal {seal_s:.3f} s ({seal_s * 1e6 / rows:.2f} s per million), "
        f"open {open_s:.3f} s ({open_s * 1e5 / rows:.2f} s per 100,000)"
    )


if __name__ == "__main__":
    main()
