"""Allocation and routing (docs/allocation.md; targets: the actions of a 1M-loan book, 50,000+
actions to 500 agents and 3 agencies, in 10 s; 2,000 visits of 100 field agents routed in 20 s).

    .venv/bin/python bench/bench_allocation.py [--actions 50000] [--visits 2000 --agents 100]

Allocation: the whole step (arrears.allocation.step.allocate_night) on a synthetic night in an
in-memory warehouse, first with no placements carried, then with the first night's placements
as the previous state (continuity). Customers carry no coordinates there (visits keep the
grouped order); routing is timed on its own, every visit located around one city.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date

from arrears import warehouse
from arrears.allocation.config import Allocation
from arrears.allocation.routing import Budget, Visit, grouped, path_length, sequence
from arrears.allocation.step import allocate_night
from arrears.generate.names import CITIES

D = date(2025, 6, 30)
BRANCHES = [c[5] for c in CITIES]
REGIONS = [BRANCHES[i::7] for i in range(7)]


def config() -> Allocation:
    teams: dict[str, dict] = {}
    n = 0
    for r, branches in enumerate(REGIONS):
        for group, stages in (("early", ["CALL", "LETTER"]), ("late", ["VISIT", "RECOVERY"])):
            agents = [{"agent_id": f"p{n + i}", "daily_capacity": 120} for i in range(25)]
            n += 25
            teams[f"phone-{group}-{r}"] = {
                "channels": ["CALL"],
                "stages": stages,
                "branches": branches,
                "agents": agents,
            }
        teams[f"field-{r}"] = {
            "channels": ["VISIT"],
            "branches": branches,
            "agents": [{"agent_id": f"f{r}-{i}", "daily_capacity": 12} for i in range(20)],
        }
    teams["legal"] = {
        "channels": ["LEGAL"],
        "agents": [{"agent_id": f"l{i}", "daily_capacity": 400} for i in range(10)],
    }
    agency = {"placement_days": 60, "commission_rate": "0.15"}
    return Allocation.model_validate(
        {
            "version": "bench",
            "teams": teams,
            "agencies": {
                "law": {**agency, "stages": ["RECOVERY", "LEGAL"], "rule": {"overdue_min": 20000}},
                "east": {**agency, "stages": ["RECOVERY"], "share": "0.3"},
                "west": {**agency, "stages": ["RECOVERY"], "share": "0.2"},
            },
        }
    )


_ACTIONS = """
insert into work.collection_actions by name
select
    md5(i::varchar) as action_id,
    $d::date + 1 as action_date,
    $d::date as snapshot_date,
    'C' || lpad(i::varchar, 8, '0') as customer_id,
    ['L' || i] as loan_ids,
    'L' || i as primary_loan_id,
    case when i % 10 < 7 then 'CALL' when i % 10 < 9 then 'VISIT' else 'LEGAL' end as channel,
    case
        when i % 10 = 9 then 'LEGAL'
        when i % 10 >= 7 then 'VISIT'
        else ['CALL', 'LETTER', 'VISIT', 'RECOVERY'][i % 4 + 1]
    end as stage,
    1 as priority,
    (hash(i) % 10000) / 10000.0 as risk_score,
    (100 + hash(i * 7) % 30000)::decimal(18,2) as overdue_amount,
    50000.00 as outstanding_amount,
    now() as window_start,
    now() as window_end,
    'Asia/Shanghai' as timezone,
    'bench' as template,
    'bench' as strategy_version,
    'champion' as strategy_variant,
from range($n) t(i)
"""
_LOANS = """
insert into work.loan_aging by name
select
    $d::date as snapshot_date,
    'L' || i as loan_id,
    'C' || lpad(i::varchar, 8, '0') as customer_id,
    'P' as product,
    $branches[i % 28 + 1] as branch,
    'CNY' as currency,
    'ACTIVE' as status,
    true as is_aged,
    40 as dpd,
    'M2' as bucket,
    'MEDIUM' as aging_term,
    'SPECIAL_MENTION' as loan_class,
    2 as ifrs9_stage,
    'STAY' as transition,
    1 as overdue_installments,
    0 as overdue_principal_amount,
    0 as overdue_interest_amount,
    0 as overdue_fees_amount,
    100 as overdue_amount,
    1000 as outstanding_principal,
    0 as paid_to_date_amount,
    false as has_source_dpd_mismatch,
from range($n) t(i)
"""


def night(actions: int) -> tuple[float, float, dict[str, int]]:
    con = warehouse.connect(":memory:")
    for name in ("collection_actions", "suppressed_actions", "loan_aging"):
        con.execute(f"create table work.{name} as select * from marts.{name} limit 0")
    for dataset in ("customers", "holds"):
        con.execute(warehouse.work_table_ddl(dataset))
    params = {"d": D, "n": actions}
    con.execute(_ACTIONS, params)
    con.execute(_LOANS, {**params, "branches": BRANCHES})
    plan = config()
    start = time.perf_counter()
    first = allocate_night(con, D, plan)
    first_s = time.perf_counter() - start
    # the placements as the previous night's state: tonight is the same night again, a day on
    con.execute(
        "insert into marts.assignment_state select $p, customer_id, channel, assignee_kind, "
        "assignee_id, placed_date, 'bench' from work.assignments where recalled_date is null",
        {"p": D},
    )
    con.execute("insert into marts.loan_aging select * from work.loan_aging")
    con.execute("update work.loan_aging set snapshot_date = snapshot_date + 1")
    con.execute(
        "update work.collection_actions set snapshot_date = snapshot_date + 1, "
        "action_date = action_date + 1, assignee_kind = null, assignee_id = null, "
        "visit_sequence = null"
    )
    con.execute("delete from work.suppressed_actions")
    start = time.perf_counter()
    second = allocate_night(con, date.fromordinal(D.toordinal() + 1), plan)
    second_s = time.perf_counter() - start
    con.close()
    return first_s, second_s, {**first, **{f"next_{k}": v for k, v in second.items()}}


def routing(visits: int, agents: int) -> tuple[float, Budget, int, int]:
    rng = random.Random(7)
    per_agent: dict[int, list[Visit]] = {a: [] for a in range(agents)}
    for i in range(visits):
        per_agent[i % agents].append(
            Visit(
                f"v{i}",
                "SH01",
                f"2000{rng.randrange(30):02d}",
                i,
                31.2 + rng.gauss(0, 0.05),
                121.45 + rng.gauss(0, 0.05),
            )
        )
    budget = Budget(total_seconds=20.0, per_agent_seconds=1.0)
    before = after = 0
    start = time.perf_counter()
    for visits_of_agent in per_agent.values():
        order = sequence(visits_of_agent, budget)
        before += path_length(grouped(visits_of_agent))
        after += path_length(order)
    return time.perf_counter() - start, budget, before, after


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--actions", type=int, default=50_000)
    parser.add_argument("--visits", type=int, default=2_000)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--skip-allocation", action="store_true")
    args = parser.parse_args()
    if not args.skip_allocation:
        first_s, second_s, counts = night(args.actions)
        print(
            f"allocation of {args.actions:,} actions (500 agents, 3 agencies): first night "
            f"{first_s:.2f} s, next night with the state {second_s:.2f} s; {counts}"
        )
    seconds, budget, before, after = routing(args.visits, args.agents)
    print(
        f"routing {args.visits:,} visits of {args.agents} agents: {seconds:.2f} s, "
        f"{budget.solved} routes solved, {budget.fell_back} grouped; path "
        f"{before / 1000:,.0f} km grouped -> {after / 1000:,.0f} km routed"
    )


if __name__ == "__main__":
    main()
