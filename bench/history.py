"""Night 366 against night 2: how a night's cost and the warehouse grow with years of history.

    .venv/bin/python bench/history.py --loans 100000 --nights 365 --workdir /tmp/h --out h.json

1. Generates a book for three days and runs the first night (untimed).
2. Night 2 with one earlier night: a copy of that warehouse runs the second day step by step,
   each step timed (the floors of bench/floor.py are not rerun here: bench/pipeline.py has them).
3. Night 366: the original warehouse gets a simulated history of `--nights` earlier nights by
   copying the first night's committed rows back over the earlier dates (marts, the event
   ledger; raw.* and the state versions only for the nights the commit keeps), then runs the
   same second day step by step. The ratio night 366 / night 2 per step is the figure of
   interest: 1.0 means the night's cost does not grow with the history.
4. Growth: `--growth-nights` consecutive whole nights on a fresh warehouse (allocation and the
   housekeeping after publishing included: raw.* keeps `--keep` snapshots, older ones move to
   the archive), the file size after each (checkpointed), split into raw, marts (history),
   state and ops/quality by the blocks each table occupies, and the archive folder's bytes; the
   steady-state growth per loan and night is read off the last `--growth-last` nights, which
   must come after the keep window is full (`--growth-nights` > `--keep` + the last nights).

    .venv/bin/python bench/history.py --loans 100000 --nights 0 --growth-nights 14 \
        --growth-last 4 --workdir /tmp/g --out g.json

`--nights 0` skips parts 1-3, `--growth-nights 0` part 4.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from pipeline import RssSampler, _status_kib, run_day, settings_for  # noqa: E402

START = date(2026, 1, 1)
# Tables whose every night is kept, and the column that dates their rows.
HISTORY = (
    ("marts.loan_aging", "snapshot_date"),
    ("marts.kpi_daily", "snapshot_date"),
    ("marts.roll_rates", "snapshot_date"),
    ("marts.arrangement_status", "snapshot_date"),
    ("marts.kpi_variants", "snapshot_date"),
    ("marts.collection_actions", "snapshot_date"),
    ("marts.suppressed_actions", "snapshot_date"),
    ("marts.contact_history", "snapshot_date"),
)
STATE = (
    "marts.loan_state",
    "marts.customer_state",
    "marts.contact_state",
    "marts.loan_action_state",
    "marts.arrangement_state",
)


def _shift(table: str) -> str:
    """The select list of `table` with its dates moved back by $k days (ids kept unique)."""
    moved = {
        "snapshot_date": "snapshot_date - $k::integer",
        "action_date": "action_date - $k::integer",
        "previous_snapshot_date": "previous_snapshot_date - $k::integer",
        "event_id": "event_id || '~' || $k::varchar",
        "action_id": "action_id || '~' || $k::varchar",
    }
    return ", ".join(f"{moved[c]} as {c}" if c in moved else c for c in _COLUMNS[table])


_COLUMNS: dict[str, list[str]] = {}


def simulate_history(settings, first: date, nights: int, keep: int) -> None:
    """Copy the committed rows of `first` back over `nights - 1` earlier dates."""
    from arrears import warehouse
    from arrears.contract import DATASETS

    with warehouse.opened(settings.warehouse) as con:
        raw = [(f"raw.{name}", "snapshot_date") for name in DATASETS]
        for table, _ in (*HISTORY, *raw, *((t, "snapshot_date") for t in STATE)):
            schema, name = table.split(".")
            _COLUMNS[table] = [
                c
                for (c,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = $s and table_name = $t order by ordinal_position",
                    {"s": schema, "t": name},
                ).fetchall()
            ]
        started = time.perf_counter()
        for k in range(1, nights):
            with warehouse.transaction(con):
                for table, column in HISTORY:
                    con.execute(
                        f"insert into {table} select {_shift(table)} from {table} "
                        f"where {column} = $d",
                        {"k": k, "d": first},
                    )
                if k < keep:
                    # what the commit keeps: the last nights of raw.* and of the state
                    for table, column in (*raw, *((t, "snapshot_date") for t in STATE)):
                        con.execute(
                            f"insert into {table} select {_shift(table)} from {table} "
                            f"where {column} = $d",
                            {"k": k, "d": first},
                        )
            if k % 50 == 0:
                print(
                    f"  history: {k} of {nights - 1} nights ({time.perf_counter() - started:.0f} s)"
                )
        con.execute("checkpoint")


def _group(qualified: str) -> str:
    schema = qualified.split(".", 1)[0]
    if schema == "raw":
        return "raw"
    if qualified in STATE:
        return "state"
    if schema == "marts":
        return "marts"
    return "other"  # ops.* and quality.*


def table_blocks(settings) -> tuple[int, dict[str, dict[str, int]]]:
    """After a checkpoint: the block size, and each table's blocks and rows."""
    from arrears import warehouse

    with warehouse.opened(settings.warehouse) as con:
        con.execute("checkpoint")
        block_size = con.execute("select block_size from pragma_database_size()").fetchall()[0][0]
        block_size = (
            int(str(block_size).split()[0]) if not isinstance(block_size, int) else block_size
        )
        tables = con.execute(
            "select schema_name, table_name, estimated_size from duckdb_tables() "
            "where database_name = current_database()"
        ).fetchall()
        found = {}
        for schema, name, rows in tables:
            blocks = con.execute(
                "select count(distinct block_id) from pragma_storage_info($t) "
                "where persistent and block_id >= 0",
                {"t": f"{schema}.{name}"},
            ).fetchall()[0][0]
            found[f"{schema}.{name}"] = {"blocks": int(blocks), "rows": int(rows)}
    return int(block_size), found


def table_bytes(settings) -> dict[str, int]:
    """Bytes of the blocks each group of tables occupies (raw, history marts, state, other)."""
    block_size, tables = table_blocks(settings)
    groups = {"raw": 0, "marts": 0, "state": 0, "other": 0}
    for table, found in tables.items():
        groups[_group(table)] += found["blocks"] * block_size
    return groups


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def timed_night(settings, day: date) -> dict:
    sampler = RssSampler()
    started = time.perf_counter()
    steps = run_day(settings, day, sampler)
    total = time.perf_counter() - started
    sampler.stop()
    return {"seconds": total, "steps": {k: v["seconds"] for k, v in steps.items()}}


def growth(args, loans: int) -> dict:
    """Consecutive whole nights (allocation and housekeeping included) on a fresh warehouse;
    after each, the file and its groups of tables, checkpointed, and the archive folder."""
    from arrears.generate import generate_landing

    workdir = args.workdir / "growth"
    shutil.rmtree(workdir, ignore_errors=True)
    settings = settings_for(workdir).model_copy(update={"raw_keep_days": args.keep})
    generate_landing(settings.landing, START, args.growth_nights, loans, seed=7, fmt="csv")
    nights = []
    for k in range(args.growth_nights):
        run_day(settings, START + timedelta(days=k), None, whole_night=True)
        block_size, tables = table_blocks(settings)
        groups = {"raw": 0, "marts": 0, "state": 0, "other": 0}
        for table, found in tables.items():
            groups[_group(table)] += found["blocks"] * block_size
        night = {
            "night": k + 1,
            "file": settings.warehouse.stat().st_size,
            **groups,
            "archive": folder_bytes(settings.archive),
            "tables": tables,
        }
        nights.append(night)
        print(
            f"  growth: night {k + 1}: file {night['file']:,} "
            + ", ".join(f"{g} {night[g]:,}" for g in (*groups, "archive")),
            flush=True,
        )
    last = min(args.growth_last, len(nights) - 1)
    first, final = nights[-1 - last], nights[-1]
    per_night = {
        group: (final[group] - first[group]) / last / loans
        for group in ("file", "raw", "marts", "state", "other", "archive")
    }
    per_table = {
        table: {
            "bytes": (found["blocks"] - first["tables"].get(table, {}).get("blocks", 0))
            * block_size
            / last
            / loans,
            "rows": (found["rows"] - first["tables"].get(table, {}).get("rows", 0)) / last / loans,
        }
        for table, found in final["tables"].items()
    }
    print(
        f"  growth per loan-night over nights {first['night'] + 1}-{final['night']}: "
        + ", ".join(f"{g} {v:.1f}" for g, v in per_night.items()),
        flush=True,
    )
    return {
        "nights": nights,
        "keep": args.keep,
        "bytes_per_loan_night": per_night,
        "per_table_per_loan_night": per_table,
        "over_last_nights": last,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--nights", type=int, default=365, help="0: growth only")
    parser.add_argument("--keep", type=int, default=7, help="ARREARS_RAW_KEEP_DAYS")
    parser.add_argument("--growth-nights", type=int, default=14)
    parser.add_argument("--growth-last", type=int, default=4)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.growth_nights and args.growth_nights - args.growth_last <= args.keep:
        # the nights read must all come after raw.* holds `--keep` snapshots
        parser.error(
            f"--growth-nights must exceed --keep + --growth-last ({args.keep + args.growth_last})"
        )

    shutil.rmtree(args.workdir, ignore_errors=True)
    result: dict = {"loans": args.loans, "nights": args.nights}
    if args.nights:
        result.update(night_366(args))
    if args.growth_nights:
        result["growth"] = growth(args, args.loans)
    result["process_peak_rss"] = _status_kib("VmHWM") * 1024
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    if args.nights:
        print(json.dumps({k: result[k] for k in ("ratio", "step_ratios")}, indent=2))


def night_366(args) -> dict:
    from arrears.generate import generate_landing

    settings = settings_for(args.workdir / "book")
    generate_landing(settings.landing, START, 2, args.loans, seed=7, fmt="csv")
    run_day(settings, START, None)

    baseline = settings_for(args.workdir / "night2")
    shutil.copytree(settings.warehouse.parent, baseline.warehouse.parent, dirs_exist_ok=True)
    baseline = baseline.model_copy(update={"landing": settings.landing})
    print("night 2 (one earlier night)", flush=True)
    night2 = timed_night(baseline, START + timedelta(days=1))

    print(f"simulating {args.nights} earlier nights", flush=True)
    simulate_history(settings, START, args.nights, args.keep)
    print(f"night {args.nights + 1}", flush=True)
    night_n = timed_night(settings, START + timedelta(days=1))
    return {
        "night_2": night2,
        f"night_{args.nights + 1}": night_n,
        "ratio": night_n["seconds"] / night2["seconds"],
        "step_ratios": {
            step: night_n["steps"][step] / night2["steps"][step] for step in night2["steps"]
        },
        "warehouse_bytes_after_history": table_bytes(settings),
    }


if __name__ == "__main__":
    main()
