"""Metrics: AUC, KS, ECE, lift, per-segment AUCs and their standard errors."""

import math

import numpy as np
import pandas as pd
import pytest

from models_ml.evaluate import (
    activity_buckets,
    auc_standard_error,
    binary_metrics,
    expected_calibration_error,
    lift_at,
    segment_aucs,
    segment_report,
)


def test_metrics_of_a_perfect_and_a_random_ranking():
    y = np.array([0, 0, 1, 1] * 50)
    perfect = binary_metrics(y, y * 0.9 + 0.05)
    assert perfect["roc_auc"] == 1.0 and perfect["ks"] == 1.0
    flat = binary_metrics(y, np.full(len(y), 0.5))
    assert flat["roc_auc"] == 0.5
    assert math.isnan(binary_metrics(np.zeros(10, int), np.linspace(0, 1, 10))["roc_auc"])


def test_ece_is_zero_when_scores_match_observed_rates():
    y = np.array([1] * 3 + [0] * 7)
    assert expected_calibration_error(y, np.full(10, 0.3)) == pytest.approx(0.0)
    assert expected_calibration_error(y, np.full(10, 0.9)) == pytest.approx(0.6)


def test_lift_and_capture_of_the_top_decile():
    y = np.array([1] * 10 + [0] * 90)
    lift, capture = lift_at(y, np.linspace(1, 0, 100), 0.1)
    assert lift == pytest.approx(10.0) and capture == pytest.approx(1.0)


def test_segment_aucs_skip_segments_without_both_classes():
    y = np.array([0, 1] * 20 + [0] * 20)
    p = np.r_[np.tile([0.2, 0.8], 20), np.full(20, 0.5)]
    groups = np.array(["a"] * 40 + ["b"] * 20, dtype=object)
    out = segment_aucs(y, p, groups)
    assert set(out) == {"a"} and out["a"]["roc_auc"] == 1.0


def test_segment_report_uses_type_and_industry_only_when_present():
    frame = pd.DataFrame({"orders_365d": np.arange(80)})
    y = np.tile([0, 1], 40)
    assert set(segment_report(frame, y, np.linspace(0, 1, 80))) == {"activity"}
    frame["industry"] = ["光伏", "风电"] * 40
    assert set(segment_report(frame, y, np.linspace(0, 1, 80))) == {"activity", "industry"}
    assert sorted(set(activity_buckets(frame["orders_365d"]))) == ["q1", "q2", "q3", "q4"]


def test_auc_standard_error_shrinks_with_rows_and_matches_hanley_mcneil():
    # By hand, AUC 0.8 on 50 + 50 cases: Q1 = 0.8/1.2, Q2 = 1.28/1.8,
    # var = (0.16 + 49 (Q1 - 0.64) + 49 (Q2 - 0.64)) / 2500 = 0.00198 -> SE 0.0445
    assert abs(auc_standard_error(0.8, 50, 50) - 0.0445) < 0.0005
    assert auc_standard_error(0.8, 500, 500) < auc_standard_error(0.8, 50, 50) / 3
