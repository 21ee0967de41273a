"""Probability calibration fitted on the validation window: Platt scaling or isotonic
regression, stored as plain numbers (JSON) so it travels with the model version."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

# Isotonic regression needs many positives to be smoother than a staircase of noise;
# below this count "auto" falls back to Platt's two parameters.
ISOTONIC_MIN_POSITIVES = 200
# Isotonic's flat steps tie scores and can cost ranking: "auto" keeps it only when it costs
# at most this much validation AUC, out of sample (isotonic_auc_loss; Platt is strictly
# monotone: no loss).
ISOTONIC_MAX_AUC_LOSS = 0.001
_EPS = 1e-6
# No calibrated probability claims more certainty than this: a validation window of a few
# hundred rows cannot tell 1 in 10,000 from 1 in a billion (cf. regulatory PD floors).
PROBABILITY_FLOOR = 1e-4


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


@dataclass(frozen=True)
class Calibrator:
    """A monotone map from raw model scores to probabilities."""

    method: str
    # Platt: p = 1 / (1 + exp(-(a * logit(score) + b)))
    a: float = 1.0
    b: float = 0.0
    # Isotonic: piecewise-linear through (x, y), clipped at the ends.
    x: tuple[float, ...] = field(default_factory=tuple)
    y: tuple[float, ...] = field(default_factory=tuple)

    def apply(self, scores: np.ndarray) -> np.ndarray:
        scores = np.asarray(scores, dtype=float)
        if self.method == "platt":
            p = 1.0 / (1.0 + np.exp(-(self.a * _logit(scores) + self.b)))
        elif self.method == "isotonic":
            p = np.interp(scores, self.x, self.y)
        else:
            return scores
        return np.clip(p, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)

    def to_dict(self) -> dict:
        out: dict = {"method": self.method}
        if self.method == "platt":
            out |= {"a": self.a, "b": self.b}
        elif self.method == "isotonic":
            out |= {"x": list(self.x), "y": list(self.y)}
        return out

    @classmethod
    def from_dict(cls, d: dict | None) -> Calibrator:
        if not d:
            return IDENTITY
        return cls(
            method=d["method"],
            a=float(d.get("a", 1.0)),
            b=float(d.get("b", 0.0)),
            x=tuple(float(v) for v in d.get("x", ())),
            y=tuple(float(v) for v in d.get("y", ())),
        )


IDENTITY = Calibrator("none")


def fit_calibrator(y: np.ndarray, scores: np.ndarray, method: str = "auto") -> Calibrator:
    """Fit `method` ("platt", "isotonic" or "auto") on labelled validation scores. "auto":
    Platt below ISOTONIC_MIN_POSITIVES positives; above, isotonic unless its ties cost more
    than ISOTONIC_MAX_AUC_LOSS of validation AUC out of sample (then Platt)."""
    y = np.asarray(y, dtype=int)
    scores = np.asarray(scores, dtype=float)
    if method == "auto":
        if y.sum() < ISOTONIC_MIN_POSITIVES or len(np.unique(y)) < 2:
            return _platt(y, scores)
        keep = isotonic_auc_loss(y, scores) <= ISOTONIC_MAX_AUC_LOSS
        return _isotonic(y, scores) if keep else _platt(y, scores)
    if method == "platt":
        return _platt(y, scores)
    if method == "isotonic":
        return _isotonic(y, scores)
    raise ValueError(f"Unknown calibration method {method!r}: platt, isotonic or auto.")


def isotonic_auc_loss(y: np.ndarray, scores: np.ndarray, seed: int = 0) -> float:
    """What isotonic calibration costs the ranking, measured out of sample: two folds of the
    validation rows, each calibrated by a fit on the other, AUC before minus after (mean).
    In sample the pooled steps tie exactly the misordered runs and flatter the AUC."""
    folds = np.random.default_rng(seed).permutation(len(y)) % 2
    losses = []
    for k in (0, 1):
        fit, held = folds != k, folds == k
        if len(np.unique(y[fit])) < 2 or len(np.unique(y[held])) < 2:
            return 0.0
        calibrated = _isotonic(y[fit], scores[fit]).apply(scores[held])
        losses.append(roc_auc_score(y[held], scores[held]) - roc_auc_score(y[held], calibrated))
    return float(np.mean(losses))


def _isotonic(y: np.ndarray, scores: np.ndarray) -> Calibrator:
    iso = IsotonicRegression(y_min=_EPS, y_max=1 - _EPS, out_of_bounds="clip")
    iso.fit(scores, y)
    return Calibrator(
        "isotonic",
        x=tuple(float(v) for v in iso.X_thresholds_),
        y=tuple(float(v) for v in iso.y_thresholds_),
    )


def _platt(y: np.ndarray, scores: np.ndarray) -> Calibrator:
    """A logistic fit on the score's log-odds with Platt's (1999) smoothed targets,
    (n+ + 1) / (n+ + 2) and 1 / (n- + 2): with a handful of positives a validation window that
    happens to separate perfectly would otherwise yield an absurdly steep, overconfident map.
    Soft targets are fitted as each row twice, weighted t and 1 - t."""
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    hi, lo = (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2)
    target = np.where(y == 1, hi, lo)
    z = _logit(scores).reshape(-1, 1)
    lr = LogisticRegression(C=1e4, max_iter=1000)
    lr.fit(
        np.vstack([z, z]),
        np.r_[np.ones(len(z), dtype=int), np.zeros(len(z), dtype=int)],
        sample_weight=np.r_[target, 1 - target],
    )
    return Calibrator("platt", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]))
