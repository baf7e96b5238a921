"""CONTRACT section 12: `arrears simulate` replays deciding over committed nights with another
strategy and its own cadences, writes nothing to the warehouse or the outbox, and reports per
channel and stage what it would have sent, at what cost, beside what was published."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml
from fixtures.reliability_support import PersonalScanner, personal_values
from retention_support import copy_scene, run_night

from arrears.cli import main
from arrears.generate import generate_landing
from arrears.settings import DEFAULTS_DIR, Settings

START = date(2025, 6, 1)
DAYS = 6


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("simulate")
    generate_landing(root / "landing", START, DAYS, 400)
    settings = Settings(
        landing=root / "landing",
        warehouse=root / "data" / "w.duckdb",
        outbox=root / "outbox",
        archive=root / "archive",
        reports=root / "reports",
        models=root / "models",
    )
    for k in range(DAYS):
        run_night(settings, START + timedelta(days=k))
    return settings


def _files(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _simulate(settings: Settings, strategy: Path, name: str, first: date, last: date) -> int:
    return main(
        [
            "simulate",
            "--strategy",
            str(strategy),
            "--from",
            str(first),
            "--to",
            str(last),
            "--name",
            name,
            "--warehouse",
            str(settings.warehouse),
            "--landing",
            str(settings.landing),
            "--archive",
            str(settings.archive),
        ]
    )


def _candidate(folder: Path, **stage_channels) -> Path:
    document = yaml.safe_load((DEFAULTS_DIR / "strategy.yaml").read_text(encoding="utf-8"))
    document["version"] = "candidate-1"
    for stage, channels in stage_channels.items():
        document["stages"][stage]["channels"].update(channels)
    path = folder / "candidate.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def replayed(scene: Settings, monkeypatch_module) -> dict[str, object]:
    """The published strategy replayed, and a candidate, with the files before and after."""
    monkeypatch_module.setenv("ARREARS_REPORTS", str(scene.reports))
    before = {
        "warehouse": hashlib.sha256(scene.warehouse.read_bytes()).hexdigest(),
        "outbox": _files(scene.outbox),
    }
    first, last = START + timedelta(days=1), START + timedelta(days=DAYS - 1)
    same = _simulate(scene, DEFAULTS_DIR / "strategy.yaml", "same", first, last)
    slower = _candidate(
        scene.reports.parent,
        CALL={"CALL": {"every_days": 2, "template": "early_call"}},
    )
    other = _simulate(scene, slower, "slower-calls", first, last)
    after = {
        "warehouse": hashlib.sha256(scene.warehouse.read_bytes()).hexdigest(),
        "outbox": _files(scene.outbox),
    }
    return {"codes": (same, other), "before": before, "after": after, "dates": (first, last)}


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_simulate_writes_nothing_to_the_warehouse_or_the_outbox(replayed):
    assert replayed["codes"] == (0, 0)
    assert replayed["after"] == replayed["before"]


def test_the_published_strategy_replays_to_the_published_actions(scene, replayed):
    first, last = replayed["dates"]
    simulated = pl.read_parquet(scene.reports / "simulations" / "same" / "actions.parquet")
    con = duckdb.connect(str(scene.warehouse), read_only=True)
    try:
        published = pl.DataFrame(
            pl.from_arrow(
                con.sql(
                    "select * from marts.collection_actions where action_date between $a and $b",
                    params={"a": first + timedelta(days=1), "b": last + timedelta(days=1)},
                ).to_arrow_table()
            )
        )
    finally:
        con.close()
    assert simulated.height == published.height > 100
    key = ["action_date", "channel", "priority"]
    assert_same_actions(simulated, published, key)
    daily = pl.read_parquet(scene.reports / "simulations" / "same" / "daily.parquet")
    assert daily["difference"].abs().sum() == 0


def test_the_candidate_keeps_its_own_cadence(scene, replayed):
    folder = scene.reports / "simulations" / "slower-calls"
    actions = pl.read_parquet(folder / "actions.parquet")
    calls = actions.filter(pl.col("channel") == "CALL").sort("customer_id", "action_date")
    gaps = calls.with_columns(
        (pl.col("action_date") - pl.col("action_date").shift().over("customer_id"))
        .dt.total_days()
        .alias("gap")
    ).filter(pl.col("gap").is_not_null() & (pl.col("stage") == "CALL"))
    # the published strategy calls every day; the candidate every other day, by its own calls
    assert gaps.height > 0
    assert gaps["gap"].min() >= 2
    daily = pl.read_parquet(folder / "daily.parquet")
    called = daily.filter(pl.col("channel") == "CALL")
    # fewer calls than published, and the difference and cost are the counts'
    assert called["simulated"].sum() < called["published"].sum()
    assert (daily["difference"] == daily["simulated"] - daily["published"]).all()
    assert all(
        cost == Decimal("1.20") * n
        for cost, n in called.select("simulated_cost", "simulated").iter_rows()
    )
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["strategy_version"] == "candidate-1"
    assert "CALL" in (folder / "report.html").read_text()


def test_simulation_output_holds_no_personal_data(scene, replayed):
    scanner = PersonalScanner(personal_values(scene.landing))
    for path in (scene.reports / "simulations").rglob("*"):
        if path.suffix == ".parquet":
            text = "\x1f".join(map(str, pl.read_parquet(path).rows()))
        elif path.is_file():
            text = path.read_text(encoding="utf-8")
        else:
            continue
        assert scanner.find(text) == {}, path


def test_simulate_refuses_bad_names_and_empty_ranges(scene, replayed):
    strategy = DEFAULTS_DIR / "strategy.yaml"
    assert _simulate(scene, strategy, "../outside", START, START) == 2
    later = START + timedelta(days=100)
    assert _simulate(scene, strategy, "empty", later, later + timedelta(days=3)) == 2
    assert not (scene.reports / "simulations" / "empty").exists()


def _published(settings: Settings, first: date, last: date) -> pl.DataFrame:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return pl.DataFrame(
            pl.from_arrow(
                con.sql(
                    "select * from marts.collection_actions where action_date between $a and $b",
                    params={"a": first + timedelta(days=1), "b": last + timedelta(days=1)},
                ).to_arrow_table()
            )
        )
    finally:
        con.close()


def test_kept_nights_replay_without_their_landing_files(scene, replayed, tmp_path, monkeypatch):
    """The inputs of a kept night come typed from raw.* (customers opened with the key): with
    its landing folder empty the replay still gives the published actions."""
    first, last = replayed["dates"]
    settings = copy_scene(scene, tmp_path / "copy", landing=tmp_path / "empty-landing")
    for k in range(DAYS):
        (settings.landing / str(START + timedelta(days=k))).mkdir(parents=True)
    monkeypatch.setenv("ARREARS_REPORTS", str(settings.reports))
    assert _simulate(settings, DEFAULTS_DIR / "strategy.yaml", "kept", first, last) == 0
    simulated = pl.read_parquet(settings.reports / "simulations" / "kept" / "actions.parquet")
    published = _published(settings, first, last)
    key = ["action_date", "channel", "priority"]
    assert simulated.height == published.height > 100
    assert_same_actions(simulated, published, key)


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Six nights with two kept in raw.*: the first four are in the archive."""
    root = tmp_path_factory.mktemp("simulate-archived")
    generate_landing(root / "landing", START, DAYS, 300)
    settings = Settings(
        landing=root / "landing",
        warehouse=root / "data" / "w.duckdb",
        outbox=root / "outbox",
        archive=root / "archive",
        reports=root / "reports",
        models=root / "models",
        raw_keep_days=2,
    )
    for k in range(DAYS):
        run_night(settings, START + timedelta(days=k))
    return settings


def test_archived_nights_replay_from_the_archive(archived, monkeypatch):
    monkeypatch.setenv("ARREARS_REPORTS", str(archived.reports))
    first, last = START + timedelta(days=1), START + timedelta(days=DAYS - 1)
    con = duckdb.connect(str(archived.warehouse), read_only=True)
    try:
        kept = {
            d for (d,) in con.execute("select distinct snapshot_date from raw.loans").fetchall()
        }
    finally:
        con.close()
    assert first not in kept and last in kept  # both sources are read
    assert (archived.archive / "loans" / f"snapshot_date={first}" / "data.parquet").exists()
    # the archived datasets come from the archive: their landing files are not read
    for k in range(1, DAYS):
        folder = archived.landing / str(START + timedelta(days=k))
        for path in folder.iterdir():
            if not path.name.startswith("customers"):
                path.unlink()
    assert _simulate(archived, DEFAULTS_DIR / "strategy.yaml", "archived", first, last) == 0
    simulated = pl.read_parquet(archived.reports / "simulations" / "archived" / "actions.parquet")
    published = _published(archived, first, last)
    key = ["action_date", "channel", "priority"]
    assert simulated.height == published.height > 50
    assert_same_actions(simulated, published, key)


def assert_same_actions(simulated: pl.DataFrame, published: pl.DataFrame, key: list[str]) -> None:
    # Who works an action is allocation's, after deciding: a simulation decides, it does not
    # allocate (docs/models.md), so its assignee columns are empty.
    allocated = {"assignee_kind", "assignee_id", "visit_sequence"}
    assert simulated.select(
        sorted(allocated & set(simulated.columns))
    ).null_count().sum_horizontal()[0] == simulated.height * len(allocated & set(simulated.columns))
    compared = [c for c in simulated.columns if c not in allocated]
    left, right = simulated.sort(key), published.select(simulated.columns).sort(key)
    differing = [c for c in compared if not left[c].equals(right[c])]
    assert not differing, differing
