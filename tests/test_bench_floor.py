"""The benchmark's floors do the same core work as the steps they are compared with."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from fixtures.pii_support import TEST_KEY

from arrears import commit, ingest, state, warehouse
from arrears.aging import build_aging, load_aging_config
from arrears.generate import generate_landing
from arrears.pii.sealing import seal_table
from arrears.publish import publish_outbox
from arrears.settings import Settings
from arrears.strategy import decide, load_strategy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import floor  # noqa: E402

START = date(2025, 6, 1)
COMPARED = (
    "dpd, bucket, aging_term, loan_class, ifrs9_stage, transition, overdue_principal_amount, "
    "overdue_interest_amount, overdue_fees_amount, overdue_amount"
)


@pytest.fixture(scope="module")
def aged_book(tmp_path_factory):
    """Three days of a generated book: two committed, the third aged in work.*."""
    root = tmp_path_factory.mktemp("floor")
    generate_landing(root / "landing", START, 3, 3000, seed=11, fmt="csv")
    config = load_aging_config()
    settings = Settings()
    strategy = load_strategy(settings.strategy, settings.profile)
    con = warehouse.connect(root / "arrears.duckdb")
    for k in range(3):
        day = START + timedelta(days=k)
        warehouse.clear_work(con)
        ingest.ingest(con, day, root / "landing")
        build_aging(con, day, config)
        if k < 2:
            decide(con, day, strategy, settings.timezone)
            state.build(con, day, state.previous_snapshot(con, day))
            seal_table(con, "work.customers", TEST_KEY)
            commit.commit(con, day)
    yield con, day, config, root
    con.close()


def test_age_floor_computes_what_the_age_step_computes(aged_book):
    con, day, config, _ = aged_book
    floor.reset(con)
    loans = floor.age(con, day, config)
    step = con.execute(f"select loan_id, {COMPARED} from work.loan_aging order by 1").fetchall()
    base = con.execute(f"select loan_id, {COMPARED} from floor.loan_aging order by 1").fetchall()
    assert loans == len(step) > 2000
    assert base == step
    # The book has every kind of row the comparison is about.
    kinds = {row[6] for row in step}
    assert {"NEW", "STAY", "ROLL_FORWARD", "CLOSED"} <= kinds
    assert any(row[1] > 30 for row in step)


def test_publish_floor_writes_the_files_the_step_writes(aged_book):
    con, day, _, root = aged_book
    published = day - timedelta(days=1)  # the last committed snapshot
    action_date = published + timedelta(days=1)
    channels = ("letter", "visit")
    manifest = publish_outbox(con, action_date, root / "outbox", "run", channels, key=TEST_KEY)
    floor.publish(con, published, root / "floor-outbox", channels, key=TEST_KEY)
    step_files = sorted(p.name for p in (root / "outbox" / action_date.isoformat()).iterdir())
    floor_files = sorted(p.name for p in (root / "floor-outbox").iterdir())
    assert [f for f in step_files if f != "_manifest.json"] == floor_files
    assert sum(f.rows for f in manifest.files) > 50
    for name in floor_files:
        step_path = root / "outbox" / action_date.isoformat() / name
        base_path = root / "floor-outbox" / name
        if name.endswith(".schema.json"):
            assert step_path.read_bytes() == base_path.read_bytes(), name
            continue
        if name.endswith(".parquet"):
            query = "select * from read_parquet($p)"
        else:  # the step renders lists and local times its own way: same rows and columns
            query = "select count(*), count(distinct customer_id) from read_csv($p)"
        step, base = (
            con.execute(query, {"p": str(path)}).fetchall() for path in (step_path, base_path)
        )
        assert step == base, name


def test_validate_floor_runs_the_suites_checks_on_a_real_book(aged_book):
    con, day, _, _ = aged_book
    rows = floor.validate_landed(con, day)
    landed = sum(
        warehouse.count(con, f"work.{name}")
        for name in (
            "loans",
            "installments",
            "customers",
            "arrangements",
            "contact_events",
            "holds",
            "bureau",
        )
    )
    assert rows == landed > 30000
