"""Benchmark of section 12: training, scoring in the night and simulating a strategy.

    .venv/bin/python bench/bench_models.py [--loans 100000] [--nights 52] [--sim-loans 10000]
        [--sim-nights 10] [--scratch /tmp/arrears-bench-models]

- train: a synthetic aging history (tests/risk_support.py: weekly nights, a hidden riskiness per
  loan) of --loans loans x --nights nights, then `arrears train` over it (the SQL rows and
  LightGBM), timed end to end;
- score: the last night's features and probabilities for every aged loan (what risk.model adds
  to decide: the feature model with the risk components it reads, predict, the scores table);
- simulate: a generated book of --sim-loans loans run for --sim-nights nights, then the default
  strategy with slower calls replayed over all but the first night.

Targets (docs/models.md): train 1M loans x 12 months <= 10 min, score 1M <= 5 s, simulate 30
nights of 100k <= 2 min. Run at a reduced scale on a shared machine; per-row rates are printed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from risk_support import write_history  # noqa: E402

from arrears import state, warehouse  # noqa: E402
from arrears.aging import AGE_MODELS  # noqa: E402
from arrears.generate import generate_landing  # noqa: E402
from arrears.risk import scoring, store  # noqa: E402
from arrears.risk.train import Training, train  # noqa: E402
from arrears.settings import DEFAULTS_DIR, Settings  # noqa: E402
from arrears.simulation import simulate  # noqa: E402
from arrears.strategy import load_strategy  # noqa: E402
from arrears.strategy.engine import (  # noqa: E402
    _ensure_inputs,
    decide_params,
    write_config_tables,
)

FIRST = date(2025, 1, 6)
BUCKETS = ("M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7")


def bench_train(root: Path, loans: int, nights: int) -> None:
    path = root / "history.duckdb"
    t = time.perf_counter()
    with warehouse.opened(path) as con:
        dates = write_history(con, loans, FIRST, nights)
    print(f"history: {loans:,} loans x {nights} nights written in {time.perf_counter() - t:.1f} s")
    t, cpu = time.perf_counter(), time.process_time()
    with warehouse.opened(path, read_only=True) as con:
        result = train(con, Training(dates[0], dates[-1], BUCKETS, 0.5), root / "models")
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    held = result.metrics["held_out"]
    rows = held["rows"] + result.metrics["training"]["rows"]
    print(
        f"train: {seconds:.1f} s ({cpu:.1f} s of CPU) for {rows:,} loan-nights sampled "
        f"({len(result.metrics['sample_dates'])} nights), held-out AUC {held['auc']:.3f}"
    )


def bench_score(path: Path, models: Path, version: str) -> None:
    con = warehouse.connect(":memory:")
    con.execute(f"attach '{path}' as source (read_only)")
    con.execute("insert into marts.loan_aging select * from source.marts.loan_aging")
    con.execute("detach source")
    night = con.execute("select max(snapshot_date) from marts.loan_aging").fetchall()[0][0]
    con.execute(
        "create or replace table work.loan_aging as "
        "select * from marts.loan_aging where snapshot_date = $d",
        {"d": night},
    )
    _ensure_inputs(con)
    strategy = load_strategy(DEFAULTS_DIR / "strategy.yaml", "cn")
    write_config_tables(con, strategy)
    params = {**decide_params(night, strategy, "Asia/Shanghai"), **state.previous_dates(con, night)}
    model = store.load(models, version)
    t, cpu = time.perf_counter(), time.process_time()
    scoring.score(con, model, params, given=AGE_MODELS)
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    scored = con.execute("select count(*) from work.strategy_model_scores").fetchall()[0][0]
    print(
        f"score: {seconds:.2f} s ({cpu:.2f} s of CPU) for {scored:,} loans "
        f"({seconds / scored * 1e6:.1f} us per loan)"
    )
    con.close()


def bench_simulate(root: Path, loans: int, nights: int, reuse: bool = False) -> None:
    """Run `nights` generated nights of `loans` (unless `reuse` finds them run before in
    `root`), then time the simulation of the candidate over them."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from retention_support import run_night

    start = date(2025, 6, 1)
    done = root / "nights.json"
    settings = Settings(
        landing=root / "landing",
        warehouse=root / "data" / "w.duckdb",
        outbox=root / "outbox",
        archive=root / "archive",
        reports=root / "reports",
        models=root / "models",
    )
    made = json.loads(done.read_text()) if reuse and done.exists() else None
    if made != {"loans": loans, "nights": nights}:
        shutil.rmtree(root, ignore_errors=True)
        generate_landing(root / "landing", start, nights, loans)
        t = time.perf_counter()
        for k in range(nights):
            run_night(settings, start + timedelta(days=k))
        took = time.perf_counter() - t
        print(f"simulate: {nights} nights of {loans:,} loans run in {took:.1f} s")
        done.write_text(json.dumps({"loans": loans, "nights": nights}))
    document = yaml.safe_load((DEFAULTS_DIR / "strategy.yaml").read_text(encoding="utf-8"))
    document["stages"]["CALL"]["channels"]["CALL"]["every_days"] = 2
    candidate = root / "candidate.yaml"
    candidate.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    strategy = load_strategy(candidate, "cn")
    t, cpu = time.perf_counter(), time.process_time()
    result = simulate(
        settings, strategy, start + timedelta(days=1), start + timedelta(days=nights - 1), "bench"
    )
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    loan_nights = loans * len(result.nights)
    print(
        f"simulate: {seconds:.1f} s ({cpu:.1f} s of CPU) for {len(result.nights)} nights of "
        f"{loans:,} loans "
        f"({seconds / loan_nights * 1e6:.1f} us per loan-night)"
    )


def main() -> None:
    # The shared machine's load shows in the wall time; the CPU time is printed beside it.
    parser = argparse.ArgumentParser()
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--nights", type=int, default=52)
    parser.add_argument("--sim-loans", type=int, default=10_000)
    parser.add_argument("--sim-nights", type=int, default=10)
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/arrears-bench-models"))
    parser.add_argument("--only", choices=("train", "score", "simulate"), default=None)
    parser.add_argument(
        "--sim-reuse",
        action="store_true",
        help="simulate over the nights a previous run left in the scratch folder (same size)",
    )
    args = parser.parse_args()
    history = args.scratch / "history.duckdb"
    if args.only in (None, "train"):
        shutil.rmtree(args.scratch, ignore_errors=True)
        args.scratch.mkdir(parents=True)
        bench_train(args.scratch, args.loans, args.nights)
    if args.only in (None, "score"):
        # the model and history of the last train run
        version = sorted(p.name for p in (args.scratch / "models").iterdir())[-1]
        bench_score(history, args.scratch / "models", version)
    if args.only in (None, "simulate"):
        bench_simulate(args.scratch / "simulate", args.sim_loans, args.sim_nights, args.sim_reuse)


if __name__ == "__main__":
    main()
