"""Time `generate_landing` for a few book sizes and day counts; prints one line per case.

    .venv/bin/python bench/bench_generate.py                 # 100k and 1M loans, 1 and 3 days
    .venv/bin/python bench/bench_generate.py --loans 100000 --days 1 --format parquet

Each case runs in its own process so the peak resident memory reported is that case's alone.
"cpu s" is the process's user + system time (all threads): a fairer figure on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CASE = """
import json, resource, sys, time
from datetime import date
from pathlib import Path
from arrears.generate import generate_landing
landing, loans, days, fmt = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
started = time.perf_counter()
summary = generate_landing(landing, date(2025, 6, 1), days, loans, seed=7, fmt=fmt)
seconds = time.perf_counter() - started
size = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())
usage = resource.getrusage(resource.RUSAGE_SELF)
peak = usage.ru_maxrss * 1024
cpu = usage.ru_utime + usage.ru_stime
result = {"seconds": seconds, "cpu": cpu, "rows": summary.rows, "bytes": size, "peak": peak}
print(json.dumps(result))
"""


def run_case(loans: int, days: int, fmt: str) -> dict:
    landing = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    try:
        out = subprocess.run(
            [sys.executable, "-c", CASE, str(landing), str(loans), str(days), fmt],
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(landing, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--days", type=int, nargs="*", default=[1, 3])
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    args = parser.parse_args()
    print(
        f"{'loans':>10} {'days':>4} {'fmt':>7} {'seconds':>8} {'cpu s':>7} {'s/day':>6} "
        f"{'installments/day':>16} {'MB':>7} {'peak GiB':>8}"
    )
    for loans in args.loans:
        for days in args.days:
            r = run_case(loans, days, args.format)
            per_day = r["rows"]["installments"] // days
            print(
                f"{loans:>10,} {days:>4} {args.format:>7} {r['seconds']:>8.1f} {r['cpu']:>7.1f} "
                f"{r['seconds'] / days:>6.1f} {per_day:>16,} {r['bytes'] / 1e6:>7.0f} "
                f"{r['peak'] / 2**30:>8.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
