"""Scoring in the night: tonight's aged loans through the saved model named by risk.model.

The features come from the model sql/intermediate/int_loans__risk_features.sql (built by the
registry with what it reads); the probabilities go into work.strategy_model_scores, which the
stage model reads: risk_score = 100 * P(roll forward), rounded to 4 decimals (the 0..100 scale
of the weighted score), and propensity = 1 - P for the stages' propensity_max.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from arrears import registry
from arrears.risk import store
from arrears.risk.features import lookback_dates
from arrears.risk.store import SavedModel

FEATURE_MODEL = "int_loans__risk_features"


def load(models_dir: Path, version: str) -> SavedModel:
    return store.load(models_dir, version)


def score(
    con: duckdb.DuckDBPyConnection,
    model: SavedModel,
    params: Mapping[str, Any],
    given: Iterable[str] = (),
    lookback: Mapping[str, date | None] | None = None,
) -> list[str]:
    """Fill work.strategy_model_scores; returns the models built on the way (the decide step
    reuses them instead of building them twice).

    `lookback`: the look-back nights when found on the warehouse beforehand (a partition holds
    only its loans' rows of those nights, so it cannot find them itself); None: found here."""
    steps = registry.plan((FEATURE_MODEL,), given)
    if lookback is None:
        lookback = lookback_dates(con, params["snapshot_date"])
    params = {**params, **lookback}
    registry.build(con, (FEATURE_MODEL,), params, given=given)
    columns = ", ".join(f'"{name}"' for name in model.features)
    table = con.sql(f"select loan_id, {columns} from work.{FEATURE_MODEL}").to_arrow_table()
    if table.num_rows:
        matrix = np.column_stack(
            [
                table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
                for name in model.features
            ]
        )
        probability = np.clip(model.predict(matrix), 0.0, 1.0)
    else:
        probability = np.zeros(0)
    scores = pa.table(  # noqa: F841 (read by DuckDB below)
        {"loan_id": table.column("loan_id"), "probability": pa.array(probability, pa.float64())}
    )
    con.execute(
        "insert into work.strategy_model_scores by name "
        "select loan_id, probability, 1 - probability as propensity, "
        "round(probability * 100, 4)::decimal(9,4) as risk_score from scores"
    )
    return [m.name for m in steps]
