"""The built wheel, installed into a fresh venv, runs the pipeline on its own outside the checkout.

One venv per module: the wheel (`uv build --wheel`) plus the locked runtime pins
(`uv export --frozen --no-dev`), installed with uv from its cache. From a folder outside the
checkout, the installed `arrears` generates a small book and runs two days; nothing of the
checkout is on its path, so the SQL and the bundled rule files must come from the wheel. The runs
use the session's Prefect server, as a deployment uses its own, rather than starting a temporary
server each (~20 s apiece on a loaded machine).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from arrears.publish.manifest import verify_outbox

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
START = date(2025, 6, 1)
DAYS = 2
LOANS = 300
# Bounded waits, generous for a loaded 2-core machine: a run starts its own Prefect server.
COMMAND_SECONDS = 420


@dataclass(frozen=True)
class Installed:
    venv: Path
    env: dict[str, str]

    @property
    def bin(self) -> Path:
        return self.venv / "bin"


def uv_command() -> list[str]:
    """The uv that `make` uses: `uv run` names itself in $UV, else uv on PATH, else the module."""
    if os.environ.get("UV"):
        return [os.environ["UV"]]
    found = shutil.which("uv")
    return [found] if found else shlex.split("python3 -m uv")


def clean_env(prefect_home: Path) -> dict[str, str]:
    """The caller's environment without anything that points back at the checkout or its venv."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ARREARS_", "PREFECT_"))
        and key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "UV_COMPILE_BYTECODE")
    }
    # Its own Prefect home: nothing of ~/.prefect (profiles, a configured server) applies.
    env["PREFECT_HOME"] = str(prefect_home)
    return env


def run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run a command in its own process group; fail with its output, kill the group on timeout."""
    process = subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=COMMAND_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"{shlex.join(args)} took over {COMMAND_SECONDS} s:\n{output[-4000:]}")
    finally:
        # Never leave a child of the command behind.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, f"{shlex.join(args)} exited {process.returncode}:\n{output}"
    return output


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    assert ROOT not in root.parents
    uv = uv_command()
    env = clean_env(root / "prefect")
    dist, requirements, venv = root / "dist", root / "requirements.txt", root / "venv"
    run([*uv, "build", "--wheel", "--out-dir", str(dist)], ROOT, env)
    run(
        [*uv, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project"]
        + ["--output-file", str(requirements)],
        ROOT,
        env,
    )
    (wheel,) = dist.glob("arrears-*.whl")
    # From outside the checkout and with --no-config, so the project's uv settings (bytecode
    # compilation of every installed file) do not apply: imports compile what they use.
    run([*uv, "--no-config", "venv", "--quiet", "--python", sys.executable, str(venv)], root, env)
    run(
        [*uv, "--no-config", "pip", "install", "--quiet", "--python", str(venv / "bin" / "python")]
        + ["--requirement", str(requirements), str(wheel)],
        root,
        env,
    )
    return Installed(venv=venv, env=env)


def test_the_installed_packages_and_their_files_come_from_the_wheel(installed, tmp_path):
    probe = (
        "import json, arrears, flows, tasks, expectations\n"
        "from arrears.sqlfiles import sql_root\n"
        "from arrears.settings import Settings\n"
        "s = Settings()\n"
        "print(json.dumps({'packages': [m.__file__ for m in (arrears, flows, tasks, expectations)],"
        " 'sql': str(sql_root()), 'rules': [str(s.aging), str(s.strategy)]}))\n"
    )
    found = json.loads(run([str(installed.bin / "python"), "-c", probe], tmp_path, installed.env))

    site = installed.venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    site /= "site-packages"
    for path in found["packages"]:
        assert Path(path).parent.parent == site, path
    sql = Path(found["sql"])
    assert sql == site / "arrears" / "sql"
    assert {p.name for p in sql.iterdir()} >= {"schema", "staging", "marts", "publish"}
    for path in found["rules"]:
        assert Path(path).parent == site / "arrears" / "defaults" and Path(path).is_file()


def test_the_installed_cli_generates_and_runs_two_days_outside_the_checkout(
    installed, prefect_harness, tmp_path
):
    from prefect.settings import PREFECT_API_URL

    work = tmp_path / "work"
    work.mkdir()
    assert ROOT not in work.parents
    arrears = str(installed.bin / "arrears")
    env = {**installed.env, "PREFECT_API_URL": str(PREFECT_API_URL.value())}

    run(
        [arrears, "generate", "--start", START.isoformat(), "--days", str(DAYS)]
        + ["--loans", str(LOANS)],
        work,
        env,
    )
    days = [START + timedelta(days=i) for i in range(DAYS)]
    for day in days:
        output = run([arrears, "run", "--date", day.isoformat()], work, env)
        assert f"snapshot {day} done" in output

    # The defaults of Settings, relative to the folder it ran in.
    path = work / "data" / "arrears.duckdb"
    assert path.is_file()
    with duckdb.connect(str(path), read_only=True) as con:
        runs = con.execute("select snapshot_date, status from ops.runs order by started_at")
        assert runs.fetchall() == [(day, "SUCCEEDED") for day in days]
        actions = dict(
            con.execute(
                "select action_date, count(*) from marts.collection_actions group by action_date"
            ).fetchall()
        )
    for day in days:
        action_date = day + timedelta(days=1)
        manifest = verify_outbox(work / "outbox" / action_date.isoformat())
        assert manifest.snapshot_date == day and manifest.action_date == action_date
        published = sum(f.rows for f in manifest.files if f.format == "parquet")
        assert published == actions.get(action_date, 0) > 0
