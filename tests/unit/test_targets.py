"""The prediction targets: known names, ordered bands, credit grades."""

import numpy as np
import pytest

from models_ml.targets import TARGETS, get_target


def test_targets_are_known_and_bands_are_ordered():
    assert set(TARGETS) >= {"churn_180d"}
    target = get_target("churn_180d")
    assert [target.band(s) for s in (0.1, 0.4, 0.9)] == ["low", "medium", "high"]
    # a score on an edge belongs to the band above, one at a time or many at once
    scores = np.array([0.0, 0.29, 0.3, 0.59, 0.6, 1.0])
    assert list(target.bands(scores)) == [target.band(s) for s in scores]
    assert list(target.bands(scores)) == ["low", "low", "medium", "medium", "high", "high"]
    with pytest.raises(ValueError, match="Unknown target"):
        get_target("nope")


def test_credit_target_grades_pd_from_a_to_e():
    target = get_target("default_90dpd_180d")
    grades = [target.band(p) for p in (0.001, 0.015, 0.03, 0.07, 0.4)]
    assert grades == ["A", "B", "C", "D", "E"]
    assert target.calibration and target.window_positives
