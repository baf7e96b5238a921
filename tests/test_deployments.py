"""prefect.yaml: every deployment's entrypoint imports, and its parameters match the flow."""

from __future__ import annotations

import importlib
import inspect
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from prefect import Flow

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
DEPLOYMENTS = {d["name"]: d for d in CONFIG["deployments"]}


def load_entrypoint(entrypoint: str) -> Flow:
    path, name = entrypoint.split(":")
    module_name = path.removesuffix(".py").replace("/", ".")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    module = importlib.import_module(module_name)
    return getattr(module, name)


def test_the_daily_backfill_and_cancel_deployments_exist():
    assert {"daily", "backfill", "cancel"} <= set(DEPLOYMENTS)


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_entrypoint_imports_a_flow_and_parameters_match(name):
    deployment = DEPLOYMENTS[name]
    flow = load_entrypoint(deployment["entrypoint"])
    assert isinstance(flow, Flow)
    signature = inspect.signature(flow.fn)
    given = set(deployment.get("parameters") or {})
    assert given <= set(signature.parameters), (
        f"unknown parameters {given - set(signature.parameters)}"
    )
    required = {
        p.name for p in signature.parameters.values() if p.default is inspect.Parameter.empty
    }
    assert required <= given, f"{name} lacks required parameters {required - given}"
    flow.validate_parameters(deployment.get("parameters") or {})


def test_daily_runs_at_two_in_shanghai_on_a_process_pool():
    daily = DEPLOYMENTS["daily"]
    assert daily["entrypoint"] == "flows/daily_collections.py:daily_collections"
    assert daily["schedules"] == [
        {"cron": "0 2 * * *", "timezone": "Asia/Shanghai", "active": True}
    ]
    assert daily["work_pool"]["name"] == "arrears-process"
    # No snapshot_date: the flow then processes yesterday in the lender's time zone.
    assert "snapshot_date" not in daily["parameters"]


def test_cancel_runs_every_half_hour_from_eight_to_ten_in_shanghai_on_the_same_pool():
    from cronsim import CronSim

    cancel = DEPLOYMENTS["cancel"]
    assert cancel["entrypoint"] == "flows/cancel_actions.py:cancel_actions"
    assert cancel["work_pool"] == DEPLOYMENTS["daily"]["work_pool"]
    # No action_date: the flow then takes today in the lender's time zone.
    assert "action_date" not in cancel["parameters"]
    assert cancel["concurrency_limit"] == 1
    schedules = cancel["schedules"]
    assert {s["timezone"] for s in schedules} == {"Asia/Shanghai"}
    assert all(s["active"] for s in schedules)
    day = datetime(2025, 7, 1)
    fired = set()
    for schedule in schedules:
        for moment in CronSim(schedule["cron"], day - timedelta(seconds=1)):
            if moment >= day + timedelta(days=1):
                break
            fired.add(moment.strftime("%H:%M"))
    expected = {f"{h:02d}:{m:02d}" for h in range(8, 22) for m in (0, 30)} | {"22:00"}
    assert fired == expected


def test_the_cancel_flow_defaults_to_today_in_the_lenders_time_zone():
    flow = load_entrypoint(DEPLOYMENTS["cancel"]["entrypoint"])
    module = sys.modules[flow.fn.__module__]
    assert inspect.signature(flow.fn).parameters["action_date"].default is None
    # UTC+14: "today" there is tomorrow in UTC for ten hours of each day.
    before = datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    got = module.today("Pacific/Kiritimati")
    after = datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    assert got in {before, after}
