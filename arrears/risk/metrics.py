"""How well a probability ranks and is calibrated: AUC, KS and a table by decile."""

from __future__ import annotations

from typing import Any

import numpy as np


def auc(label: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve: the chance a random positive outranks a random negative
    (ties count half), by the rank-sum formula."""
    label = label.astype(bool)
    positives = int(label.sum())
    negatives = len(label) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("AUC needs both outcomes")
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score), dtype=np.float64)
    sorted_scores = score[order]
    # average ranks over ties
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_scores)) + 1]
    ends = np.r_[starts[1:], len(score)]
    average = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(average, ends - starts)
    return float((ranks[label].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def ks(label: np.ndarray, score: np.ndarray) -> float:
    """Kolmogorov-Smirnov: the widest gap between the score distributions of the two outcomes."""
    label = label.astype(bool)
    thresholds = np.unique(score)
    positives = np.sort(score[label])
    negatives = np.sort(score[~label])
    cdf_pos = np.searchsorted(positives, thresholds, side="right") / max(len(positives), 1)
    cdf_neg = np.searchsorted(negatives, thresholds, side="right") / max(len(negatives), 1)
    return float(np.max(np.abs(cdf_pos - cdf_neg)))


def calibration(label: np.ndarray, score: np.ndarray, groups: int = 10) -> list[dict[str, Any]]:
    """Loans in ten groups of equal size by predicted probability (1 = lowest): predicted and
    observed roll-forward rate of each."""
    order = np.argsort(score, kind="mergesort")
    rows = []
    for decile, part in enumerate(np.array_split(order, groups), start=1):
        if len(part) == 0:
            continue
        rows.append(
            {
                "decile": decile,
                "loans": len(part),
                "predicted": round(float(score[part].mean()), 6),
                "observed": round(float(label[part].mean()), 6),
                "min_probability": round(float(score[part].min()), 6),
                "max_probability": round(float(score[part].max()), 6),
            }
        )
    return rows


def summary(label: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    return {
        "rows": len(label),
        "positives": int(label.sum()),
        "positive_rate": round(float(label.mean()), 6),
        "auc": round(auc(label, score), 6),
        "ks": round(ks(label, score), 6),
        "calibration": calibration(label, score),
    }
