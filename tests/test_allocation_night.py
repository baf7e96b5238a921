"""The allocation step on a warehouse: capacity deferrals in suppressed_actions, continuity
carried night to night in marts.assignment_state (folded from marts.assignments), and the
collectors' figures and commission of marts.assignee_kpis on a case worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from strategy_support import Book, D

from arrears import warehouse
from arrears.allocation.config import Allocation
from arrears.allocation.step import allocate_night, build_kpis, write_rates

TEAMS = Allocation.model_validate(
    {
        "version": "night-1",
        "teams": {
            "phone": {
                "channels": ["CALL"],
                "agents": [
                    {"agent_id": "a1", "daily_capacity": 2},
                    {"agent_id": "a2", "daily_capacity": 1},
                ],
            },
            "rest": {"channels": ["VISIT", "LEGAL"], "agents": [{"agent_id": "desk"}]},
        },
    }
)


def _commit_assignments(book: Book) -> None:
    warehouse.replace_partition(
        book.con,
        "marts.assignments",
        "work.assignments",
        "action_date",
        book.day + timedelta(days=1),
    )


def test_three_nights_capacity_and_continuity():
    book = Book.new()
    for n in range(1, 5):
        # equal risk, overdue amounts set the priority: C1 first, C4 last
        book.customer(f"C{n}").loan(f"L{n}", f"C{n}", dpd=10, overdue=1000 - n, outstanding=5000)
    owners = []
    for night in range(3):
        book.run()
        counts = allocate_night(book.con, book.day, TEAMS)
        assert (counts["assigned"], counts["deferred"]) == (3, 1)
        calls = dict(
            book.rows(
                "select customer_id, assignee_id from work.collection_actions "
                "where channel = 'CALL' and assignee_kind = 'AGENT'"
            )
        )
        assert set(calls) == {"C1", "C2", "C3"}
        owners.append(calls)
        [(reason, detail)] = book.rows(
            "select reason, detail from work.suppressed_actions "
            "where customer_id = 'C4' and channel = 'CALL'"
        )
        assert reason == "CAPACITY" and "daily capacity" in detail
        assert book.rows("select count(*) from work.assignments") == [(3 if night == 0 else 0,)]
        _commit_assignments(book)
        book.next_day()
    assert owners[0] == owners[1] == owners[2]
    assert sorted(owners[0].values()) == ["a1", "a1", "a2"]
    # the state the fourth night reads, folded from the committed placements
    book.run()
    state = book.con.execute(
        "select customer_id, assignee_id, placed_date, allocation_version from "
        "marts.assignment_state where snapshot_date = ? order by 1",
        [book.day - timedelta(days=1)],
    ).fetchall()
    assert [(c, who) for c, who, _, _ in state] == sorted(owners[0].items())
    assert {(placed, version) for _, _, placed, version in state} == {
        (D + timedelta(days=1), "night-1")
    }


RATES = Allocation.model_validate(
    {
        "version": "kpi-1",
        "teams": {
            "phone": {
                "channels": ["CALL"],
                "commission_rate": "0.01",
                "agents": [{"agent_id": "a1"}],
            },
            "field": {
                "channels": ["VISIT"],
                "commission_rate": "0.03",
                "agents": [{"agent_id": "f1"}],
            },
        },
        "agencies": {
            "east": {
                "stages": ["RECOVERY"],
                "share": "0.5",
                "placement_days": 30,
                "commission_rate": "0.15",
                "speed_bonus": {"within_days": 10, "rate": "0.05"},
            }
        },
    }
)


def test_assignee_kpis_and_commission_by_hand():
    p = D - timedelta(days=1)
    book = Book.new()
    con = book.con
    held = [
        ("C1", "CALL", "AGENCY", "east", p - timedelta(days=3)),
        ("C2", "CALL", "AGENT", "a1", p - timedelta(days=20)),
        ("C2", "VISIT", "AGENT", "f1", p - timedelta(days=20)),
    ]
    for row in held:
        con.execute(
            "insert into marts.assignment_state values (?, ?, ?, ?, ?, ?, 'kpi-1')", [p, *row]
        )
    book.history(p, "L1", "C1", 95, paid_to_date="100.00")
    book.history(p, "L2", "C2", 20, paid_to_date="0.00")
    book.history(p, "L3", "C2", 0, paid_to_date="50.00")
    book.loan("L1", "C1", 96, paid_to_date="1100.00")
    book.loan("L2", "C2", 0, paid_to_date="333.33")
    book.loan("L3", "C2", 0, paid_to_date="50.00")
    at = datetime(2025, 6, 1, 3, tzinfo=UTC)
    book.event("E1", "C2", "L2", at, "CONNECTED", channel="CALL")
    book.event("E2", "C2", "L2", at, "PROMISE", channel="VISIT")
    book.event("E3", "C1", "L1", at, "NO_ANSWER", channel="CALL")
    con.execute(
        "create or replace table work.arrangement_status as "
        "select * from marts.arrangement_status limit 0"
    )
    con.execute(
        "insert into work.arrangement_status values "
        "($d, 'AR1', 'L2', 'C2', 'PROMISE_TO_PAY', $d, $d, 300.00, 333.33, 'KEPT')",
        {"d": D},
    )
    write_rates(con, RATES)
    assert build_kpis(con, D) == 3
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select assignee_id, accounts_held, contacted, right_party_contacts, promises, "
            "promises_kept, collected_amount, cured, commission_amount from work.assignee_kpis"
        ).fetchall()
    }
    money = Decimal
    # east: 1,000.00 collected 4 days into the placement: 15% + 5% speed bonus
    assert rows["east"] == (1, 0, 0, 0, 0, money("1000.00"), 0, money("200.00"))
    # C2's money and cure go to the visit agent (VISIT before CALL); 3% of 333.33 = 9.9999
    assert rows["f1"] == (1, 1, 1, 1, 1, money("333.33"), 1, money("10.00"))
    # a1 reached C2 by phone, but the money is credited once
    assert rows["a1"] == (1, 1, 1, 0, 0, money("0.00"), 0, money("0.00"))


FIELD = Allocation.model_validate(
    {
        "version": "field-1",
        "teams": {
            "phone": {"channels": ["CALL"], "agents": [{"agent_id": "a1"}]},
            "field": {"channels": ["VISIT"], "agents": [{"agent_id": "f1"}]},
        },
    }
)
# Two neighbourhoods far apart, listed alternately: the grouped (postal code) order is given
# postal codes that make it zigzag, so the solver has a shorter path to find.
SPOTS = [
    ("V1", "200001", "31.2000", "121.4000"),
    ("V2", "200002", "31.3000", "121.6000"),
    ("V3", "200003", "31.2010", "121.4010"),
    ("V4", "200004", "31.3010", "121.6010"),
    ("V5", "200005", "31.2020", "121.4020"),
]


def _field_book(located: bool) -> Book:
    book = Book.new()
    for customer, postal, lat, lon in SPOTS:
        book.customer(customer).loan(f"L{customer}", customer, dpd=70, overdue=6000)
        book.con.execute(
            "update work.customers set postal_code = $p, latitude = $lat, longitude = $lon "
            "where customer_id = $c",
            {
                "p": postal,
                "lat": lat if located else None,
                "lon": lon if located else None,
                "c": customer,
            },
        )
    book.run()
    return book


def _visit_order(book: Book) -> list[str]:
    return [
        c
        for (c,) in book.rows(
            "select customer_id from work.collection_actions where channel = 'VISIT' "
            "order by visit_sequence"
        )
    ]


def test_visit_sequence_grouped_then_routed():
    grouped = _field_book(located=False)
    counts = allocate_night(grouped.con, grouped.day, FIELD)
    assert counts["routes_solved"] == 0
    assert _visit_order(grouped) == ["V1", "V2", "V3", "V4", "V5"]

    routed = _field_book(located=True)
    counts = allocate_night(routed.con, routed.day, FIELD)
    assert counts["routes_solved"] == 1
    order = _visit_order(routed)
    # one neighbourhood, then the other: a single long hop instead of four
    sides = ["south" if c in ("V1", "V3", "V5") else "north" for c in order]
    assert (
        sides.count("south") == 3
        and sum(a != b for a, b in zip(sides, sides[1:], strict=False)) == 1
    )
    numbers = [
        n
        for (n,) in routed.rows(
            "select visit_sequence from work.collection_actions where channel = 'VISIT' order by 1"
        )
    ]
    assert numbers == [1, 2, 3, 4, 5]
    assert not routed.rows(
        "select 1 from work.collection_actions "
        "where channel <> 'VISIT' and visit_sequence is not null"
    )
