"""The allocation step: after deciding, before validating the action lists.

It reads tonight's CALL, VISIT and LEGAL actions (work.collection_actions), the placements the
previous night left (marts.assignment_state), tonight's holds and who is still overdue; assigns
every action (arrears.allocation.assign); moves what no agent has room for to
work.suppressed_actions with reason CAPACITY; orders each agent's visits
(arrears.allocation.routing); and builds work.assignments, the placements made and ended,
which the state step folds into tonight's marts.assignment_state. It runs on the merged
results of a partitioned run too, so both kinds of run allocate alike.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import duckdb
import polars as pl

from arrears import registry, state, warehouse
from arrears.allocation.assign import Action, Held, allocate
from arrears.allocation.config import AGENCY, Allocation
from arrears.allocation.routing import Budget, Solver, Visit, sequence, solve

# What the step builds from its results (the KPI step builds marts.assignee_kpis).
OUTPUTS = ("assignments",)

_SEEDS: dict[str, dict[str, pl.DataType | type[pl.DataType]]] = {
    "alloc_assigned": {
        "action_id": pl.Utf8,
        "assignee_kind": pl.Utf8,
        "assignee_id": pl.Utf8,
        "visit_sequence": pl.Int32,
    },
    "alloc_deferred": {"action_id": pl.Utf8, "detail": pl.Utf8},
    "alloc_events": {
        "customer_id": pl.Utf8,
        "channel": pl.Utf8,
        "assignee_kind": pl.Utf8,
        "assignee_id": pl.Utf8,
        "placed_date": pl.Date,
        "recalled_date": pl.Date,
        "reason": pl.Utf8,
    },
    "alloc_sequence": {"action_id": pl.Utf8, "visit_sequence": pl.Int32},
}
# Rates the KPI step pays commission by (marts.assignee_kpis).
_RATES_DDL = """
    create or replace table work.alloc_rates (
        assignee_kind varchar not null,
        assignee_id varchar not null,
        team_id varchar not null,
        commission_rate decimal(9,4) not null,
        bonus_within_days integer,
        bonus_rate decimal(9,4)
    )"""


def _write(con: duckdb.DuckDBPyConnection, name: str, rows: list[tuple[Any, ...]]) -> None:
    schema = _SEEDS[name]
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    con.register("alloc_rows", frame)
    try:
        con.execute(f"create or replace table work.{name} as select * from alloc_rows")
    finally:
        con.unregister("alloc_rows")


def write_rates(con: duckdb.DuckDBPyConnection, config: Allocation) -> None:
    con.execute(_RATES_DDL)  # the rows go in as one frame: executemany is slow in DuckDB
    rows: list[tuple[Any, ...]] = [
        ("AGENT", agent_id, team_id, team.commission_rate, None, None)
        for team_id, agent_id, team, _ in config.agents()
    ]
    for agency_id, agency in config.agencies.items():
        bonus = agency.speed_bonus
        rows.append(
            (
                AGENCY,
                agency_id,
                agency_id,
                agency.commission_rate,
                bonus.within_days if bonus else None,
                bonus.rate if bonus else None,
            )
        )
    frame = pl.DataFrame(
        rows,
        schema=["kind", "id", "team", "rate", "days", "bonus"],
        orient="row",
        infer_schema_length=None,
    )
    con.register("alloc_rate_rows", frame)
    try:
        con.execute("insert into work.alloc_rates select * from alloc_rate_rows")
    finally:
        con.unregister("alloc_rate_rows")


def allocate_night(
    con: duckdb.DuckDBPyConnection,
    snapshot_date: date,
    config: Allocation,
    solver: Solver = solve,
) -> dict[str, int]:
    """Assign tonight's actions in work.*; returns counts (assigned, deferred, placed, ended,
    visits solved and in grouped order)."""
    action_date = snapshot_date + timedelta(days=1)
    params = {
        "snapshot_date": snapshot_date,
        "action_date": action_date,
        "allocation_version": config.version,
        **state.previous_dates(con, snapshot_date),
    }
    actions = [
        Action(*row) for row in warehouse.execute(con, "allocation/actions", params).fetchall()
    ]
    held = [Held(*row) for row in warehouse.execute(con, "allocation/held", params).fetchall()]
    holds = dict(warehouse.execute(con, "allocation/holds", params).fetchall())
    overdue = {c for (c,) in warehouse.execute(con, "allocation/overdue", params).fetchall()}
    result = allocate(config, action_date, actions, held, holds, overdue)

    _write(
        con,
        "alloc_assigned",
        [(a, kind, who, None) for a, (kind, who) in sorted(result.assigned.items())],
    )
    _write(con, "alloc_deferred", sorted(result.deferred.items()))
    _write(
        con,
        "alloc_events",
        [
            (
                e.customer_id,
                e.channel,
                e.assignee_kind,
                e.assignee_id,
                e.placed_date,
                e.recalled_date,
                e.reason,
            )
            for e in result.events
        ],
    )
    write_rates(con, config)
    warehouse.execute(con, "allocation/defer")
    warehouse.execute(con, "allocation/apply_assignees")
    budget = order_visits(con, config, solver)
    registry.build(con, OUTPUTS, params)
    return {
        "assigned": len(result.assigned),
        "deferred": len(result.deferred),
        "placed": sum(1 for e in result.events if e.recalled_date is None),
        "ended": sum(1 for e in result.events if e.recalled_date is not None),
        "routes_solved": budget.solved,
        "routes_grouped": budget.fell_back,
    }


def order_visits(con: duckdb.DuckDBPyConnection, config: Allocation, solver: Solver) -> Budget:
    """visit_sequence on tonight's visits, per assignee."""
    per_assignee: dict[str, list[Visit]] = defaultdict(list)
    for action_id, branch, postal, priority, lat, lon, assignee in warehouse.execute(
        con, "allocation/visits"
    ).fetchall():
        per_assignee[assignee].append(Visit(action_id, branch, postal, priority, lat, lon))
    budget = Budget(config.routing.total_limit_seconds, config.routing.time_limit_seconds)
    rows = []
    for assignee in sorted(per_assignee):
        for n, visit in enumerate(sequence(per_assignee[assignee], budget, solver), start=1):
            rows.append((visit.action_id, n))
    _write(con, "alloc_sequence", rows)
    warehouse.execute(con, "allocation/apply_sequence")
    return budget


def build_kpis(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> int:
    """work.assignee_kpis for D (after the age, decide and allocation steps); returns rows."""
    from arrears.aging import AGE_MODELS
    from arrears.strategy.engine import OUTPUTS as DECIDE_MODELS

    params = {"snapshot_date": snapshot_date, **state.previous_dates(con, snapshot_date)}
    given = (*AGE_MODELS, *DECIDE_MODELS, *OUTPUTS)
    return registry.build(con, ["assignee_kpis"], params, given=given)["assignee_kpis"]
