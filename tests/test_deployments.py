"""prefect.yaml: every deployment's entrypoint imports, and its parameters match the flow."""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

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


def test_the_daily_and_backfill_deployments_exist():
    assert {"daily", "backfill"} <= set(DEPLOYMENTS)


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
