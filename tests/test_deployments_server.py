"""The README's "Running on a schedule" commands, run for real against a local Prefect server.

Starts `prefect server start` on a free port, creates the process work pool, deploys
prefect.yaml from the project root, triggers the daily deployment for one date of a generated
landing folder and lets `prefect worker start --run-once` execute it from another directory (so
the deployment's pull step must find the project). One date keeps it fast: the backfill
deployment's entrypoint and parameters are checked in test_deployments.py. Every process runs in
its own process group and is killed at the end, whatever happened.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import httpx
import pytest

from arrears.generate import generate_landing

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
POOL = "arrears-process"
SNAPSHOT = date(2025, 6, 30)

# Bounded waits: generous for a loaded 2-core machine, never unbounded.
SERVER_START_SECONDS = 180
COMMAND_SECONDS = 180
WORKER_SECONDS = 420


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"({path.name} missing)"
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the process group (the server's and the flow runs' children too), then kill."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=15)


@contextlib.contextmanager
def started(
    args: list[str], log: Path, cwd: Path, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            stop(process)


def prefect(*args: str, cwd: Path, env: dict[str, str]) -> str:
    """One Prefect CLI command, as an operator types it; fails the test with its output."""
    result = subprocess.run(
        [str(BIN / "prefect"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
        start_new_session=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"prefect {' '.join(args)} exited {result.returncode}:\n{output}"
    return output


def wait_healthy(api: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        assert server.poll() is None, f"prefect server exited {server.returncode}:\n{tail(log)}"
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{api}/health", timeout=5).status_code == 200:
                return
        time.sleep(0.5)
    pytest.fail(f"prefect server not healthy after {SERVER_START_SECONDS} s:\n{tail(log)}")


def base_env(home: Path, api: str) -> dict[str, str]:
    # Nothing of the developer's or the test session's Prefect configuration leaks in.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ARREARS_"))}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=api,
        DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        ARREARS_PROJECT_DIR=str(ROOT),
        # Wide enough that the CLI's panels never wrap a UUID.
        COLUMNS="200",
    )
    return env


def test_readme_commands_deploy_and_a_worker_completes_a_daily_run(tmp_path: Path) -> None:
    landing, data = tmp_path / "landing", tmp_path / "data"
    generate_landing(landing, SNAPSHOT, 1, 200)
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = base_env(tmp_path / "prefect-home", api)
    server_log, worker_log = tmp_path / "server.log", tmp_path / "worker.log"

    server_args = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1"]
    with started([*server_args, "--port", str(port)], server_log, ROOT, env) as server:
        wait_healthy(api, server, server_log)
        prefect("work-pool", "create", POOL, "--type", "process", cwd=ROOT, env=env)
        prefect("--no-prompt", "deploy", "--all", cwd=ROOT, env=env)

        daily = httpx.get(f"{api}/deployments/name/daily_collections/daily", timeout=30).json()
        assert [
            (s["schedule"].get("cron"), s["schedule"].get("timezone"), s["active"])
            for s in daily["schedules"]
        ] == [("0 2 * * *", "Asia/Shanghai", True)]
        limit = daily["concurrency_limit"] or (daily.get("global_concurrency_limit") or {}).get(
            "limit"
        )
        assert limit == 1
        assert daily["work_pool_name"] == POOL
        # The pull step was resolved from ARREARS_PROJECT_DIR when deploying.
        assert daily["pull_steps"] == [
            {"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}
        ]

        triggered = prefect(
            "deployment",
            "run",
            "daily_collections/daily",
            "--param",
            f"snapshot_date={SNAPSHOT.isoformat()}",
            cwd=ROOT,
            env=env,
        )
        match = re.search(r"UUID:\s*([0-9a-f-]{36})", triggered)
        assert match, triggered
        flow_run_id = match.group(1)

        # The worker starts elsewhere: only the pull step can take the run to the project.
        worker_env = {
            **env,
            "ARREARS_LANDING": str(landing),
            "ARREARS_WAREHOUSE": str(data / "arrears.duckdb"),
            "ARREARS_OUTBOX": str(tmp_path / "outbox"),
            "ARREARS_REPORTS": str(tmp_path / "reports"),
        }
        worker_args = [str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--run-once"]
        with started(worker_args, worker_log, tmp_path, worker_env) as worker:
            try:
                worker.wait(timeout=WORKER_SECONDS)
            except subprocess.TimeoutExpired:
                pytest.fail(f"worker still running after {WORKER_SECONDS} s:\n{tail(worker_log)}")
        assert worker.returncode == 0, tail(worker_log)

        run = httpx.get(f"{api}/flow_runs/{flow_run_id}", timeout=30).json()
        assert run["state"]["type"] == "COMPLETED", tail(worker_log, 80)
        assert run["deployment_id"] == daily["id"]
        assert run["parameters"] == {"snapshot_date": SNAPSHOT.isoformat()}

    manifest = tmp_path / "outbox" / (SNAPSHOT + timedelta(days=1)).isoformat() / "_manifest.json"
    assert manifest.is_file(), "no outbox manifest"
    assert json.loads(manifest.read_text(encoding="utf-8"))["snapshot_date"] == SNAPSHOT.isoformat()
    with duckdb.connect(str(data / "arrears.duckdb"), read_only=True) as con:
        runs = con.execute(
            "select snapshot_date, status from ops.runs order by snapshot_date"
        ).fetchall()
        kpi_dates = con.execute(
            "select snapshot_date from marts.kpi_variants where strategy_variant = 'all' "
            "order by snapshot_date"
        ).fetchall()
    assert runs == [(SNAPSHOT, "SUCCEEDED")]
    assert kpi_dates == [(SNAPSHOT,)]
