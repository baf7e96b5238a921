"""The Prefect API of a command-line run when no server is configured.

Left to itself, Prefect 3.8 starts a temporary API the moment a flow is called: the process
first imports Prefect's server (~2.5 s of CPU on these machines) only to spawn it, then waits
while the server process imports it again and starts (~4 s of CPU), before the first task.
The command line instead spawns the same server (Prefect's own app, same database under
PREFECT_HOME, UI off) as the very first thing once the arguments and the landing folder are
checked, without importing it, and points PREFECT_API_URL at it: the server starts on one core
while this process imports the pipeline on the other, and the flow waits only for what is left.
The server stops when the command exits. docs/operating.md, "Start-up", gives the numbers.

Nothing changes when a server is configured (PREFECT_API_URL in the environment or the active
Prefect profile), inside tests (a Prefect settings context is already in force), or when
ephemeral servers are switched off.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

from arrears.errors import ArrearsError

STARTUP_SECONDS = 120.0


def configured() -> bool:
    """A Prefect API is configured, or Prefect would not start a temporary one."""
    if "prefect" in sys.modules:
        # Already imported (tests, an embedding program): its settings decide, as they would.
        return True
    if os.environ.get("PREFECT_API_URL"):
        return True
    if os.environ.get("PREFECT_SERVER_EPHEMERAL_ENABLED", "").lower() in ("0", "false"):
        return True
    # Prefect also reads settings from these files in the working directory.
    if Path("prefect.toml").exists() or Path(".env").exists():
        return True
    return bool(_profile_setting("PREFECT_API_URL"))


def _profile_setting(name: str) -> str | None:
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml")
    try:
        profiles = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active") or "ephemeral"
    value = profiles.get("profiles", {}).get(active, {}).get(name)
    return str(value) if value else None


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalApi:
    """Prefect's API app in a child process, started now and awaited later."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        env = {
            **os.environ,
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        atexit.register(self.stop)
        # Set before Prefect is imported: it reads its settings once. This API serves no UI:
        # no "View at" links to it.
        os.environ["PREFECT_API_URL"] = self.url
        os.environ.setdefault("PREFECT_UI_URL", "")

    def wait(self, timeout: float = STARTUP_SECONDS) -> None:
        """Until the API answers; a server that exits or never answers is an error (exit 1)."""
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                said = self.process.stderr.read() if self.process.stderr else b""
                stderr = said.decode(errors="replace")
                raise ArrearsError(
                    f"the local Prefect API exited ({self.process.returncode}) before answering: "
                    f"{stderr.strip().splitlines()[-1] if stderr.strip() else 'no message'}; "
                    "or set PREFECT_API_URL to a running Prefect server"
                )
            with contextlib.suppress(OSError, urllib.error.URLError):
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            time.sleep(0.05)
        self.stop()
        raise ArrearsError(
            f"the local Prefect API did not answer within {timeout:.0f} s; "
            "or set PREFECT_API_URL to a running Prefect server"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


_started: list[LocalApi] = []


def start() -> LocalApi | None:
    """Start the local API unless one is configured (or already started by this process)."""
    if _started:
        return _started[0]
    if configured():
        return None
    _started.append(LocalApi())
    return _started[0]


def started() -> bool:
    """Whether this process started a local API (start() found none configured)."""
    return bool(_started)


def ready() -> None:
    """Wait for the API started by start(), if any."""
    if _started:
        _started[0].wait()


_settings_scope = contextlib.ExitStack()


def without_heartbeats() -> None:
    """No flow-run heartbeats for the rest of this process when it runs its own local API.

    Heartbeats tell a server that a run is still alive (its crash detection); the local API
    ends with this process, so nothing would ever read them. And Prefect 3.8 joins the
    heartbeat thread at the end of every flow run while it sleeps in whole seconds: up to 1 s
    per flow run, 0.5 s on average, measured (docs/operating.md, "Start-up"). A configured
    server keeps Prefect's heartbeats.
    """
    from prefect.settings import get_current_settings, temporary_settings

    if _started and get_current_settings().flows.heartbeat_frequency is not None:
        _settings_scope.enter_context(
            temporary_settings(updates={"flows.heartbeat_frequency": None})
        )


def stop_last(run_exit_handlers: Callable[[], None]) -> None:
    """Run the process's exit handlers with the API still up, then stop it: Prefect's log
    handler sends its last lines at logging's shutdown, and waits 5 s for a stopped API."""
    for api in _started:
        atexit.unregister(api.stop)
    try:
        run_exit_handlers()
    finally:
        for api in _started:
            api.stop()
