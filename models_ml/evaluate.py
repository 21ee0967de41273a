"""Model metrics as pure functions: labels and scores in, numbers out."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score


def _both_classes(y: np.ndarray) -> bool:
    return len(np.unique(y)) == 2


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Weighted mean |observed rate - mean score| over equal-width score bins."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if len(y) == 0:
        return math.nan
    idx = np.minimum((p * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            ece += mask.mean() * abs(y[mask].mean() - p[mask].mean())
    return float(ece)


def lift_at(y: np.ndarray, p: np.ndarray, share: float = 0.1) -> tuple[float, float]:
    """(lift, capture) of the top `share` of scores: their positive rate over the base rate,
    and the share of all positives they hold."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if len(y) == 0 or y.sum() == 0:
        return math.nan, math.nan
    n_top = max(1, round(len(y) * share))
    top = np.argsort(-p, kind="stable")[:n_top]
    lift = y[top].mean() / y.mean()
    capture = y[top].sum() / y.sum()
    return float(lift), float(capture)


def ks_statistic(y: np.ndarray, p: np.ndarray) -> float:
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    if not _both_classes(y):
        return math.nan
    order = np.argsort(p, kind="stable")
    y_sorted = y[order]
    cum_pos = np.cumsum(y_sorted) / y_sorted.sum()
    cum_neg = np.cumsum(1 - y_sorted) / (1 - y_sorted).sum()
    return float(np.max(np.abs(cum_pos - cum_neg)))


def binary_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    both = _both_classes(y)
    lift, capture = lift_at(y, p, 0.1)
    return {
        "rows": float(len(y)),
        "positive_rate": float(y.mean()) if len(y) else math.nan,
        "roc_auc": float(roc_auc_score(y, p)) if both else math.nan,
        "pr_auc": float(average_precision_score(y, p)) if both else math.nan,
        "brier": float(brier_score_loss(y, p)) if len(y) else math.nan,
        "ece": expected_calibration_error(y, p),
        "ks": ks_statistic(y, p),
        "lift_top10": lift,
        "capture_top10": capture,
    }
