"""The order of an agent's field visits for the day (CONTRACT section 11).

Visits are first grouped by branch and postal code, then by priority: the order a field agent
gets when the customers carry no coordinates, and the fallback. When every visit of the agent
has latitude and longitude, OR-Tools' routing solver orders them as one open path (the agent
starts at any visit and ends at any other) that shortens the great-circle distance, within a
time limit; the grouped order stands when it finds no solution in that time.

Coordinates are personal data: they come from the run's clear customers (work.customers) into
this process's memory and leave it only as a sequence number.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_000


@dataclass(frozen=True)
class Visit:
    action_id: str
    branch: str
    postal_code: str
    priority: int
    latitude: float | None = None
    longitude: float | None = None

    @property
    def located(self) -> bool:
        return self.latitude is not None and self.longitude is not None


def grouped(visits: Sequence[Visit]) -> list[Visit]:
    """Branch, postal code, then priority: the order without a solver."""
    return sorted(visits, key=lambda v: (v.branch, v.postal_code, v.priority, v.action_id))


def metres(a: Visit, b: Visit) -> int:
    """Great-circle distance in whole metres (the solver works on integers)."""
    assert a.latitude is not None and a.longitude is not None
    assert b.latitude is not None and b.longitude is not None
    p1, p2 = math.radians(a.latitude), math.radians(b.latitude)
    dp, dl = p2 - p1, math.radians(b.longitude - a.longitude)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return round(2 * EARTH_RADIUS_M * math.asin(math.sqrt(h)))


def path_length(visits: Sequence[Visit]) -> int:
    return sum(metres(a, b) for a, b in zip(visits, visits[1:], strict=False))


def solve(visits: Sequence[Visit], time_limit_seconds: float) -> list[Visit] | None:
    """The visits ordered by OR-Tools (an open path), or None without a solution in time."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    # Node 0 is a depot at distance 0 from every visit: a closed tour through it is an open path.
    n = len(visits) + 1
    matrix = [[0] * n for _ in range(n)]
    for i, a in enumerate(visits, start=1):
        for j, b in enumerate(visits, start=1):
            if i < j:
                matrix[i][j] = matrix[j][i] = metres(a, b)
    manager = pywrapcp.RoutingIndexManager(n, 1, 0)
    model = pywrapcp.RoutingModel(manager)

    def distance(from_index: int, to_index: int) -> int:
        return matrix[manager.IndexToNode(from_index)][manager.IndexToNode(to_index)]

    model.SetArcCostEvaluatorOfAllVehicles(model.RegisterTransitCallback(distance))
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.time_limit.FromMilliseconds(max(1, int(time_limit_seconds * 1000)))
    solution = model.SolveWithParameters(params)
    if solution is None:
        return None
    order = []
    index = solution.Value(model.NextVar(model.Start(0)))
    while not model.IsEnd(index):
        order.append(visits[manager.IndexToNode(index) - 1])
        index = solution.Value(model.NextVar(index))
    return order if len(order) == len(visits) else None


Solver = Callable[[Sequence[Visit], float], "list[Visit] | None"]


@dataclass
class Budget:
    """The night's time for the solver: past it, agents keep the grouped order."""

    total_seconds: float
    per_agent_seconds: float
    started: float = 0.0
    solved: int = 0
    fell_back: int = 0

    def __post_init__(self) -> None:
        self.started = time.monotonic()

    def left(self) -> float:
        return self.total_seconds - (time.monotonic() - self.started)


def sequence(visits: Sequence[Visit], budget: Budget, solver: Solver = solve) -> list[Visit]:
    """One agent's visits in the order to make them."""
    order = grouped(visits)
    if len(order) < 3 or not all(v.located for v in order):
        return order
    limit = min(budget.per_agent_seconds, budget.left())
    routed = solver(order, limit) if limit > 0 else None
    if routed is None:
        budget.fell_back += 1
        return order
    budget.solved += 1
    # A local optimum of the solver is never kept when longer than the grouped order.
    return routed if path_length(routed) <= path_length(order) else order
