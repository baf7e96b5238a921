"""Who works each CALL, VISIT and LEGAL action: agencies by rule or share, agents by channel,
stage and branch within their daily capacity, the same collector night after night.

A plain function over small rows, so that the rules read top down and a test can give it a
hand-made night. The order of the rules (docs/allocation.md):

1. Recalls. Every placement carried in the state (per customer and channel) ends when the
   customer is no longer overdue (PAID), is under a hold (HOLD, CEASE_CONTACT), or, for an
   agency, when placement_days have passed (PLACEMENT_OVER) or its stages no longer cover the
   customer's stage (STAGE); an agent or agency no longer in the file ends it too (REMOVED).
2. Agencies. A customer still placed keeps the agency for all of tonight's actions. Otherwise a
   customer whose stage an agency covers, not recalled tonight and not under a hold, is placed:
   the first agency by rule (file order) whose conditions hold, else by share, on a stable hash
   of the customer, so the same customers go to the same agency run after run.
3. Agents. The remaining actions in priority order (risk score, overdue amount, customer, as
   the channel capacity ranks them): the agent who held the customer on this channel if still
   eligible and not full, else the eligible agent with the most room left (then the fewest
   actions tonight, then file order). No eligible agent with room: deferred (reason CAPACITY).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from arrears.allocation.config import AGENCY, AGENT, Allocation
from arrears.strategy.config import STAGES

HASH_BUCKETS = 2**32
PLACED = "PLACED"


@dataclass(frozen=True)
class Action:
    action_id: str
    customer_id: str
    channel: str
    stage: str
    branch: str
    overdue_amount: Decimal


@dataclass(frozen=True)
class Held:
    """A placement carried in the state: who works the customer on a channel, since when."""

    customer_id: str
    channel: str
    assignee_kind: str
    assignee_id: str
    placed_date: date


@dataclass(frozen=True)
class Event:
    """A placement made (reason PLACED, no recalled_date) or ended tonight."""

    customer_id: str
    channel: str
    assignee_kind: str
    assignee_id: str
    placed_date: date
    recalled_date: date | None
    reason: str


@dataclass
class Result:
    # action_id -> (kind, id); deferred: action_id -> why
    assigned: dict[str, tuple[str, str]] = field(default_factory=dict)
    deferred: dict[str, str] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)


def placement_bucket(salt: str, customer_id: str) -> int:
    """The customer's hash bucket for the agency shares: first 32 bits of md5(salt:id)."""
    digest = hashlib.md5(f"{salt}:{customer_id}".encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:4], "big")


def allocate(
    config: Allocation,
    action_date: date,
    actions: Iterable[Action],
    held: Iterable[Held],
    holds: dict[str, str],
    overdue: set[str],
) -> Result:
    """Tonight's assignments. `actions` come in priority order; `holds` maps a customer under
    a hold at the action date to HOLD or CEASE_CONTACT; `overdue` is the set of customers with
    an overdue loan tonight."""
    result = Result()
    actions = list(actions)
    by_customer: dict[str, list[Action]] = defaultdict(list)
    for action in actions:
        by_customer[action.customer_id].append(action)
    kept: dict[tuple[str, str], Held] = {}
    recalled: set[str] = set()

    def end(row: Held, reason: str) -> None:
        result.events.append(
            Event(
                row.customer_id,
                row.channel,
                row.assignee_kind,
                row.assignee_id,
                row.placed_date,
                action_date,
                reason,
            )
        )

    agents = {agent_id: (team, agent) for _, agent_id, team, agent in config.agents()}
    stage_rank = {stage: rank for rank, stage in enumerate(STAGES)}

    def customer_stage(customer_id: str) -> str | None:
        rows = by_customer.get(customer_id)
        return min((a.stage for a in rows), key=stage_rank.__getitem__) if rows else None

    # 1. recalls
    for row in sorted(held, key=lambda h: (h.customer_id, h.channel)):
        reason = None
        agency = config.agencies.get(row.assignee_id) if row.assignee_kind == AGENCY else None
        stage = customer_stage(row.customer_id)
        if row.customer_id not in overdue:
            reason = "PAID"
        elif row.customer_id in holds:
            reason = holds[row.customer_id]
        elif row.assignee_kind == AGENCY:
            if agency is None:
                reason = "REMOVED"
            elif action_date >= row.placed_date + timedelta(days=agency.placement_days):
                reason = "PLACEMENT_OVER"
            elif stage is not None and stage not in agency.stages:
                reason = "STAGE"
        elif row.assignee_id not in agents:
            reason = "REMOVED"
        if reason is None:
            kept[(row.customer_id, row.channel)] = row
        else:
            end(row, reason)
            if row.assignee_kind == AGENCY:
                recalled.add(row.customer_id)

    def assign(action: Action, kind: str, assignee_id: str) -> None:
        key = (action.customer_id, action.channel)
        before = kept.get(key)
        result.assigned[action.action_id] = (kind, assignee_id)
        if before is not None and (before.assignee_kind, before.assignee_id) == (
            kind,
            assignee_id,
        ):
            return
        if before is not None:
            end(before, "REASSIGNED")
        placed = Held(action.customer_id, action.channel, kind, assignee_id, action_date)
        kept[key] = placed
        result.events.append(
            Event(action.customer_id, action.channel, kind, assignee_id, action_date, None, PLACED)
        )

    # 2. agencies
    placed_with = {
        row.customer_id: row.assignee_id for row in kept.values() if row.assignee_kind == AGENCY
    }
    placed_stages = {stage for agency in config.agencies.values() for stage in agency.stages}
    for customer_id, rows in by_customer.items():
        agency_id = placed_with.get(customer_id)
        if agency_id is None and customer_id not in recalled and customer_id not in holds:
            stage = customer_stage(customer_id) or ""
            if stage in placed_stages:
                agency_id = _place(config, rows, stage)
        if agency_id is not None:
            for action in rows:
                assign(action, AGENCY, agency_id)

    # 3. agents
    room: dict[str, float] = {
        agent_id: float("inf") if agent.daily_capacity is None else agent.daily_capacity
        for agent_id, (_, agent) in agents.items()
    }
    load: dict[str, int] = dict.fromkeys(agents, 0)
    order = {agent_id: i for i, agent_id in enumerate(agents)}
    eligible_cache: dict[tuple[str, str, str], list[str]] = {}

    def eligible(action: Action) -> list[str]:
        key = (action.channel, action.stage, action.branch)
        if key not in eligible_cache:
            eligible_cache[key] = [
                agent_id
                for agent_id, (team, _) in agents.items()
                if action.channel in team.channels
                and (not team.stages or action.stage in team.stages)
                and (not team.branches or action.branch in team.branches)
            ]
        return eligible_cache[key]

    for action in actions:
        if action.action_id in result.assigned:
            continue
        pool = eligible(action)
        before = kept.get((action.customer_id, action.channel))
        chosen = None
        if (
            before is not None
            and before.assignee_kind == AGENT
            and before.assignee_id in pool
            and room[before.assignee_id] > 0
        ):
            chosen = before.assignee_id
        else:
            open_agents = [a for a in pool if room[a] > 0]
            if open_agents:
                chosen = min(open_agents, key=lambda a: (-room[a], load[a], order[a]))
        if chosen is None:
            where = f"{action.channel} {action.stage} branch {action.branch}"
            result.deferred[action.action_id] = (
                f"all {len(pool)} agents for {where} at daily capacity"
                if pool
                else f"no agent covers {where}"
            )
            continue
        room[chosen] -= 1
        load[chosen] += 1
        assign(action, AGENT, chosen)
    return result


def _place(config: Allocation, rows: list[Action], stage: str) -> str | None:
    """The agency a customer not placed yet goes to tonight, or None (agents)."""
    lead = next(a for a in rows if a.stage == stage)
    overdue_amount = max(a.overdue_amount for a in rows)
    for agency_id, agency in config.agencies.items():
        rule = agency.rule
        if rule is None or stage not in agency.stages:
            continue
        if rule.branches and lead.branch not in rule.branches:
            continue
        if rule.overdue_min is not None and overdue_amount < rule.overdue_min:
            continue
        return agency_id
    bucket = Decimal(placement_bucket(config.salt, lead.customer_id)) / HASH_BUCKETS
    cumulative = Decimal(0)
    for agency_id, agency in config.agencies.items():
        if agency.share is None or stage not in agency.stages:
            continue
        cumulative += agency.share
        if bucket < cumulative:
            return agency_id
    return None
