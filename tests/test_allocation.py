"""Allocation to agents and agencies (CONTRACT section 11): the file, the rules of assignment on
hand-made nights, the solver and its fallback, and commission figures worked by hand."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from arrears.allocation.assign import Action, Held, allocate
from arrears.allocation.config import Allocation, load_allocation
from arrears.allocation.routing import Budget, Visit, grouped, path_length, sequence
from arrears.errors import ConfigError
from arrears.settings import DEFAULTS_DIR

A = date(2025, 6, 10)
EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "allocation.yaml"


def config(**document: object) -> Allocation:
    base: dict[str, object] = {
        "version": "t1",
        "teams": {"phone": {"channels": ["CALL"], "agents": [{"agent_id": "a1"}]}},
    }
    return Allocation.model_validate({**base, **document})


def call(customer: str, stage: str = "CALL", branch: str = "B1", overdue: str = "100.00"):
    return Action(f"x-{customer}-CALL", customer, "CALL", stage, branch, Decimal(overdue))


# --- the file ---------------------------------------------------------------------------------


def test_the_default_and_the_example_load():
    default = load_allocation(DEFAULTS_DIR / "allocation.yaml")
    assert not default.agencies
    assert {c for t in default.teams.values() for c in t.channels} == {"CALL", "VISIT", "LEGAL"}
    assert all(a.daily_capacity is None for _, _, _, a in default.agents())
    example = load_allocation(EXAMPLE)
    assert len(example.agencies) == 2 and len(example.teams) >= 3


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (("teams", "phone", "stages"), "teams.phone.stages: unknown stage 'CAL'"),
        (("teams", "phone", "channels"), "teams.phone.channels: unknown channel 'SMS'"),
        (("teams", "phone", "agents"), "teams.phone.agents.0.daily_capacity"),
        (("agencies", "ag", "rule"), "agencies.ag.rule.branch: unknown field"),
    ],
)
def test_mistakes_stop_the_run_with_where(tmp_path, change, where):
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    document["teams"]["phone"] = {"channels": ["CALL"], "agents": [{"agent_id": "a1"}]}
    document["agencies"]["ag"] = {
        "stages": ["RECOVERY"],
        "rule": {"overdue_min": 1},
        "placement_days": 30,
        "commission_rate": 0.1,
    }
    values = {
        "stages": ["CAL"],
        "channels": ["SMS"],
        "agents": [{"agent_id": "a1", "daily_capacity": -1}],
        "rule": {"branch": ["B1"]},
    }
    section, name, field = change
    document[section][name][field] = values[field]
    path = tmp_path / "allocation.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_allocation(path)
    assert raised.value.exit_code == 2
    assert f"allocation.yaml: {where}" in str(raised.value)


def test_agency_shares_above_one_refused():
    agency = {"stages": ["RECOVERY"], "placement_days": 30, "commission_rate": 0.1}
    with pytest.raises(ValueError, match="shares of stage RECOVERY add up to 1.2"):
        config(agencies={"x": {**agency, "share": 0.6}, "y": {**agency, "share": 0.6}})


# --- capacity, continuity, recalls -------------------------------------------------------------


def test_capacity_exactly_full_then_one_over():
    plan = config(
        teams={"phone": {"channels": ["CALL"], "agents": [{"agent_id": "a1", "daily_capacity": 3}]}}
    )
    three = [call(c) for c in ("C1", "C2", "C3")]
    full = allocate(plan, A, three, [], {}, set())
    assert full.assigned == {a.action_id: ("AGENT", "a1") for a in three}
    assert not full.deferred
    over = allocate(plan, A, [*three, call("C4")], [], {}, set())
    assert set(over.assigned) == {a.action_id for a in three}
    # the last in priority order is the one deferred
    assert over.deferred == {"x-C4-CALL": "all 1 agents for CALL CALL branch B1 at daily capacity"}


def test_no_agent_for_the_branch_is_deferred_with_why():
    plan = config(
        teams={"north": {"channels": ["CALL"], "branches": ["N"], "agents": [{"agent_id": "n"}]}}
    )
    result = allocate(plan, A, [call("C1", branch="S")], [], {}, set())
    assert result.deferred == {"x-C1-CALL": "no agent covers CALL CALL branch S"}


def test_continuity_across_three_nights():
    """Each night starts from the placements the previous one left; a customer stays with the
    agent who had it although another agent has more room."""
    plan = config(
        teams={
            "phone": {
                "channels": ["CALL"],
                "agents": [
                    {"agent_id": "a1", "daily_capacity": 5},
                    {"agent_id": "a2", "daily_capacity": 5},
                ],
            }
        }
    )
    customers = ["C1", "C2", "C3", "C4"]
    held: list[Held] = []
    first: dict[str, str] = {}
    for night in range(3):
        day = A + timedelta(days=night)
        # a new customer each night takes room from whoever has the most
        actions = [call(c) for c in [*customers, f"N{night}"]]
        result = allocate(plan, day, actions, held, {}, set(customers) | {f"N{night}"})
        owners = {a.customer_id: result.assigned[a.action_id][1] for a in actions}
        if night == 0:
            first = {c: owners[c] for c in customers}
            assert Counter(first.values()) == Counter({"a1": 2, "a2": 2})
        assert {c: owners[c] for c in customers} == first
        placed = [e for e in result.events if e.recalled_date is None]
        assert {e.customer_id for e in placed} == (set(customers) if night == 0 else set()) | {
            f"N{night}"
        }
        ended = {(e.customer_id, e.channel) for e in result.events if e.recalled_date}
        held = [h for h in held if (h.customer_id, h.channel) not in ended] + [
            Held(e.customer_id, e.channel, e.assignee_kind, e.assignee_id, e.placed_date)
            for e in placed
        ]


AGENCIES = {
    "law": {
        "stages": ["RECOVERY", "LEGAL"],
        "rule": {"overdue_min": "20000.00"},
        "placement_days": 90,
        "commission_rate": "0.2",
    },
    "east": {
        "stages": ["RECOVERY"],
        "share": "0.5",
        "placement_days": 30,
        "commission_rate": "0.15",
    },
}


def test_rule_before_share_and_the_placement_kept():
    plan = config(agencies=AGENCIES)
    big = call("BIG", stage="RECOVERY", overdue="25000.00")
    result = allocate(plan, A, [big], [], {}, {"BIG"})
    assert result.assigned[big.action_id] == ("AGENCY", "law")
    held = [Held("BIG", "CALL", "AGENCY", "law", A)]
    later = allocate(plan, A + timedelta(days=5), [big], held, {}, {"BIG"})
    assert later.assigned[big.action_id] == ("AGENCY", "law") and not later.events


@pytest.mark.parametrize(
    ("overdue", "holds", "days", "reason"),
    [
        (set(), {}, 1, "PAID"),
        ({"C1"}, {"C1": "HOLD"}, 1, "HOLD"),
        ({"C1"}, {"C1": "CEASE_CONTACT"}, 1, "CEASE_CONTACT"),
        ({"C1"}, {}, 30, "PLACEMENT_OVER"),
    ],
)
def test_recalls(overdue, holds, days, reason):
    plan = config(agencies=AGENCIES)
    held = [Held("C1", "CALL", "AGENCY", "east", A - timedelta(days=days))]
    result = allocate(plan, A, [], held, holds, overdue)
    [event] = result.events
    assert (event.assignee_id, event.recalled_date, event.reason) == ("east", A, reason)


def test_recalled_customer_goes_to_an_agent_not_back_to_the_agency():
    plan = config(agencies=AGENCIES)
    action = call("C1", stage="RECOVERY")
    held = [Held("C1", "CALL", "AGENCY", "east", A - timedelta(days=30))]
    result = allocate(plan, A, [action], held, {}, {"C1"})
    assert result.assigned[action.action_id] == ("AGENT", "a1")
    assert [e.reason for e in result.events] == ["PLACEMENT_OVER", "PLACED"]


def test_share_split_is_stable_run_after_run():
    plan = config(agencies=AGENCIES)
    customers = [f"CU{i:06d}" for i in range(4000)]
    actions = [call(c, stage="RECOVERY") for c in customers]
    one = allocate(plan, A, actions, [], {}, set(customers)).assigned
    # another night, other customers alongside: each customer lands where it landed
    two = allocate(plan, A, actions[::-1][:1000], [], {}, set(customers)).assigned
    assert all(two[k] == one[k] for k in two)
    east = sum(1 for kind, who in one.values() if who == "east")
    assert 1800 < east < 2200  # about half, by the hash


# --- routing ------------------------------------------------------------------------------------


def _visits(located: bool = True) -> list[Visit]:
    # three postal codes; the grouped order zigzags across the city
    points = [(31.20, 121.40), (31.30, 121.60), (31.21, 121.41), (31.29, 121.59), (31.22, 121.42)]
    return [
        Visit(f"v{i}", "SH01", f"2000{i % 2}", i, *(p if located else (None, None)))
        for i, p in enumerate(points)
    ]


def test_the_solver_shortens_the_route():
    visits = _visits()
    budget = Budget(10, 2)
    routed = sequence(visits, budget)
    assert budget.solved == 1
    assert sorted(v.action_id for v in routed) == sorted(v.action_id for v in visits)
    assert path_length(routed) < path_length(grouped(visits))


def test_without_coordinates_the_grouped_order():
    visits = _visits(located=False)
    budget = Budget(10, 2)
    assert sequence(visits, budget) == grouped(visits)
    assert [v.postal_code for v in grouped(visits)] == ["20000"] * 3 + ["20001"] * 2
    assert budget.solved == budget.fell_back == 0


def test_solver_without_an_answer_in_time_falls_back_to_the_grouped_order():
    visits = _visits()
    budget = Budget(10, 2)
    assert sequence(visits, budget, solver=lambda v, limit: None) == grouped(visits)
    assert budget.fell_back == 1
    spent = Budget(0, 2)  # the night's time is gone: the solver is not even asked
    asked = []
    assert sequence(visits, spent, solver=lambda v, limit: asked.append(v)) == grouped(visits)
    assert not asked and spent.fell_back == 1


def test_the_command_line_refuses_a_bad_file_with_exit_2(tmp_path, capsys):
    from arrears.cli import main

    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    document["teams"]["legal"]["agents"][0]["daily_capacity"] = -5
    path = tmp_path / "allocation.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    argv = ["run", "--date", "2025-06-01", "--warehouse", str(tmp_path / "w.duckdb")]
    assert main([*argv, "--allocation", str(path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "allocation.yaml: teams.legal.agents.0.daily_capacity" in err
    assert not (tmp_path / "w.duckdb").exists()
