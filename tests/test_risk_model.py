"""CONTRACT section 12: `arrears train` (features, out-of-time validation, AUC floor, a saved model
that loads without running code) and scoring in the night (risk.model, propensity_max, the model
version on every action)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal
from risk_support import insert_aging, write_history
from strategy_support import DEFAULT_STRATEGY

from arrears import registry, state, warehouse
from arrears.aging import AGE_MODELS
from arrears.cli import main
from arrears.errors import ConfigError
from arrears.risk import metrics, store
from arrears.risk.features import (
    FEATURES,
    LABELS,
    lookback_dates,
    sample_dates,
    training_rows,
)
from arrears.risk.train import ModelRejected, Training, fit, train
from arrears.strategy import decide, load_strategy
from arrears.strategy.engine import _ensure_inputs, decide_params, write_config_tables

FIRST = date(2025, 1, 6)
NIGHTS = 36
BUCKETS = ("M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7")


def test_auc_and_ks_by_hand():
    label = np.array([0, 0, 1, 1, 0, 1])
    score = np.array([0.1, 0.4, 0.35, 0.8, 0.5, 0.5])
    # positives 0.35, 0.8, 0.5 against negatives 0.1, 0.4, 0.5, pair by pair:
    # 0.35 beats 0.1 only (1); 0.8 beats all (3); 0.5 beats 0.1, 0.4 and ties 0.5 (2.5): 6.5 of 9
    assert metrics.auc(label, score) == pytest.approx(6.5 / 9)
    # at threshold 0.4: 1/3 of positives, 2/3 of negatives at or below: gap 1/3
    assert metrics.ks(label, score) == pytest.approx(1 / 3)
    table = metrics.calibration(label, score, groups=3)
    assert [row["loans"] for row in table] == [2, 2, 2]
    # by score: (0.1 n, 0.35 p), (0.4 n, 0.5 n), (0.5 p, 0.8 p)
    assert [row["observed"] for row in table] == [0.5, 0.0, 1.0]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse file holding 36 weekly nights of aging for 3,000 loans."""
    path = tmp_path_factory.mktemp("risk") / "w.duckdb"
    with warehouse.opened(path) as con:
        write_history(con, 3000, FIRST, NIGHTS)
    return path


def spec(floor: float = 0.6) -> Training:
    return Training(FIRST, FIRST + timedelta(days=7 * (NIGHTS - 1)), BUCKETS, floor)


@pytest.fixture(scope="module")
def trained(history: Path, tmp_path_factory: pytest.TempPathFactory):
    models = tmp_path_factory.mktemp("models")
    with warehouse.opened(history, read_only=True) as con:
        return train(con, spec(), models), models


def test_train_saves_text_model_features_and_out_of_time_metrics(trained):
    result, models = trained
    folder = models / result.version
    assert sorted(p.name for p in folder.iterdir()) == [
        "features.json",
        "metrics.json",
        "model.txt",
        "report.html",
    ]
    assert (folder / "model.txt").read_text().startswith("tree\n")  # LightGBM text, no pickle
    found = json.loads((folder / "metrics.json").read_text())
    assert found["held_out_dates"] and found["training_dates"]
    assert max(found["training_dates"]) < min(found["held_out_dates"])
    assert found["held_out"]["auc"] > 0.7
    assert 0 < found["held_out"]["ks"] <= 1
    assert [row["decile"] for row in found["held_out"]["calibration"]] == list(range(1, 11))
    assert json.loads((folder / "features.json").read_text())["features"] == list(FEATURES)
    assert "AUC" in (folder / "report.html").read_text()
    # privacy: the model's files name features and nights, never a loan or a customer
    for name in ("metrics.json", "report.html", "features.json", "model.txt"):
        text = (folder / name).read_text()
        assert "L0000" not in text and "C0000" not in text, name
    loaded = store.load(models, result.version)
    assert loaded.features == FEATURES


def test_same_history_same_model(history, trained, tmp_path):
    result, _ = trained
    with warehouse.opened(history, read_only=True) as con:
        again = train(con, spec(), tmp_path)
    assert again.version == result.version


def test_below_the_floor_nothing_is_saved(history, tmp_path):
    with warehouse.opened(history, read_only=True) as con, pytest.raises(ModelRejected):
        fit(con, spec(floor=0.999))
    models = tmp_path / "models"
    last = FIRST + timedelta(days=7 * (NIGHTS - 1))
    code = main(
        [
            "train",
            "--from",
            str(FIRST),
            "--to",
            str(last),
            "--auc-floor",
            "0.999",
            "--warehouse",
            str(history),
            "--models",
            str(models),
        ]
    )
    assert code == 3
    assert not models.exists() or not any(models.iterdir())


def test_training_leaves_the_warehouse_untouched(history, tmp_path):
    before = history.read_bytes()
    code = main(
        [
            "train",
            "--from",
            str(FIRST),
            "--to",
            str(FIRST + timedelta(days=7 * (NIGHTS - 1))),
            "--auc-floor",
            "0.5",
            "--warehouse",
            str(history),
            "--models",
            str(tmp_path / "models"),
        ]
    )
    assert code == 0
    assert history.read_bytes() == before


# A tiny book, two month ends: (loan, dpd, bucket, overdue installments, status) tonight and at
# the next month end, and the labels each must get.
BOOK = (
    # still two statements behind after paying one: past due, not worse
    ("A", (40, "M2", 2, "ACTIVE"), (40, "M2", 2, "ACTIVE"), False, True),
    ("B", (0, "M0", 0, "ACTIVE"), (35, "M2", 2, "ACTIVE"), True, True),
    ("C", (45, "M2", 2, "ACTIVE"), (0, "M0", 0, "ACTIVE"), False, False),
    # the last bucket cannot get worse; still past due
    ("D", (200, "M7", 7, "ACTIVE"), (231, "M7", 8, "ACTIVE"), False, True),
    ("E", (0, "M0", 0, "ACTIVE"), (0, "M0", 0, "ACTIVE"), False, False),
    ("F", (10, "M1", 1, "ACTIVE"), (0, "M0", 0, "WRITTEN_OFF"), True, True),
    # better but not cured
    ("G", (70, "M3", 3, "ACTIVE"), (20, "M1", 1, "ACTIVE"), False, True),
)


def test_labels_of_a_known_book():
    tonight, later = date(2025, 3, 31), date(2025, 4, 30)
    rows = []
    for loan, now, then, _, _ in BOOK:
        for night, (dpd, bucket, installments, status) in ((tonight, now), (later, then)):
            rows.append(
                {
                    "snapshot_date": night,
                    "loan_id": loan,
                    "customer_id": f"C{loan}",
                    "status": status,
                    "dpd": dpd,
                    "bucket": bucket,
                    "overdue_installments": installments,
                    "overdue_amount": 300 * installments,
                    "outstanding_principal": 5000,
                    "principal_amount": 10000,
                    "paid_to_date_amount": 0,
                    "last_payment_date": None,
                }
            )
    con = warehouse.connect(":memory:")
    insert_aging(con, pl.DataFrame(rows))
    found = training_rows(con, [tonight], later, BUCKETS)
    con.close()
    got = {
        loan: (roll, past_due)
        for loan, roll, past_due in found.select(
            "loan_id", LABELS["roll_forward"].column, LABELS["past_due"].column
        ).iter_rows()
    }
    assert got == {loan: (roll, past_due) for loan, _, _, roll, past_due in BOOK}


def test_train_on_the_past_due_label(history, tmp_path):
    last = FIRST + timedelta(days=7 * (NIGHTS - 1))
    models = tmp_path / "models"
    code = main(
        [
            "train",
            "--from",
            str(FIRST),
            "--to",
            str(last),
            "--label",
            "past_due",
            "--auc-floor",
            "0.5",
            "--warehouse",
            str(history),
            "--models",
            str(models),
        ]
    )
    assert code == 0
    (folder,) = models.iterdir()
    assert folder.name.startswith("pastdue-")
    found = json.loads((folder / "metrics.json").read_text())
    assert found["label"] == "past_due"
    assert json.loads((folder / "features.json").read_text())["label"] == "past_due"
    # the held-out positives are the past-due loans of the held-out nights, not the roll-forwards
    with warehouse.opened(history, read_only=True) as con:
        nights = [date.fromisoformat(d) for d in found["held_out_dates"]]
        held = training_rows(con, nights, last, BUCKETS)
    assert found["held_out"]["positives"] == held["past_due_next"].sum()
    assert held["past_due_next"].sum() > held["rolled_forward"].sum()
    code = main(
        ["train", "--from", str(FIRST), "--to", str(last), "--label", "default"]
        + ["--warehouse", str(history), "--models", str(models)]
    )
    assert code == 2


def _night(con, night: date) -> None:
    """Stage committed night `night` as a run would see it, with the state of the night before."""
    state.rebuild(con, through=night - timedelta(days=1))
    for dataset in ("customers", "installments", "arrangements", "holds", "contact_events"):
        con.execute(warehouse.work_table_ddl(dataset))
    con.execute(
        "create or replace table work.loan_aging as "
        "select * from marts.loan_aging where snapshot_date = $d",
        {"d": night},
    )
    con.execute(
        "insert into work.customers by name select $d as snapshot_date, customer_id, "
        "'Name' as full_name, '139' || lpad(substr(customer_id, 2), 8, '0') as phone, "
        "'Asia/Shanghai' as timezone, true as consent_sms, true as consent_call, "
        "true as consent_email from work.loan_aging",
        {"d": night},
    )


def test_night_features_equal_the_training_features(history, tmp_path):
    copy = tmp_path / "w.duckdb"
    copy.write_bytes(history.read_bytes())
    with warehouse.opened(copy) as con:
        nights = sample_dates(con, FIRST, FIRST + timedelta(days=7 * (NIGHTS - 1)), 30)
        night = nights[-2]
        # contact outcomes of the last 30 days count in both
        con.execute(
            "insert into marts.contact_history by name select snapshot_date, "
            "'E' || loan_id || snapshot_date as event_id, null as action_id, customer_id, loan_id,"
            " 'CALL' as channel, snapshot_date::timestamptz as occurred_at,"
            " case when dpd > 20 then 'PROMISE' else 'NO_ANSWER' end as outcome "
            "from marts.loan_aging where dpd > 0 and snapshot_date between $a and $b",
            {"a": night - timedelta(days=40), "b": night},
        )
        expected = training_rows(con, [night], FIRST + timedelta(days=7 * (NIGHTS - 1)), BUCKETS)
        assert expected["contacts_30d"].sum() > 0
        # the look-backs and the limit are there to compare, not null throughout
        for feature in ("utilisation", "paid_90d", "paid_to_balance_30d"):
            assert expected[feature].drop_nulls().n_unique() > 1, feature
        assert expected["balance_change_90d"].null_count() < expected.height
        _night(con, night)
        _ensure_inputs(con)
        strategy = load_strategy(DEFAULT_STRATEGY, "cn")
        write_config_tables(con, strategy)
        params = {
            **decide_params(night, strategy, "Asia/Shanghai"),
            **state.previous_dates(con, night),
            **lookback_dates(con, night),
        }
        # tonight's events are the ledger's of the night (a rerun reads them once)
        con.execute(
            "insert into work.contact_events by name select * exclude (snapshot_date), "
            "snapshot_date from marts.contact_history where snapshot_date = $d",
            {"d": night},
        )
        con.execute("delete from marts.contact_history where snapshot_date = $d", {"d": night})
        registry.build(con, ("int_loans__risk_features",), params, given=AGE_MODELS)
        table = con.sql("select * from work.int_loans__risk_features").to_arrow_table()
    got = pl.DataFrame(pl.from_arrow(table)).sort("loan_id")
    assert got.height == expected.height > 1000
    assert_frame_equal(got.select("loan_id", *FEATURES), expected.select("loan_id", *FEATURES))


def _strategy_file(tmp_path: Path, model: str | None, **stages) -> Path:
    document = yaml.safe_load(DEFAULT_STRATEGY.read_text(encoding="utf-8"))
    document["risk"]["model"] = model
    for stage, changes in stages.items():
        document["stages"][stage].update(changes)
    path = tmp_path / "strategy.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def scored_night(history, trained, tmp_path_factory):
    """The last night decided with the trained model: its connection and scores."""
    result, models = trained
    folder = tmp_path_factory.mktemp("scored")
    con = warehouse.connect(":memory:")
    con.execute(f"attach '{history}' as source (read_only)")
    con.execute("insert into marts.loan_aging select * from source.marts.loan_aging")
    con.execute("detach source")
    night = FIRST + timedelta(days=7 * (NIGHTS - 1))
    _night(con, night)
    strategy = load_strategy(_strategy_file(folder, result.version), "cn")
    decide(con, night, strategy, "Asia/Shanghai", models)
    yield con, night, result, models, folder
    con.close()


def test_every_action_carries_the_model_version_and_its_probability(scored_night):
    con, _, result, models, _ = scored_night
    versions = con.execute("select distinct model_version from work.collection_actions").fetchall()
    assert versions == [(result.version,)]
    features = pl.DataFrame(
        pl.from_arrow(
            con.sql("select * from work.int_loans__risk_features order by loan_id").to_arrow_table()
        )
    )
    probability = store.load(models, result.version).predict(
        features.select(FEATURES).to_numpy().astype(np.float64)
    )
    expected = {
        loan: Decimal(str(round(float(p) * 100, 4))).quantize(Decimal("0.0001"))
        for loan, p in zip(features["loan_id"], probability, strict=True)
    }
    actions = con.execute("select loan_ids, risk_score from work.collection_actions").fetchall()
    assert actions
    for loan_ids, risk_score in actions:
        assert abs(risk_score - max(expected[loan] for loan in loan_ids)) <= Decimal("0.0001")
    # priority within a channel follows the model's score
    ordered = con.execute(
        "select channel, list(risk_score order by priority) from work.collection_actions "
        "group by channel"
    ).fetchall()
    for _, scores in ordered:
        assert scores == sorted(scores, reverse=True)


def test_propensity_max_sends_likely_self_cures_to_the_lighter_stage(scored_night):
    con, night, result, models, folder = scored_night
    propensities = [
        p
        for (p,) in con.execute(
            "select scores.propensity from work.strategy_model_scores as scores "
            "inner join work.loan_aging as aging on aging.loan_id = scores.loan_id "
            "where aging.dpd between 8 and 30"
        ).fetchall()
    ]
    threshold = Decimal(str(round(float(np.median(propensities)), 4)))
    path = _strategy_file(
        folder, result.version, CALL={"propensity_max": str(threshold)}, REMINDER={"dpd": "1-30"}
    )
    decide(con, night, load_strategy(path, "cn"), "Asia/Shanghai", models)
    stages = con.execute(
        "select stage.stage, scores.propensity from work.int_loans__decide_stage as stage "
        "inner join work.strategy_model_scores as scores on scores.loan_id = stage.loan_id "
        "where stage.dpd between 8 and 30"
    ).fetchall()
    called = [p for s, p in stages if s == "CALL"]
    reminded = [p for s, p in stages if s == "REMINDER"]
    assert called and reminded
    assert max(called) <= float(threshold) < min(reminded)


def test_propensity_max_needs_a_model(tmp_path):
    path = _strategy_file(tmp_path, None, CALL={"propensity_max": "0.5"})
    with pytest.raises(ConfigError, match="propensity_max needs risk.model"):
        load_strategy(path, "cn")


def test_a_missing_model_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigError, match="no saved model"):
        store.load(tmp_path, "roll-20250101-deadbeef")


def test_the_default_strategy_names_no_model():
    assert load_strategy(DEFAULT_STRATEGY, "cn").risk.model is None
