"""Calibration: inflated scores back to observed rates, sane on a few positives."""

import numpy as np
import pytest

from models_ml.calibrate import Calibrator, fit_calibrator
from models_ml.evaluate import binary_metrics


def test_platt_calibration_maps_inflated_scores_back_to_observed_rates():
    rng = np.random.default_rng(0)
    true_p = rng.uniform(0.0, 0.1, 20000)
    y = (rng.uniform(size=true_p.size) < true_p).astype(int)
    inflated = np.clip(true_p * 5, 0, 0.99)  # what a class-balanced model would say
    before = binary_metrics(y, inflated)
    for method in ("platt", "isotonic"):
        cal = fit_calibrator(y, inflated, method)
        after = binary_metrics(y, cal.apply(inflated))
        assert after["ece"] < before["ece"] / 3 and after["brier"] < before["brier"]
        # Serialised as plain numbers and back, it gives the same probabilities.
        again = Calibrator.from_dict(cal.to_dict())
        assert np.allclose(again.apply(inflated), cal.apply(inflated))
    assert Calibrator.from_dict(None).apply(np.array([0.3]))[0] == pytest.approx(0.3)


def test_platt_stays_sane_when_a_few_positives_separate_perfectly():
    y = np.r_[np.ones(5), np.zeros(200)].astype(int)
    scores = np.r_[np.full(5, 0.6), np.linspace(0.01, 0.4, 200)]
    p = fit_calibrator(y, scores, "platt").apply(scores)
    assert p.max() < 0.9 and p.min() >= 1e-4


def test_auto_keeps_isotonic_only_when_its_ties_do_not_cost_ranking():
    from models_ml.calibrate import (
        ISOTONIC_MAX_AUC_LOSS,
        ISOTONIC_MIN_POSITIVES,
        isotonic_auc_loss,
    )

    rng = np.random.default_rng(1)
    # a continuous score on a rare target: isotonic's steps tie rows the score still ranks,
    # which costs AUC out of sample -> Platt
    p = rng.beta(0.5, 40, 20000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    score = np.log(p) + rng.normal(0, 0.9, p.size)
    assert y.sum() >= ISOTONIC_MIN_POSITIVES
    assert isotonic_auc_loss(y, score) > ISOTONIC_MAX_AUC_LOSS
    assert fit_calibrator(y, score, "auto").method == "platt"
    # classes the score separates: the steps cost nothing -> isotonic kept
    y2 = np.r_[np.ones(400), np.zeros(2000)].astype(int)
    sharp = np.r_[rng.uniform(0.6, 1.0, 400), rng.uniform(0.0, 0.55, 2000)]
    assert isotonic_auc_loss(y2, sharp) <= ISOTONIC_MAX_AUC_LOSS
    assert fit_calibrator(y2, sharp, "auto").method == "isotonic"
    # too few positives: Platt whatever the score
    assert fit_calibrator(y2[350:], sharp[350:], "auto").method == "platt"
