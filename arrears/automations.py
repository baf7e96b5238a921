"""The Prefect automations that warn someone about a night: the files in `automations/` made
real in a Prefect server by `arrears automations` (docs/operating.md, "Watching the nights").

The files hold two placeholders: BLOCK, the notification block every action sends to (a
webhook the command creates, or a Slack / email block the operator made), and NIGHT_SECONDS,
the time from the daily schedule (prefect.yaml) to the hour the night must be done by.
Creating them again replaces the automations of the same names, so the command can be rerun.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import yaml

from arrears.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
# In a wheel the files travel inside the package (pyproject.toml); in a checkout, at the top.
FILES = next(
    (p for p in (ROOT / "arrears" / "alerts", ROOT / "automations") if p.is_dir()),
    ROOT / "automations",
)
PROJECT = ROOT / "prefect.yaml"
# The daily deployment's start when prefect.yaml is not at hand (an installed wheel).
DAILY_START = time(2, 0)
WEBHOOK_BLOCK = "arrears-alerts"


@dataclass(frozen=True)
class Plan:
    """What the command will create: the automations (as dicts) and where they send."""

    automations: list[dict[str, Any]]
    night: timedelta


def parse_hour(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--done-by: {text!r} is not an hour (HH:MM)") from None


def daily_start(project: Path = PROJECT) -> time:
    """When the daily deployment starts (its cron's minute and hour)."""
    if not project.exists():
        return DAILY_START
    config = yaml.safe_load(project.read_text(encoding="utf-8"))
    daily = next(d for d in config["deployments"] if d["name"] == "daily")
    minute, hour = daily["schedules"][0]["cron"].split()[:2]
    if not (minute.isdigit() and hour.isdigit()):
        raise ConfigError(
            f"prefect.yaml: the daily cron {daily['schedules'][0]['cron']!r} "
            "is not at a fixed hour; give --night-seconds"
        )
    return time(int(hour), int(minute))


def night_length(start: time, done_by: time) -> timedelta:
    """From the schedule to the deadline, across midnight when the deadline is earlier."""
    seconds = (done_by.hour * 60 + done_by.minute - start.hour * 60 - start.minute) * 60
    if seconds <= 0:
        seconds += 24 * 3600
    return timedelta(seconds=seconds)


def load(block_id: str, night: timedelta, folder: Path = FILES) -> list[dict[str, Any]]:
    """Every automation of the files, with BLOCK and NIGHT_SECONDS filled in."""
    automations: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.yaml")):
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        automations += loaded if isinstance(loaded, list) else [loaded]
    if not automations:
        raise ConfigError(f"no automation files in {folder}")
    return [_filled(a, block_id, night) for a in automations]


def _filled(value: Any, block_id: str, night: timedelta) -> Any:
    if isinstance(value, dict):
        return {k: _filled(v, block_id, night) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, block_id, night) for v in value]
    if value == "BLOCK":
        return block_id
    if value == "NIGHT_SECONDS":
        return night.total_seconds()
    return value


def webhook_block(url: str, allow_private: bool) -> str:
    """Create or replace the `arrears-alerts` webhook block; its id."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    if not re.match(r"^https?://", url):
        raise ConfigError(f"--webhook: {url!r} is not an http(s) URL")
    block = CustomWebhookNotificationBlock(
        name=WEBHOOK_BLOCK,
        url=url,
        method="POST",
        json_data={"source": "arrears", "subject": "{{subject}}", "text": "{{body}}"},
        headers=None,
        cookies=None,
        allow_private_urls=allow_private,
    )
    return str(block.save(WEBHOOK_BLOCK, overwrite=True))


def existing_block(slug: str) -> str:
    """The id of a notification block the operator made (`slack-webhook/night-desk`)."""
    from prefect.blocks.core import Block

    if "/" not in slug:
        raise ConfigError(f"--block: {slug!r} is not TYPE/NAME (e.g. slack-webhook/night-desk)")
    try:
        block = Block.load(slug)
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"--block: {slug}: {exc}") from None
    block_id = getattr(block, "_block_document_id", None)
    if block_id is None:
        raise ConfigError(f"--block: {slug} has no saved document")
    return str(block_id)


def create(automations: list[dict[str, Any]]) -> list[str]:
    """Create the automations in the configured Prefect server, replacing any of the same
    name; their names."""
    from prefect.client.orchestration import get_client
    from prefect.events.schemas.automations import AutomationCore

    models = [AutomationCore.model_validate(a) for a in automations]
    with get_client(sync_client=True) as client:
        for model in models:
            for old in client.read_automations_by_name(model.name):
                client.delete_automation(old.id)
            client.create_automation(model)
    return [m.name for m in models]
