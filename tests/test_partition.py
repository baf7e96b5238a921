"""Partitioned age + decide gives the single-process results, row for row."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal
from risk_support import write_history

from arrears import commit, ingest, partition, state, warehouse
from arrears.aging import build_aging, load_aging_config
from arrears.errors import ConfigError
from arrears.generate import generate_landing
from arrears.risk.train import Training, train
from arrears.settings import DEFAULTS_DIR, Settings
from arrears.strategy import decide, load_strategy

START = date(2025, 6, 1)
TIMEZONE = "Asia/Shanghai"
# Every table the age and decide steps hand to commit.
RESULTS = (
    "loan_aging",
    "kpi_daily",
    "roll_rates",
    "arrangement_status",
    "collection_actions",
    "suppressed_actions",
)


def frame(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    df = con.sql(f"select * from {table}").pl()
    return df.sort(df.columns) if df.height else df


def strategy_with_capacity(
    tmp_path: Path, capacity: dict[str, int], model: str | None = None
) -> Path:
    """The default strategy with small daily capacities, so the global cut decides rows (and
    with `model` as risk.model)."""
    raw = yaml.safe_load((DEFAULTS_DIR / "strategy.yaml").read_text(encoding="utf-8"))
    raw["capacity"] = capacity
    raw["risk"]["model"] = model
    path = tmp_path / "strategy.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def test_partition_of_agrees_with_the_sql_rule():
    con = duckdb.connect()
    ids = [f"CU{i:07d}" for i in range(500)] + ["", "客户-1"]
    rows = con.execute(
        f"select id, {partition.PART_SQL.format(column='id')} from unnest($ids) t(id)",
        {"ids": ids, "partitions": 7},
    ).fetchall()
    assert {cid: part for cid, part in rows} == {cid: partition.partition_of(cid, 7) for cid in ids}
    assert {part for _, part in rows} == set(range(7))


def move_loans_to_other_customers(folder: Path, partitions: int) -> int:
    """Give every 7th loan of the day's file a customer of another partition; returns how many.

    Such a loan's history lies under its former customer, in that customer's partition.
    """
    loans = pl.read_csv(folder / "loans.csv", infer_schema=False)
    customers = loans["customer_id"].unique().sort().to_list()

    def elsewhere(customer_id: str) -> str:
        home = partition.partition_of(customer_id, partitions)
        return next(c for c in customers if partition.partition_of(c, partitions) != home)

    moved = (
        loans.with_row_index()
        .with_columns(
            pl.when(pl.col("index") % 7 == 0)
            .then(pl.col("customer_id").map_elements(elsewhere, return_dtype=pl.String))
            .otherwise(pl.col("customer_id"))
            .alias("customer_id")
        )
        .drop("index")
    )
    moved.write_csv(folder / "loans.csv")
    return int((moved["customer_id"] != loans["customer_id"]).sum())


def assert_withheld_from(exchange: Path, customers_csv: Path) -> None:
    """No personal value of the landed customers is in the exchange folder's bytes (a scan of
    the Parquet cells too: tests/test_privacy_partition_exchange.py)."""
    landed = pl.read_csv(customers_csv, infer_schema_length=0)
    blobs = b"".join(p.read_bytes() for p in exchange.rglob("*") if p.is_file())
    assert blobs
    # Postal codes and coordinates are short numbers, which raw bytes can hold by chance: the
    # Parquet cell scan of tests/test_privacy_partition_exchange.py looks for them as tokens.
    for column in ("full_name", "national_id", "phone", "email", "address"):
        assert column in partition.WITHHELD["customers"]
        values = [v for v in landed[column].to_list() if v]
        assert values
        found = [v for v in values if v.encode() in blobs]
        assert not found, f"{len(found)} values of {column} in the exchange folder"
    # the cities, which do go there, are seen by the scan
    assert any(v.encode() in blobs for v in landed["city"].to_list() if v)


def test_partitioned_age_and_decide_equal_the_single_process_run(tmp_path: Path):
    landing = tmp_path / "landing"
    generate_landing(landing, START, 3, loans=300, seed=5)
    assert move_loans_to_other_customers(landing / (START + timedelta(days=1)).isoformat(), 3)
    strategy = load_strategy(
        strategy_with_capacity(tmp_path, {"CALL": 12, "SMS": 5, "LETTER": 2}), "cn"
    )
    aging = load_aging_config()
    single = warehouse.connect(tmp_path / "single.duckdb")
    parted = warehouse.connect(tmp_path / "parted.duckdb")
    cut = 0
    for k in range(3):
        snapshot_date = START + timedelta(days=k)
        for con in (single, parted):
            ingest.ingest(con, snapshot_date, landing)
        build_aging(single, snapshot_date, aging)
        decide(single, snapshot_date, strategy, TIMEZONE)

        exchange = tmp_path / "exchange" / snapshot_date.isoformat()
        plans = partition.export_partitions(parted, snapshot_date, 3, exchange)
        assert_withheld_from(exchange, landing / snapshot_date.isoformat() / "customers.csv")
        computed = [partition.compute_partition(plan, aging, strategy, TIMEZONE) for plan in plans]
        assert all(c["loan_aging"] for c in computed), "a partition got no loans"
        partition.merge_partitions(parted, plans, aging, strategy, TIMEZONE)

        for table in RESULTS:
            assert_frame_equal(frame(parted, f"work.{table}"), frame(single, f"work.{table}"))
        cut += warehouse.scalar(
            single, "select count(*) from work.suppressed_actions where reason = 'CAPACITY'"
        )
        for con in (single, parted):
            # the flow's carry-state step, then its commit
            state.build(con, snapshot_date, state.previous_snapshot(con, snapshot_date))
        for table in state.STATE_MODELS:
            assert_frame_equal(frame(parted, f"work.{table}"), frame(single, f"work.{table}"))
        for con in (single, parted):
            commit.commit(con, snapshot_date)
    # The capacity cut spans partitions: without the global ranking these rows would differ.
    assert cut > 0


def test_a_partition_without_loans_yields_empty_results(tmp_path: Path):
    landing = tmp_path / "landing"
    generate_landing(landing, START, 1, loans=3, seed=5)
    con = warehouse.connect(tmp_path / "w.duckdb")
    ingest.ingest(con, START, landing)
    plans = partition.export_partitions(con, START, 6, tmp_path / "exchange")
    counts = [
        partition.compute_partition(
            plan, load_aging_config(), load_strategy(DEFAULTS_DIR / "strategy.yaml", "cn"), TIMEZONE
        )["loan_aging"]
        for plan in plans
    ]
    assert counts.count(0) >= 3 and sum(counts) == warehouse.count(con, "work.loans")


@pytest.mark.integration
def test_partitioned_flow_on_dask_equals_the_single_process_flow(prefect_harness, tmp_path):
    from flows.daily_collections import daily_collections

    landing = tmp_path / "landing"
    generate_landing(landing, START, 2, loans=300, seed=5)
    strategy = strategy_with_capacity(tmp_path, {"CALL": 12, "SMS": 5})

    def settings(name: str, **extra: object) -> Settings:
        return Settings(
            landing=landing,
            warehouse=tmp_path / name / "arrears.duckdb",
            outbox=tmp_path / name / "outbox",
            reports=tmp_path / name / "reports",
            strategy=strategy,
            **extra,
        )

    single, parted = settings("single"), settings("parted", partitions=3)
    for k in range(2):
        snapshot_date = START + timedelta(days=k)
        daily_collections(snapshot_date=snapshot_date, settings=single)
        result = daily_collections(snapshot_date=snapshot_date, settings=parted)
        assert result["rows"]["age"]["loan_aging"] > 0

    with (
        warehouse.opened(single.warehouse, read_only=True) as a,
        warehouse.opened(parted.warehouse, read_only=True) as b,
    ):
        for table in RESULTS:
            assert_frame_equal(frame(b, f"marts.{table}"), frame(a, f"marts.{table}"))
    # The exchange folder holds personal data: gone once merged.
    assert not any((tmp_path / "parted" / "arrears.duckdb.partitions").rglob("*.parquet"))


def trained_model(tmp_path: Path) -> tuple[str, Path]:
    """A roll-forward model trained on a generated history (tests/risk_support.py)."""
    models = tmp_path / "models"
    with warehouse.opened(tmp_path / "history.duckdb") as con:
        nights = write_history(con, 1500, date(2025, 1, 6), 24)
        buckets = tuple(b.label for b in load_aging_config().buckets)
        trained = train(con, Training(nights[0], nights[-1], buckets, auc_floor=0.6), models)
    return trained.version, models


def test_partitioned_runs_score_with_the_saved_model(tmp_path: Path):
    version, models = trained_model(tmp_path)
    landing = tmp_path / "landing"
    generate_landing(landing, START, 93, loans=300, seed=5)
    # The compared nights look back to committed nights 30, 60 and 90 days before them.
    history = [START, START + timedelta(days=30), START + timedelta(days=60)]
    nights = [START + timedelta(days=90 + k) for k in range(3)]
    assert move_loans_to_other_customers(landing / nights[1].isoformat(), 3)
    aging = load_aging_config()
    with warehouse.opened(tmp_path / "single.duckdb") as con:
        plain = load_strategy(DEFAULTS_DIR / "strategy.yaml", "cn")
        for snapshot_date in history:
            ingest.ingest(con, snapshot_date, landing)
            build_aging(con, snapshot_date, aging)
            decide(con, snapshot_date, plain, TIMEZONE)
            state.build(con, snapshot_date, state.previous_snapshot(con, snapshot_date))
            commit.commit(con, snapshot_date)
    (tmp_path / "parted.duckdb").write_bytes((tmp_path / "single.duckdb").read_bytes())

    strategy = load_strategy(
        strategy_with_capacity(tmp_path, {"CALL": 12, "SMS": 5, "LETTER": 2}, version), "cn"
    )
    single = warehouse.connect(tmp_path / "single.duckdb")
    parted = warehouse.connect(tmp_path / "parted.duckdb")
    for snapshot_date in nights:
        for con in (single, parted):
            ingest.ingest(con, snapshot_date, landing)
        build_aging(single, snapshot_date, aging)
        decide(single, snapshot_date, strategy, TIMEZONE, models)

        exchange = tmp_path / "exchange" / snapshot_date.isoformat()
        plans = partition.export_partitions(parted, snapshot_date, 3, exchange, scoring=True)
        lookback = plans[0].lookback
        assert lookback == dict(zip(partition.LOOKBACK, reversed(history), strict=True))
        # a partition gets its own loans' rows of the three look-back nights, and of other
        # nights only those of arrangements measured for the first time
        owners = dict(parted.execute("select loan_id, customer_id from work.loans").fetchall())
        arranged = {
            loan for (loan,) in parted.execute("select loan_id from work.arrangements").fetchall()
        }
        looked_back = 0
        for plan in plans:
            for night, loan in parted.execute(
                "select snapshot_date, loan_id from read_parquet($files)",
                {"files": [str(f) for f in plan.inputs("marts.loan_aging")]},
            ).fetchall():
                if loan not in arranged:
                    assert night in lookback.values()
                    assert partition.partition_of(owners[loan], 3) == plan.partition
                looked_back += night == lookback["night_90d_before"]
        assert looked_back
        computed = [
            partition.compute_partition(plan, aging, strategy, TIMEZONE, models_dir=models)
            for plan in plans
        ]
        assert all(c["loan_aging"] for c in computed), "a partition got no loans"
        partition.merge_partitions(parted, plans, aging, strategy, TIMEZONE)

        # the look-backs are there to read, and the model tells the loans apart by them
        scored, distinct, looked_back = single.execute(
            "select count(*), count(distinct scores.risk_score), count(features.dpd_90d_before) "
            "from work.strategy_model_scores as scores "
            "inner join work.int_loans__risk_features as features using (loan_id)"
        ).fetchall()[0]
        assert looked_back > scored / 2 and distinct > scored / 2
        assert single.execute(
            "select distinct model_version from work.collection_actions"
        ).fetchall() == [(version,)]
        for table in RESULTS:
            assert_frame_equal(frame(parted, f"work.{table}"), frame(single, f"work.{table}"))
        for con in (single, parted):
            state.build(con, snapshot_date, state.previous_snapshot(con, snapshot_date))
            commit.commit(con, snapshot_date)
    for con in (single, parted):
        assert warehouse.scalar(
            con,
            "select count(*) from marts.collection_actions "
            "where model_version = $v and snapshot_date >= $d",
            {"v": version, "d": nights[0]},
        )
    single.close()
    parted.close()


def test_a_model_needs_the_look_back_nights_in_the_exchange(tmp_path: Path):
    landing = tmp_path / "landing"
    generate_landing(landing, START, 1, loans=30, seed=5)
    con = warehouse.connect(tmp_path / "w.duckdb")
    ingest.ingest(con, START, landing)
    plans = partition.export_partitions(con, START, 2, tmp_path / "exchange")
    assert partition.load_plan(tmp_path / "exchange", 0).lookback is None
    strategy = load_strategy(strategy_with_capacity(tmp_path, {}, "roll-20250101-deadbeef"), "cn")
    with pytest.raises(ConfigError, match="look-back nights"):
        partition.compute_partition(
            plans[0], load_aging_config(), strategy, TIMEZONE, models_dir=tmp_path
        )


@pytest.mark.integration
def test_partitioned_flow_scores_with_the_models_folder_of_its_settings(prefect_harness, tmp_path):
    from flows.daily_collections import daily_collections

    version, models = trained_model(tmp_path)
    landing = tmp_path / "landing"
    generate_landing(landing, START, 1, loans=300, seed=5)
    strategy = strategy_with_capacity(tmp_path, {"CALL": 12, "SMS": 5}, version)
    for name, partitions in (("single", 1), ("parted", 3)):
        daily_collections(
            snapshot_date=START,
            settings=Settings(
                landing=landing,
                warehouse=tmp_path / name / "arrears.duckdb",
                outbox=tmp_path / name / "outbox",
                reports=tmp_path / name / "reports",
                strategy=strategy,
                models=models,
                partitions=partitions,
            ),
        )
    with (
        warehouse.opened(tmp_path / "single" / "arrears.duckdb", read_only=True) as a,
        warehouse.opened(tmp_path / "parted" / "arrears.duckdb", read_only=True) as b,
    ):
        assert b.execute(
            "select distinct model_version from marts.collection_actions"
        ).fetchall() == [(version,)]
        assert_frame_equal(
            frame(b, "marts.collection_actions"), frame(a, "marts.collection_actions")
        )
