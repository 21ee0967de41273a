"""Pure parts of the ML layer: split, metrics, PSI, drift policy, gate, reason codes."""

import datetime as dt
import math

import numpy as np
import pytest

from models_ml.evaluate import binary_metrics, expected_calibration_error, lift_at
from models_ml.monitor import DriftPolicy, apply_policy, psi
from models_ml.register import GatePolicy, gate
from models_ml.score import reason_codes
from models_ml.split import SplitError, time_split
from models_ml.tasks import FEATURE_WORDS, TASKS, get_task


def month_ends(n, start=dt.date(2023, 1, 31)):
    out, d = [], start
    for _ in range(n):
        out.append(d)
        nxt = (d.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        d = (nxt + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return out


def test_time_split_leaves_a_label_horizon_between_windows():
    dates = month_ends(30)
    split = time_split(dates, horizon_days=180)
    assert split.test_dates == tuple(dates[-3:])
    assert max(split.valid_dates) + dt.timedelta(days=180) <= min(split.test_dates)
    assert max(split.train_dates) + dt.timedelta(days=180) <= min(split.valid_dates)
    assert not set(split.train_dates) & set(split.valid_dates)


def test_time_split_refuses_too_little_history():
    with pytest.raises(SplitError, match="not enough history"):
        time_split(month_ends(12), horizon_days=180)


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


def test_psi_is_small_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=5000)
    assert psi(ref, rng.normal(size=5000)) < 0.02
    assert psi(ref, rng.normal(1.0, size=5000)) > 0.25


def test_drift_policy_needs_consecutive_days_to_trigger_and_to_clear():
    policy = DriftPolicy(trigger_days=3, clear_days=2)
    state = (0, 0, False)
    alarms = []
    for drifted in [True, True, False, True, True, True, False, True, False, False]:
        state = apply_policy(policy, drifted, *state)
        alarms.append(state[2])
    assert alarms == [False, False, False, False, False, True, True, True, True, False]


def test_gate_rejects_a_worse_challenger_and_accepts_an_equal_one():
    champion = {"test_roc_auc": 0.80, "test_brier": 0.10}
    assert gate({"test_roc_auc": 0.80, "test_brier": 0.10}, champion, GatePolicy()) == []
    reasons = gate({"test_roc_auc": 0.70, "test_brier": 0.10}, champion, GatePolicy())
    assert reasons and "AUC" in reasons[0]
    assert gate({"test_roc_auc": 0.80, "test_brier": 0.30}, champion, GatePolicy())


def test_reason_codes_name_the_features_that_raise_the_score_most():
    contrib = np.array([[0.5, -0.2, 0.1], [-0.1, -0.2, -0.3]])
    reasons = reason_codes(contrib, ["days_since_last_order", "orders_90d", "revenue_cny_90d"])
    assert reasons[0][0].startswith("days since the last order")
    assert reasons[0][1].startswith("order value in the last 90 days")
    assert reasons[0][2] is None
    assert list(reasons[1]) == [None, None, None]
    assert reasons[0][0] == "days since the last order (+0.50)"


def test_reason_codes_format_each_distinct_contribution_the_same_way():
    rng = np.random.default_rng(0)
    contrib = np.round(rng.normal(0, 0.3, size=(500, 4)), 3)
    features = ["orders_90d", "not_in_the_glossary", "credit_limit_use", "invoices_365d"]
    reasons = reason_codes(contrib, features)
    for row, values in zip(reasons, contrib, strict=True):
        order = np.argsort(-values, kind="stable")[:3]
        for text, j in zip(row, order, strict=True):
            if values[j] > 0:
                assert text.startswith(FEATURE_WORDS.get(features[j], features[j]) + " (+")
                assert abs(float(text.rsplit("+", 1)[1][:-1]) - values[j]) <= 0.005 + 1e-9
            else:
                assert text is None


def test_tasks_are_known_and_bands_are_ordered():
    assert set(TASKS) >= {"churn_180d"}
    task = get_task("churn_180d")
    assert [task.band(s) for s in (0.1, 0.4, 0.9)] == ["low", "medium", "high"]
    # a score on an edge belongs to the band above, one at a time or many at once
    scores = np.array([0.0, 0.29, 0.3, 0.59, 0.6, 1.0])
    assert list(task.bands(scores)) == [task.band(s) for s in scores]
    assert list(task.bands(scores)) == ["low", "low", "medium", "medium", "high", "high"]
    with pytest.raises(ValueError, match="Unknown task"):
        get_task("nope")


def test_text_features_become_stable_category_codes_and_the_rest_stays_numeric():
    import pandas as pd

    from models_ml.data import to_model_matrix
    from models_ml.tasks import CATEGORICAL_FEATURES, FEATURE_WORDS

    assert set(FEATURE_WORDS) >= CATEGORICAL_FEATURES
    frame = pd.DataFrame(
        {
            "customer_type": ["科研客户", None, "科研客户", "渠道商"],
            "is_deregistered": [True, None, False, False],
            "orders_365d": [3, 0, None, 7],
        }
    )
    x = to_model_matrix(frame, ["customer_type", "is_deregistered", "orders_365d"])
    codes = x["customer_type"].tolist()
    assert codes[0] == codes[2] != codes[3] and math.isnan(codes[1])
    assert all(c >= 0 and c == int(c) for c in (codes[0], codes[3]))
    # the same value gets the same code in another frame (training vs scoring)
    again = to_model_matrix(frame.iloc[[3]], ["customer_type", "is_deregistered", "orders_365d"])
    assert again["customer_type"].iloc[0] == codes[3]
    assert x["is_deregistered"].tolist()[::2] == [1.0, 0.0]
    assert x["orders_365d"].tolist()[0] == 3.0
