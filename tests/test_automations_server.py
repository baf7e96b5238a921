"""`arrears automations` against a real Prefect server: the files of automations/ created with a
webhook block, replaced when run again, and a failed night POSTed to a local HTTP receiver."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from test_deployments_server import BIN, ROOT, base_env, free_port, started, wait_healthy

from arrears import automations
from arrears.generate import generate_landing

pytestmark = pytest.mark.integration

DAY = date(2025, 6, 1)
NAMES = {"arrears-run-failed", "arrears-night-not-done", "arrears-night-late"}


class Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers.get("Content-Length") or 0)
        Receiver.received.append(json.loads(self.rfile.read(length) or b"{}"))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def arrears(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "arrears"), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_files_load_with_the_block_and_the_night_filled_in():
    night = automations.night_length(automations.daily_start(), automations.parse_hour("06:00"))
    assert night == timedelta(hours=4)  # prefect.yaml: the daily run starts at 02:00
    assert automations.night_length(
        automations.parse_hour("22:00"), automations.parse_hour("01:30")
    ) == timedelta(hours=3, minutes=30)
    loaded = automations.load("00000000-0000-0000-0000-000000000001", night)
    assert {a["name"] for a in loaded} == NAMES
    text = json.dumps(loaded)
    assert "BLOCK" not in text and "NIGHT_SECONDS" not in text
    late = next(a for a in loaded if a["name"] == "arrears-night-not-done")
    assert late["trigger"]["within"] == 4 * 3600
    assert late["trigger"]["posture"] == "Proactive"


def test_automations_created_once_and_a_failed_night_reaches_the_webhook(tmp_path):
    Receiver.received = []
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = base_env(tmp_path / "prefect-home", api)
    server_args = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1"]
    try:
        with started(
            [*server_args, "--port", str(port)], tmp_path / "server.log", ROOT, env
        ) as server:
            wait_healthy(api, server, tmp_path / "server.log")
            args = ["automations", "--webhook", hook, "--allow-private", "--done-by", "06:00"]
            for _ in range(2):  # the second time replaces, never duplicates
                made = arrears(*args, env=env, cwd=ROOT)
                assert made.returncode == 0, made.stdout + made.stderr
            listed = httpx.post(f"{api}/automations/filter", json={}, timeout=30).json()
            assert sorted(a["name"] for a in listed) == sorted(NAMES)
            block = httpx.get(
                f"{api}/block_types/slug/custom-webhook/block_documents/name/arrears-alerts",
                timeout=30,
            ).json()
            assert {a["actions"][0]["block_document_id"] for a in listed} == {block["id"]}

            # A night that fails inside the flow (a value the contract refuses).
            landing = tmp_path / "landing"
            generate_landing(landing, DAY, 1, loans=60, seed=3, payments=False)
            loans = landing / DAY.isoformat() / "loans.csv"
            lines = loans.read_text(encoding="utf-8").splitlines()
            names = lines[0].split(",")
            row = lines[1].split(",")
            row[names.index("status")] = "HAUNTED"
            lines[1] = ",".join(row)
            loans.write_text("\n".join(lines) + "\n", encoding="utf-8")
            env.update(
                ARREARS_LANDING=str(landing),
                ARREARS_WAREHOUSE=str(tmp_path / "data" / "w.duckdb"),
                ARREARS_OUTBOX=str(tmp_path / "outbox"),
                ARREARS_REPORTS=str(tmp_path / "reports"),
            )
            failed = arrears("run", "--date", DAY.isoformat(), "--init", env=env, cwd=tmp_path)
            assert failed.returncode == 3, failed.stderr[-2000:]

            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and not Receiver.received:
                time.sleep(1)
            assert Receiver.received, "no notification within 180 s"
            sent = Receiver.received[0]
            assert sent["source"] == "arrears"
            assert f"daily-{DAY}" in sent["subject"] and "Failed" in sent["subject"]
            assert "run-failure" in sent["text"]
    finally:
        receiver.shutdown()
