"""Allocation in the nightly flow: three generated nights with the example allocation (teams
with daily limits, two agencies). Capacity holds, placements carry from night to night, the
state folds back the same, agency files are in the outbox set, and no personal value
(coordinates included) reaches a mart, a report or a file that may not carry it."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from fixtures.reliability_support import (
    CHANNEL_ALLOWED,
    PersonalScanner,
    outbox_texts,
    personal_values,
    table_texts,
)

from arrears import state, warehouse
from arrears.allocation.config import load_allocation
from arrears.generate import generate_landing
from arrears.publish.manifest import verify_outbox
from arrears.settings import Settings

pytestmark = pytest.mark.integration

START = date(2025, 6, 1)
DAYS = 3
EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "allocation.yaml"


@pytest.fixture(scope="module")
def night(tmp_path_factory, prefect_harness) -> Settings:
    from flows.daily_collections import daily_collections

    root = tmp_path_factory.mktemp("allocation")
    generate_landing(root / "landing", START, DAYS, loans=600, seed=5)
    # the example's teams with small limits, so that a small book fills them
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    for team in document["teams"].values():
        for agent in team["agents"]:
            if "daily_capacity" in agent:
                agent["daily_capacity"] = 3
    allocation = root / "allocation.yaml"
    allocation.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    settings = Settings(
        landing=root / "landing",
        warehouse=root / "data" / "arrears.duckdb",
        outbox=root / "outbox",
        reports=root / "reports",
        allocation=allocation,
        init=True,
    )
    for i in range(DAYS):
        daily_collections(snapshot_date=START + timedelta(days=i), settings=settings)
    return settings


def rows(settings: Settings, query: str) -> list[tuple]:
    with warehouse.opened(settings.warehouse, read_only=True) as con:
        return con.execute(query).fetchall()


def test_every_worked_action_has_an_assignee_within_capacity(night):
    unassigned = rows(
        night,
        "select channel, count(*) filter (where assignee_id is null), "
        "count(*) filter (where assignee_id is not null) from marts.collection_actions group by 1",
    )
    for channel, without, with_ in unassigned:
        if channel in ("CALL", "VISIT", "LEGAL"):
            assert without == 0, channel
        else:
            assert with_ == 0, channel
    capacity = {
        agent_id: agent.daily_capacity
        for _, agent_id, _, agent in load_allocation(night.allocation).agents()
    }
    loads = rows(
        night,
        "select action_date, assignee_id, count(*) from marts.collection_actions "
        "where assignee_kind = 'AGENT' group by all",
    )
    assert any(capacity[who] is not None and n == capacity[who] for _, who, n in loads)
    assert all(capacity[who] is None or n <= capacity[who] for _, who, n in loads)
    deferred = rows(
        night,
        "select count(*) from marts.suppressed_actions "
        "where reason = 'CAPACITY' and detail like '%agents for%'",
    )
    assert deferred[0][0] > 0
    assert rows(night, "select count(*) from marts.assignments where assignee_kind = 'AGENCY'")[0][
        0
    ]


def test_an_assignee_changes_only_with_an_event(night):
    changed = rows(
        night,
        """
        select count(*)
        from marts.collection_actions as later
        inner join marts.collection_actions as earlier
            on earlier.customer_id = later.customer_id
            and earlier.channel = later.channel
            and earlier.action_date = later.action_date - 1
        where later.assignee_id <> earlier.assignee_id
            and not exists (
                select 1 from marts.assignments as ended
                where ended.action_date = later.action_date
                    and ended.customer_id = later.customer_id
                    and ended.channel = later.channel
                    and ended.recalled_date is not null
            )
        """,
    )
    assert changed == [(0,)]
    kept = rows(
        night,
        """
        select count(*)
        from marts.collection_actions as later
        inner join marts.collection_actions as earlier
            on earlier.customer_id = later.customer_id
            and earlier.channel = later.channel
            and earlier.action_date = later.action_date - 1
            and earlier.assignee_id = later.assignee_id
        """,
    )
    assert kept[0][0] > 0


def test_the_state_folds_back_from_the_placements(night, tmp_path):
    copy = tmp_path / "copy.duckdb"
    shutil.copy(night.warehouse, copy)
    last = START + timedelta(days=DAYS - 1)
    query = (
        "select customer_id, channel, assignee_kind, assignee_id, placed_date "
        "from marts.assignment_state where snapshot_date = $d order by all"
    )
    with warehouse.opened(copy) as con:
        before = con.execute(query, {"d": last}).fetchall()
        state.rebuild(con)
        after = con.execute(query, {"d": last}).fetchall()
    assert before and after == before


def test_agency_files_are_in_the_manifest(night):
    placed = rows(
        night,
        "select action_date, assignee_id, count(distinct customer_id) from marts.assignments "
        "where assignee_kind = 'AGENCY' and recalled_date is null group by all",
    )
    assert placed
    for action_date, agency_id, customers in placed:
        folder = night.outbox / action_date.isoformat()
        manifest = verify_outbox(folder)
        entry = manifest.file(f"agency/{agency_id}.parquet")
        assert entry.channel == "AGENCY" and entry.rows >= customers
        names = rows(
            night,
            f"select count(*) from read_parquet('{folder / 'agency' / f'{agency_id}.parquet'}') "
            "where event = 'PLACED' and full_name is not null",
        )
        assert names == [(customers,)]


def test_no_personal_value_outside_where_it_may_be(night):
    values = personal_values(night.landing)
    assert values["latitude"] and values["longitude"]
    scanner = PersonalScanner(values)
    leaks = []
    for table, text in table_texts(night.warehouse):
        if hits := scanner.find(text):
            leaks.append(f"{table}: {hits}")
    for channel, name, text in outbox_texts(night.outbox):
        if hits := scanner.find(text, allowed=CHANNEL_ALLOWED[channel]):
            leaks.append(f"{name}: {hits}")
    for path in night.reports.rglob("*.html"):
        if hits := scanner.find(path.read_text(encoding="utf-8")):
            leaks.append(f"{path}: {hits}")
    assert not leaks, "\n".join(leaks)
    # the scan sees coordinates where they are in clear: the landed customers files
    landed = (night.landing / START.isoformat() / "customers.csv").read_text(encoding="utf-8")
    assert scanner.find(landed).get("latitude")
    report = night.reports / (START + timedelta(days=DAYS - 1)).isoformat() / "report.html"
    assert "League table" in report.read_text(encoding="utf-8")
