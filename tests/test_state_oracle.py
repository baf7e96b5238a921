"""The state-based nights equal a recomputation from the full history, mart row by mart row and
outbox file by file, over 35 consecutive generated days.

The oracle is the pipeline as it was before state was carried: the models that read history
(tests/sql/history/, kept here as the test oracle and not in the product) replace their
state-reading versions in a copy of sql/. Both pipelines run the same steps on the same landing
folders; every mart and every published file must come out identical.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from fixtures.pii_support import TEST_KEY
from polars.testing import assert_frame_equal

from arrears import commit, ingest, registry, sqlfiles, state, warehouse
from arrears.aging import build_aging, load_aging_config
from arrears.generate import generate_landing
from arrears.pii.sealing import seal_table
from arrears.publish import publish_outbox
from arrears.report.kpis import build_kpi_variants
from arrears.settings import Settings
from arrears.strategy import decide, load_strategy

START = date(2025, 5, 20)
DAYS = 35
HISTORY_SQL = Path(__file__).parent / "sql" / "history"
MARTS = (
    "loan_aging",
    "kpi_daily",
    "roll_rates",
    "arrangement_status",
    "collection_actions",
    "suppressed_actions",
    "kpi_variants",
    "skip_trace",
)


def use_sql_root(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    for module in (sqlfiles, registry, warehouse):
        if hasattr(module, "sql_root"):
            monkeypatch.setattr(module, "sql_root", lambda root=root: root)
    for cached in (sqlfiles.sql_text, registry.models):
        cached.cache_clear()


def run_nights(folder: Path, landing: Path) -> None:
    settings = Settings(landing=landing, warehouse=folder / "w.duckdb", outbox=folder / "outbox")
    aging = load_aging_config(settings.aging)
    strategy = load_strategy(settings.strategy, settings.profile)
    key = TEST_KEY
    with warehouse.opened(settings.warehouse) as con:
        for k in range(DAYS):
            day = START + timedelta(days=k)
            warehouse.clear_work(con)
            ingest.ingest(con, day, landing)
            # the oracle compares phones and addresses with the clear copies of every night
            # (raw.customers holds them sealed): a test-only table beside it
            con.execute(
                "create table if not exists raw.oracle_customers as "
                "select * from work.customers limit 0"
            )
            con.execute("delete from raw.oracle_customers where snapshot_date = $d", {"d": day})
            con.execute("insert into raw.oracle_customers select * from work.customers")
            build_aging(con, day, aging)
            decide(con, day, strategy, settings.timezone)
            build_kpi_variants(con, day)
            state.build(con, day, state.previous_snapshot(con, day))
            seal_table(con, "work.customers", key)
            commit.commit(con, day)
            publish_outbox(
                con,
                day + timedelta(days=1),
                settings.outbox,
                f"run-{day}",
                settings.csv_channels,
                settings.csv_encoding,
                key=key,
            )


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("oracle")
    landing = root / "landing"
    generate_landing(landing, START, DAYS, 400, seed=23, fmt="csv")
    run_nights(root / "state", landing)

    oracle_sql = root / "oracle-sql"
    shutil.copytree(sqlfiles.sql_root(), oracle_sql)
    for model in HISTORY_SQL.rglob("*.sql"):
        shutil.copyfile(model, oracle_sql / model.relative_to(HISTORY_SQL))
    with pytest.MonkeyPatch.context() as patch:
        use_sql_root(patch, oracle_sql)
        # the oracle's models read the history, not the state
        assert "marts.loan_aging" in registry.models()["int_loans__previous"].reads
        try:
            run_nights(root / "history", landing)
        finally:
            for cached in (sqlfiles.sql_text, registry.models):
                cached.cache_clear()
    return root / "state", root / "history"


def frame(folder: Path, table: str) -> pl.DataFrame:
    with warehouse.opened(folder / "w.duckdb", read_only=True) as con:
        df = con.sql(f"select * from marts.{table}").pl()
    return df.sort([c for c in df.columns if df.schema[c] != pl.List]) if df.height else df


@pytest.mark.integration
@pytest.mark.parametrize("table", MARTS)
def test_every_mart_row_equals_the_recomputation_from_history(nights, table) -> None:
    by_state, by_history = nights
    expected = frame(by_history, table)
    assert expected.height, f"marts.{table} is empty: the book exercises nothing"
    assert_frame_equal(frame(by_state, table), expected)


@pytest.mark.integration
def test_every_outbox_file_equals_the_recomputation_from_history(nights) -> None:
    by_state, by_history = nights
    files = sorted(p.relative_to(by_history / "outbox") for p in (by_history / "outbox").rglob("*"))
    assert sorted(p.relative_to(by_state / "outbox") for p in (by_state / "outbox").rglob("*")) == (
        files
    )
    for name in files:
        left, right = by_state / "outbox" / name, by_history / "outbox" / name
        if left.is_dir():
            continue
        if name.name == "_manifest.json":
            a, b = json.loads(left.read_text()), json.loads(right.read_text())
            a.pop("generated_at"), b.pop("generated_at")
            assert a == b, name
        else:
            assert left.read_bytes() == right.read_bytes(), name


@pytest.mark.integration
def test_the_book_exercises_what_the_state_carries(nights) -> None:
    by_state, _ = nights
    with warehouse.opened(by_state / "w.duckdb", read_only=True) as con:
        counts = dict(
            con.execute(
                "select 'legal', count(*) from marts.collection_actions where channel = 'LEGAL' "
                "union all select 'broken', count(*) from marts.arrangement_status "
                "where status = 'BROKEN' "
                "union all select 'kept', count(*) from marts.arrangement_status "
                "where status = 'KEPT' "
                "union all select 'pre_due', count(*) from marts.collection_actions "
                "where stage = 'PRE_DUE' "
                "union all select 'cured', count(*) from marts.loan_aging "
                "where transition = 'CURE' "
                "union all select 'calls', count(*) from marts.contact_history "
                "where channel = 'CALL' "
                "union all select 'versions', count(distinct snapshot_date) from marts.loan_state"
            ).fetchall()
        )
    assert all(counts[k] > 0 for k in ("broken", "kept", "pre_due", "cured", "calls")), counts
    # the commit keeps the state of the last nights only (and the one before, which the
    # rerun of the oldest of them reads)
    assert counts["versions"] == state.DEFAULT_KEEP_NIGHTS + 1


@pytest.mark.integration
def test_the_book_exercises_the_outcome_rules(nights) -> None:
    by_state, _ = nights
    with warehouse.opened(by_state / "w.duckdb", read_only=True) as con:
        reasons = dict(
            con.execute(
                "select reason, count(*) from marts.suppressed_actions "
                "where reason in ('BAD_PHONE', 'BAD_ADDRESS', 'HOLD_DISPUTE', 'PROMISE_GRACE') "
                "group by reason"
            ).fetchall()
        )
        # a phone reported bad, then replaced, and used again
        used_again = warehouse.scalar(
            con,
            "with blocked as (select customer_id, min(action_date) as first_date "
            "from marts.suppressed_actions where reason = 'BAD_PHONE' group by customer_id) "
            "select count(distinct blocked.customer_id) from blocked "
            "inner join marts.collection_actions as actions "
            "on actions.customer_id = blocked.customer_id "
            "and actions.channel in ('SMS', 'CALL') and actions.action_date > blocked.first_date",
        )
        traced = warehouse.count(con, "marts.skip_trace")
    assert set(reasons) == {"BAD_PHONE", "BAD_ADDRESS", "HOLD_DISPUTE", "PROMISE_GRACE"}, reasons
    assert used_again > 0 and traced > 0
