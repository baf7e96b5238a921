"""One book size, one process: generate, run the pipeline step by step, each step beside its floor.

    .venv/bin/python bench/pipeline.py --loans 1000000 --workdir /tmp/b --out result.json
    .venv/bin/python bench/pipeline.py --flow --workdir /tmp/b --out flow.json

Step mode generates `--days` snapshot days, runs every day but the last untimed (they make the
history the last day reads: transitions, roll rates, cadences, episodes), then runs the last
day step by step with the plain functions the tasks call, each on its own connection as the
tasks open them, and after each step its floor (bench/floor.py) on the same data.

Flow mode (a fresh process over the warehouse step mode left) reruns the last day as one
`daily_collections` flow run: the end-to-end figure, Prefect included. The temporary Prefect API
is started first by a flow that does nothing, and reported apart.

Peak memory: VmHWM of /proc/self/status cannot be reset, so a thread samples VmRSS every 10 ms
and each step reports the highest sample seen while it ran; the process's VmHWM is the whole peak.
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

START = date(2025, 6, 1)


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class RssSampler:
    """Highest resident set size seen since the last `mark()`, sampled by a daemon thread."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.peak = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            rss = _status_kib("VmRSS")
            with self._lock:
                self.peak = max(self.peak, rss)

    def mark(self) -> None:
        with self._lock:
            self.peak = _status_kib("VmRSS")

    def read(self) -> int:
        """Peak in bytes since the last mark, including the current value."""
        rss = _status_kib("VmRSS")
        with self._lock:
            return max(self.peak, rss) * 1024

    def stop(self) -> None:
        self._stop.set()


def timed(sampler: RssSampler, fn: Callable[[], int]) -> dict[str, float]:
    sampler.mark()
    started = time.perf_counter()
    rows = fn()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": rows, "peak_rss": sampler.read()}


def settings_for(workdir: Path):
    from arrears.settings import Settings

    return Settings(
        landing=workdir / "landing",
        warehouse=workdir / "arrears.duckdb",
        outbox=workdir / "outbox",
        reports=workdir / "reports",
        archive=workdir / "archive",
    )


def run_day(
    settings, snapshot_date: date, sampler: RssSampler | None, whole_night: bool = False
) -> dict[str, dict]:
    """The pipeline of one date through the plain functions; with a sampler, timed with floors.

    `whole_night` adds what a night runs beyond the steps with a floor: the allocation (and its
    assignee KPIs, committed with the rest) and the housekeeping after publishing (raw.* to the
    archive, personal-data retention), so the warehouse and the archive grow as a night's do.
    """
    import floor

    from arrears import commit, housekeeping, ingest, state, warehouse
    from arrears.aging import build_aging, load_aging_config
    from arrears.allocation.config import load_allocation
    from arrears.allocation.step import allocate_night
    from arrears.allocation.step import build_kpis as build_assignee_kpis
    from arrears.contract import CHANNELS
    from arrears.pii.keys import key_for_run
    from arrears.pii.sealing import seal_table
    from arrears.publish import channel_columns, publish_outbox
    from arrears.quality import validate_actions, validate_landed
    from arrears.report.kpis import build_kpi_variants
    from arrears.strategy import decide, load_strategy

    run_id = str(uuid.uuid4())
    key = key_for_run(settings)
    action_date = snapshot_date + timedelta(days=1)
    aging_config = load_aging_config(settings.aging)
    strategy = load_strategy(settings.strategy, settings.profile)
    columns = {channel: channel_columns(channel) for channel in CHANNELS}
    folder = ingest.landing_folder(settings.landing, snapshot_date)
    floor_outbox = settings.outbox.parent / "floor-outbox"

    def on_warehouse(fn):
        def call() -> int:
            with settings.open_warehouse() as con:
                return fn(con)

        return call

    steps: list[tuple[str, Callable, Callable | None]] = [
        (
            "ingest",
            lambda con: sum(ingest.ingest(con, snapshot_date, settings.landing).rows().values()),
            lambda con: floor.ingest(con, folder),
        ),
        (
            "validate_landed",
            lambda con: sum(validate_landed(con, snapshot_date, run_id, settings).rows.values()),
            lambda con: floor.validate_landed(con, snapshot_date),
        ),
        (
            "age",
            lambda con: build_aging(con, snapshot_date, aging_config)["loan_aging"],
            lambda con: floor.age(con, snapshot_date, aging_config),
        ),
        (
            "decide",
            lambda con: (
                decide(con, snapshot_date, strategy, settings.timezone)
                and warehouse.count(con, "work.int_loans__decide_stage")
            ),
            lambda con: floor.decide(con, strategy),
        ),
        *(
            [
                (
                    "allocate",
                    lambda con: allocate_night(
                        con, snapshot_date, load_allocation(settings.allocation)
                    )["assigned"],
                    None,
                )
            ]
            if whole_night
            else []
        ),
        (
            "validate_actions",
            lambda con: validate_actions(
                con, action_date, run_id, settings, outbox_columns=columns
            ).rows["collection_actions"],
            floor.validate_actions,
        ),
        (
            "kpis",
            lambda con: build_kpi_variants(con, snapshot_date),
            lambda con: floor.kpis(con, snapshot_date),
        ),
        *(
            [("assignee_kpis", lambda con: build_assignee_kpis(con, snapshot_date), None)]
            if whole_night
            else []
        ),
        (
            "state",
            lambda con: sum(
                state.build(
                    con, snapshot_date, state.previous_snapshot(con, snapshot_date)
                ).values()
            ),
            lambda con: floor.state(con, snapshot_date),
        ),
        (
            "seal",
            lambda con: seal_table(con, "work.customers", key),
            lambda con: floor.seal(con, key),
        ),
        (
            "commit",
            lambda con: sum(
                commit.commit(con, snapshot_date, keep_nights=settings.raw_keep_days).values()
            ),
            floor.commit,
        ),
        (
            "publish",
            lambda con: sum(
                f.rows
                for f in publish_outbox(
                    con,
                    action_date,
                    settings.outbox,
                    run_id,
                    settings.csv_channels,
                    settings.csv_encoding,
                    key=key,
                ).files
            ),
            lambda con: floor.publish(
                con, snapshot_date, floor_outbox, tuple(settings.csv_channels), key=key
            ),
        ),
        *(
            [
                (
                    "housekeeping",
                    lambda con: sum(
                        entry.rows
                        for entry in housekeeping.run(
                            con,
                            snapshot_date,
                            housekeeping.Retention.from_settings(settings),
                            run_id,
                        ).entries
                    ),
                    None,
                )
            ]
            if whole_night
            else []
        ),
    ]
    results: dict[str, dict] = {}
    for name, step, step_floor in steps:
        if sampler is None:
            on_warehouse(step)()
            continue
        if step_floor is None:
            results[name] = timed(sampler, on_warehouse(step))
            print(
                f"  {name:<17} {results[name]['seconds']:7.2f} s  "
                f"peak {results[name]['peak_rss'] / 2**20:7.0f} MiB",
                flush=True,
            )
            continue
        # The floor of commit copies work.*, which commit leaves in place: run it first.
        measure_floor = on_warehouse(functools.partial(_floored, fn=step_floor))
        if name == "commit":
            floor_result = timed(sampler, measure_floor)
            result = timed(sampler, on_warehouse(step))
        else:
            result = timed(sampler, on_warehouse(step))
            floor_result = timed(sampler, measure_floor)
        results[name] = {**result, "floor": floor_result}
        print(
            f"  {name:<17} {result['seconds']:7.2f} s  floor {floor_result['seconds']:6.2f} s  "
            f"peak {result['peak_rss'] / 2**20:7.0f} MiB",
            flush=True,
        )
    with settings.open_warehouse() as con:
        con.execute("drop schema if exists floor cascade")
    shutil.rmtree(floor_outbox, ignore_errors=True)
    return results


def _floored(con, fn) -> int:
    import floor

    floor.reset(con)
    return fn(con)


def book_rows(settings, snapshot_date: date) -> dict[str, int]:
    from arrears import warehouse

    with warehouse.opened(settings.warehouse, read_only=True) as con:
        return {
            name: int(
                con.execute(
                    f"select count(*) from raw.{name} where snapshot_date = $d",
                    {"d": snapshot_date},
                ).fetchall()[0][0]
            )
            for name in ("loans", "installments", "customers", "arrangements", "holds")
        }


def top_operators(plan: dict, limit: int = 8) -> list[dict]:
    """The operators of an EXPLAIN ANALYZE JSON plan that took the most time, with their rows."""
    found: list[dict] = []

    def walk(node: dict, depth: int) -> None:
        info = node.get("extra_info") or {}
        detail = next(
            (
                str(info[k])
                for k in ("Table", "CTE Name", "Conditions", "Groups", "Aggregates", "Function")
                if k in info
            ),
            "",
        )
        found.append(
            {
                "operator": node.get("type", ""),
                "detail": " ".join(detail.split())[:90],
                "seconds": float(node.get("timing") or 0.0),
                "rows": int(node.get("intermediate_rows") or 0),
            }
        )
        for child in node.get("children", []):
            walk(child, depth + 1)

    for node in plan.get("operator", []):
        walk(node, 0)
    found.sort(key=lambda op: op["seconds"], reverse=True)
    return found[:limit]


def profile_models(settings, snapshot_date: date) -> dict:
    """Each SQL model of age and decide timed on its own, and EXPLAIN ANALYZE of the slowest.

    Runs after the timed day, on the work.* tables it left: the same inputs the steps saw.
    """
    from arrears import aging, registry, sqlfiles
    from arrears.strategy import engine, load_strategy

    config = aging.load_aging_config(settings.aging)
    strategy = load_strategy(settings.strategy, settings.profile)
    timings: dict[str, float] = {}
    queries: dict[str, tuple[str, dict]] = {}
    with settings.open_warehouse() as con:
        aging.register_config(con, config)
        engine.write_config_tables(con, strategy)
        params = {
            **engine.decide_params(snapshot_date, strategy, settings.timezone),
            "tolerance": config.tolerance,
        }
        for model in registry.plan((*aging.AGE_MODELS, *engine.OUTPUTS)):
            started = time.perf_counter()
            registry.build_model(con, model, params)
            if model.materialized == "table":
                timings[model.path] = time.perf_counter() - started
                queries[model.path] = (sqlfiles.sql_text(model.path), params)
        slowest = sorted(timings, key=timings.get, reverse=True)[:2]
        plans = {}
        for model in slowest:
            query, params = queries[model]
            used = sqlfiles.bind(query, params)
            rows = con.execute(f"explain (analyze, format json) {query}", used).fetchall()
            plans[model] = top_operators(json.loads(rows[0][1]))
    return {"models": timings, "plans": plans}


def step_mode(args: argparse.Namespace) -> dict:
    from arrears.generate import generate_landing

    workdir = args.workdir
    settings = settings_for(workdir)
    sampler = RssSampler()
    started = time.perf_counter()
    generate_landing(settings.landing, START, args.days, args.loans, seed=7, fmt="csv")
    generated = time.perf_counter() - started
    print(f"  generated {args.days} days of {args.loans:,} loans in {generated:.1f} s", flush=True)
    last = START + timedelta(days=args.days - 1)
    started = time.perf_counter()
    for k in range(args.days - 1):
        run_day(settings, START + timedelta(days=k), None)
    history = time.perf_counter() - started
    steps = run_day(settings, last, sampler)
    sampler.stop()
    profile = profile_models(settings, last) if args.profile else None
    return {
        "loans": args.loans,
        "days": args.days,
        "snapshot_date": last.isoformat(),
        "generate_seconds": generated,
        "history_seconds": history,
        "book": book_rows(settings, last),
        "steps": steps,
        "process_peak_rss": _status_kib("VmHWM") * 1024,
        "profile": profile,
    }


def flow_mode(args: argparse.Namespace) -> dict:
    from arrears.prefect_env import configure

    configure()
    from prefect import flow

    from flows.daily_collections import daily_collections

    @flow(name="bench-warm-up")
    def warm_up() -> None:
        return None

    settings = settings_for(args.workdir)
    if args.partitions > 1:
        settings = settings.model_copy(update={"partitions": args.partitions})
    snapshot_date = START + timedelta(days=args.days - 1)
    sampler = RssSampler()
    started = time.perf_counter()
    warm_up()
    api_seconds = time.perf_counter() - started
    result = timed(
        sampler, lambda: len(daily_collections(snapshot_date=snapshot_date, settings=settings))
    )
    sampler.stop()
    return {
        "api_start_seconds": api_seconds,
        "flow_seconds": result["seconds"],
        "flow_peak_rss": result["peak_rss"],
        "process_peak_rss": _status_kib("VmHWM") * 1024,
        "partitions": args.partitions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--flow", action="store_true", help="rerun the last day as one flow run")
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="time each SQL model, plans")
    args = parser.parse_args()
    result = flow_mode(args) if args.flow else step_mode(args)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
