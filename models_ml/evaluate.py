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


# Columns that name a customer segment, used for per-segment metrics when the features
# table carries them (the firmographics family: customer type and industry as of the snapshot).
SEGMENT_COLUMNS = ("customer_type", "industry")
ACTIVITY_SEGMENT = "activity"


def activity_buckets(orders_365d, n: int = 4) -> np.ndarray:
    """Quartile buckets of orders in the last year ("q1" fewest .. "q4"), a segment axis that
    every feature snapshot has."""
    import pandas as pd

    values = pd.Series(np.asarray(orders_365d, dtype=float)).fillna(0.0)
    ranks = values.rank(method="first")
    codes = pd.qcut(ranks, q=min(n, max(len(values), 1)), labels=False, duplicates="drop")
    return np.array([f"q{int(c) + 1}" for c in codes], dtype=object)


def segment_aucs(
    y: np.ndarray,
    p: np.ndarray,
    groups: np.ndarray,
    min_positives: int = 5,
    min_negatives: int = 5,
) -> dict[str, dict[str, float]]:
    """ROC AUC per segment value, for segments with enough of both classes to rank."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    groups = np.asarray(groups, dtype=object)
    out: dict[str, dict[str, float]] = {}
    for value in sorted({str(g) for g in groups if g is not None and g == g}):
        mask = groups.astype(str) == value
        pos = int(y[mask].sum())
        neg = int(mask.sum() - pos)
        if pos < min_positives or neg < min_negatives:
            continue
        auc = float(roc_auc_score(y[mask], p[mask]))
        out[value] = {
            "rows": float(mask.sum()),
            "positives": float(pos),
            "roc_auc": auc,
            "roc_auc_se": auc_standard_error(auc, pos, neg),
        }
    return out


def auc_standard_error(auc: float, positives: int, negatives: int) -> float:
    """Hanley & McNeil (1982) standard error of a ROC AUC measured on this many positives
    and negatives: how far the AUC of a small segment moves by chance alone."""
    q1 = auc / (2.0 - auc)
    q2 = 2.0 * auc * auc / (1.0 + auc)
    var = (
        auc * (1.0 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)
    ) / (positives * negatives)
    return float(max(var, 0.0) ** 0.5)


def segment_report(frame, y: np.ndarray, p: np.ndarray) -> dict[str, dict[str, dict[str, float]]]:
    """Per-segment AUC along every segment axis the frame has: customer type and industry if
    present, and activity quartiles (orders in the last year) always."""
    report = {}
    for column in SEGMENT_COLUMNS:
        if column in frame.columns:
            report[column] = segment_aucs(y, p, frame[column].to_numpy(dtype=object))
    if "orders_365d" in frame.columns:
        report[ACTIVITY_SEGMENT] = segment_aucs(y, p, activity_buckets(frame["orders_365d"]))
    return report
