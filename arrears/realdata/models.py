"""The roll-forward model on the UCI card accounts (docs/real-data.md, "Learned risk").

The file's six month ends go through the converter and the aging engine into the marts; the
features are the pipeline's own (sql/risk/training_rows.sql). Two out-of-time tests:

- roll forward next month: trained on April-July month ends (labels May-August), tested on
  August (label: September's bucket worse than August's);
- the file's own label, default next month (October): trained to predict "past due at the next
  month end" on April-August (labels May-September), tested on September's features against
  `default.payment.next.month`, which the pipeline never sees.

Beside them, for comparison with the published figure only (not out of time): the same features
of September fitted on the default label itself, 5-fold cross-validation over accounts, the way
the published models on this file are evaluated.

.venv/bin/python -m arrears.realdata.models [CSV]
"""

from __future__ import annotations

import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import lightgbm as lgb
import numpy as np
import polars as pl

from arrears import warehouse
from arrears.aging import load_aging_config
from arrears.realdata.__main__ import DEFAULT_CSV
from arrears.realdata.load import age_landing
from arrears.realdata.uci import convert_uci
from arrears.risk import metrics
from arrears.risk.features import FEATURES, training_rows
from arrears.risk.train import PARAMS, ROUNDS


def _booster(frame: pl.DataFrame, label: str) -> lgb.Booster:
    data = lgb.Dataset(
        frame.select(FEATURES).to_numpy().astype(np.float64),
        label=frame[label].cast(pl.Int8).to_numpy(),
        feature_name=list(FEATURES),
    )
    return lgb.train(PARAMS, data, num_boost_round=ROUNDS)


def _predict(booster: lgb.Booster, frame: pl.DataFrame) -> np.ndarray:
    return np.asarray(booster.predict(frame.select(FEATURES).to_numpy().astype(np.float64)))


CV_FOLDS = 5


def _cross_validated(frame: pl.DataFrame, label: str) -> dict[str, Any]:
    """Out-of-fold predictions over accounts (folds by a hash of the loan id, fixed)."""
    fold = (frame["loan_id"].hash(seed=0) % CV_FOLDS).to_numpy()
    predicted = np.zeros(frame.height, dtype=np.float64)
    for k in range(CV_FOLDS):
        booster = _booster(frame.filter(fold != k), label)
        predicted[fold == k] = _predict(booster, frame.filter(fold == k))
    return metrics.summary(frame[label].to_numpy(), predicted)


def _past_due_next(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame) -> pl.DataFrame:
    """Each row with `past_due_next`: dpd > 0 at the next month end."""
    later = pl.DataFrame(
        pl.from_arrow(
            con.sql(
                "select snapshot_date, loan_id, dpd > 0 as past_due_next from marts.loan_aging"
            ).to_arrow_table()
        )
    )
    return rows.join(
        later.select(
            pl.col("loan_id"),
            pl.col("past_due_next"),
            pl.col("snapshot_date").dt.offset_by("-1mo").dt.month_end().alias("sample_date"),
        ),
        on=["sample_date", "loan_id"],
        how="left",
    )


def evaluate(csv_path: Path) -> dict[str, Any]:
    labels = pl.read_csv(csv_path).select(
        pl.format("UCI-{}", pl.col("ID").cast(pl.String).str.zfill(5)).alias("loan_id"),
        pl.col("next_payment").cast(pl.Int8).alias("default_next_month"),
    )
    buckets = tuple(b.label for b in load_aging_config().buckets)
    with tempfile.TemporaryDirectory() as tmp:
        dates = convert_uci(csv_path, Path(tmp))
        con = warehouse.connect(":memory:")
        age_landing(con, Path(tmp), dates, load_aging_config())
        last = dates[-1]
        labelled = training_rows(con, dates[:-1], last, buckets)
        september = training_rows(con, [last], last, buckets, unlabelled=True)
        labelled = _past_due_next(con, labelled)
        con.close()

    found: dict[str, Any] = {}
    # roll forward next month: August held out (the last month with a label), and July for
    # comparison (September's roll-forwards are unlike the earlier months': docs/real-data.md)
    for name, held in (
        ("roll_forward", date(2005, 8, 31)),
        ("roll_forward_july", date(2005, 7, 31)),
    ):
        fitted = labelled.filter(pl.col("sample_date") < held)
        tested = labelled.filter(pl.col("sample_date") == held)
        booster = _booster(fitted, "rolled_forward")
        roll = metrics.summary(
            tested["rolled_forward"].cast(pl.Int8).to_numpy(), _predict(booster, tested)
        )
        found[name] = {"train": fitted.height, **roll}
    # the file's default label, September's features
    booster = _booster(labelled, "past_due_next")
    scored = september.join(labels, on="loan_id", how="inner")
    default = metrics.summary(scored["default_next_month"].to_numpy(), _predict(booster, scored))
    found["default_next_month"] = {"train": labelled.height, **default}
    cross = _cross_validated(scored, "default_next_month")
    fitted_rows = scored.height * (CV_FOLDS - 1) // CV_FOLDS
    found["default_cross_validated"] = {"train": fitted_rows, **cross}
    return found


def main() -> None:
    csv_path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CSV
    found = evaluate(csv_path)
    for name, result in found.items():
        print(
            f"{name}: trained on {result['train']:,} account-months, tested on "
            f"{result['rows']:,} accounts ({result['positive_rate']:.2%} positive): "
            f"AUC {result['auc']:.4f}, KS {result['ks']:.4f}"
        )
        print("| decile | accounts | predicted | observed |")
        print("|---:|---:|---:|---:|")
        for row in result["calibration"]:
            print(
                f"| {row['decile']} | {row['loans']:,} | {row['predicted']:.3f} "
                f"| {row['observed']:.3f} |"
            )


if __name__ == "__main__":
    main()
