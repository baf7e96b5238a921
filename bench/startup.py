"""The fixed cost of a night: one `arrears run` process on a small book, with no Prefect server
configured, timed from the outside.

    uv run python bench/startup.py --loans 5000 --repeat 3 [--checkout DIR]

Generates the book once (a scratch folder), runs the first date once to warm the warehouse and
PREFECT_HOME, then times `--repeat` reruns of that date: the process's wall time, the time from
process start to the first task's log line, and the flow's own duration (its first to its last
log line). `--checkout DIR` runs another checkout's code with this venv (its sources first on
PYTHONPATH), for a before/after comparison on the same machine. Writes nothing in the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

LINE = re.compile(r"^(\d\d:\d\d:\d\d\.\d{3}) \| \w+ +\| (Flow run|Task run) ")


def clock(stamp: str, day: datetime) -> float:
    t = datetime.strptime(stamp, "%H:%M:%S.%f").time()
    return datetime.combine(day.date(), t).timestamp()


def one_run(args: list[str], env: dict[str, str], cwd: Path) -> dict[str, float]:
    cpu_before = _children_cpu()
    began = time.time()
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True)
    ended = time.time()
    cpu = _children_cpu() - cpu_before
    if result.returncode != 0:
        raise SystemExit(f"run failed ({result.returncode}):\n{result.stderr[-3000:]}")
    today = datetime.fromtimestamp(began)
    flow_lines, task_lines = [], []
    for line in (result.stdout + result.stderr).splitlines():
        match = LINE.match(line)
        if match:
            (flow_lines if match.group(2) == "Flow run" else task_lines).append(
                clock(match.group(1), today)
            )
    return {
        "process_s": round(ended - began, 2),
        "to_first_task_s": round(min(task_lines) - began, 2),
        "flow_s": round(max(flow_lines) - min(flow_lines), 2),
        # CPU seconds of the process and its children (the temporary API): what a loaded
        # machine cannot inflate the way it inflates wall time.
        "cpu_s": round(cpu, 2),
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--checkout", type=Path, help="another checkout to time (before)")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a new temp folder)")
    options = parser.parse_args()

    work = options.work or Path(tempfile.mkdtemp(prefix="arrears-startup-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ARREARS_"))}
    env.update(
        PREFECT_HOME=str(work / "prefect-home"),
        ARREARS_LANDING=str(work / "landing"),
        ARREARS_WAREHOUSE=str(work / "data" / "arrears.duckdb"),
        ARREARS_OUTBOX=str(work / "outbox"),
        ARREARS_REPORTS=str(work / "reports"),
        ARREARS_ARCHIVE=str(work / "archive"),
        COLUMNS="200",
    )
    if options.checkout:
        env["PYTHONPATH"] = str(options.checkout.resolve())
    command = [sys.executable, "-c", "import sys; from arrears.cli import entry; entry()"]
    if options.checkout:
        # An older checkout has no entry(): its main() under sys.exit, as its console script.
        command = [
            sys.executable,
            "-c",
            "import sys; from arrears.cli import main; sys.exit(main())",
        ]
    day = date(2025, 6, 1)
    if not (work / "landing").exists():
        subprocess.run(
            [*command, "generate", "--days", "1", "--loans", str(options.loans)],
            env=env,
            cwd=work,
            check=True,
            capture_output=True,
        )
    run = [*command, "run", "--date", day.isoformat()]
    one_run([*run, "--init"], env, work)  # warm: the warehouse, the key, PREFECT_HOME
    timings = [one_run(run, env, work) for _ in range(options.repeat)]
    summary = {
        key: {
            "median": statistics.median(t[key] for t in timings),
            "runs": [t[key] for t in timings],
        }
        for key in timings[0]
    }
    print(
        json.dumps(
            {
                "loans": options.loans,
                "checkout": str(options.checkout or "this"),
                "cpus": os.cpu_count(),
                "load_1min_before": os.getloadavg()[0],
                **summary,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
