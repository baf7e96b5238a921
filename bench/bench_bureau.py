"""Benchmark of the month-end bureau reporting: what the reporting night adds to a night.

    .venv/bin/python bench/bench_bureau.py [--loans 100000] [--workdir DIR] [--out FILE] [--reuse]

Generates two snapshot days ending on a month end (2025-05-30 and 2025-05-31), runs the first
night untimed and the month-end night step by step (bench/pipeline.py run_day, each step timed
with its peak memory), then times what the reporting night adds: the month's rows
(arrears.bureau.month.build and their commit) and the files (arrears.bureau.files.publish:
pboc_accounts.csv, metro2.dat, the manifest), each with its peak memory beside the night's.
The target (docs/CONTRACT.md section 10): <= 30 s beyond the night at 1M loans, memory within
the night's peak. `--reuse` keeps the book of an earlier run in `--workdir` and runs its
month-end night again (a rerun replaces the night's partitions), skipping the generation.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from arrears.prefect_env import configure  # noqa: E402

configure()

from pipeline import RssSampler, _status_kib, run_day, settings_for, timed  # noqa: E402

from arrears import warehouse  # noqa: E402
from arrears.aging import load_aging_config  # noqa: E402
from arrears.bureau import files, month  # noqa: E402
from arrears.generate import generate_landing  # noqa: E402
from arrears.pii.keys import key_for_run  # noqa: E402
from arrears.strategy import load_strategy  # noqa: E402

FIRST, MONTH_END = date(2025, 5, 30), date(2025, 5, 31)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true", help="the book already in --workdir")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-bureau-"))
    settings = settings_for(workdir)
    if not (args.reuse and args.workdir and settings.warehouse.exists()):
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        started = time.perf_counter()
        generate_landing(settings.landing, FIRST, 2, args.loans)
        seconds = time.perf_counter() - started
        print(f"generated {args.loans:,} loans in {seconds:.1f} s", flush=True)
        run_day(settings, FIRST, None)

    sampler = RssSampler()
    print(f"night {MONTH_END}", flush=True)
    night = run_day(settings, MONTH_END, sampler)
    aging = load_aging_config(settings.aging)
    strategy = load_strategy(settings.strategy, settings.profile)
    report_month = month.month_of(MONTH_END)

    def rows() -> int:
        with settings.open_warehouse() as con:
            built = month.build(
                con,
                MONTH_END,
                tolerance=aging.tolerance,
                dispute_days=strategy.outcomes.dispute_days,
                default_timezone=settings.timezone,
            )
            with warehouse.transaction(con):
                warehouse.replace_partition(
                    con,
                    "marts.bureau_accounts",
                    "work.bureau_accounts",
                    "report_month",
                    report_month,
                )
            return built

    def write() -> int:
        reporter = files.Reporter(settings.bureau_reporter_id, settings.bureau_reporter_name)
        with settings.open_warehouse(read_only=True) as con:
            content = files.publish(
                con, settings.outbox, report_month, "bench", reporter, key_for_run(settings)
            )
        return sum(f["rows"] for f in content["files"]) // 2

    def measured(fn) -> dict[str, float]:
        # what the process already holds when the step begins (the night's leftovers): the
        # step's peak cannot be lower
        before = _status_kib("VmRSS") * 1024
        return {**timed(sampler, fn), "rss_before": before}

    bureau = {"rows": measured(rows), "files": measured(write)}
    sampler.stop()
    for name, result in bureau.items():
        print(
            f"  bureau {name:<10} {result['seconds']:7.2f} s  peak "
            f"{result['peak_rss'] / 2**20:7.0f} MiB (from {result['rss_before'] / 2**20:.0f} MiB)"
            f"  ({result['rows']:,} accounts)",
            flush=True,
        )
    night_seconds = sum(step["seconds"] for step in night.values())
    night_peak = max(step["peak_rss"] for step in night.values())
    added = sum(step["seconds"] for step in bureau.values())
    folder = files.month_folder(settings.outbox, report_month)
    result = {
        "loans": args.loans,
        "night_seconds": round(night_seconds, 2),
        "night_peak_rss": night_peak,
        "bureau_seconds": round(added, 2),
        "bureau_peak_rss": max(step["peak_rss"] for step in bureau.values()),
        "bureau": bureau,
        "file_bytes": {p.name: p.stat().st_size for p in sorted(folder.iterdir())},
    }
    print(
        f"night {night_seconds:.1f} s (peak {night_peak / 2**20:.0f} MiB); bureau adds "
        f"{added:.1f} s (peak {result['bureau_peak_rss'] / 2**20:.0f} MiB)",
        flush=True,
    )
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
