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
