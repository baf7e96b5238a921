"""Saved models: `models/<version>/` with model.txt (LightGBM's text format: loading it runs no
code, unlike a pickle), features.json and metrics.json, and report.html for people."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from arrears.errors import ConfigError
from arrears.risk.features import FEATURES

MODEL_FILE = "model.txt"
FEATURES_FILE = "features.json"
METRICS_FILE = "metrics.json"
REPORT_FILE = "report.html"


@dataclass(frozen=True)
class SavedModel:
    version: str
    features: tuple[str, ...]
    booster: lgb.Booster

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """P(the label the model was trained on) of each row of `matrix`, in `features` order."""
        return np.asarray(self.booster.predict(matrix, num_threads=1), dtype=np.float64)


def save(
    models_dir: Path,
    version: str,
    model_text: str,
    features: dict[str, Any],
    metrics: dict[str, Any],
    report: str,
) -> Path:
    """Write the model folder whole or not at all (a folder built beside it, then renamed)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / version
    if target.exists():
        raise ConfigError(f"{target} exists: a version is written once")
    scratch = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=models_dir))
    try:
        (scratch / MODEL_FILE).write_text(model_text, encoding="utf-8")
        for name, content in ((FEATURES_FILE, features), (METRICS_FILE, metrics)):
            (scratch / name).write_text(
                json.dumps(content, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
            )
        (scratch / REPORT_FILE).write_text(report, encoding="utf-8")
        os.replace(scratch, target)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return target


def load(models_dir: Path, version: str) -> SavedModel:
    """The saved model `version`; a missing folder or a feature the night does not compute is a
    configuration error (exit 2) before anything is decided."""
    folder = models_dir / version
    if not (folder / MODEL_FILE).is_file() or not (folder / FEATURES_FILE).is_file():
        raise ConfigError(
            f"risk.model: no saved model {version!r} in {models_dir} "
            "(arrears train writes models/<version>/; --models / ARREARS_MODELS)"
        )
    described = json.loads((folder / FEATURES_FILE).read_text(encoding="utf-8"))
    features = tuple(described["features"])
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise ConfigError(f"model {version}: features the night does not compute: {unknown}")
    booster = lgb.Booster(model_str=(folder / MODEL_FILE).read_text(encoding="utf-8"))
    if tuple(booster.feature_name()) != features:
        raise ConfigError(f"model {version}: model.txt and features.json name different features")
    return SavedModel(version, features, booster)
