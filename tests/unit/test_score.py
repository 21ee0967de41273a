"""Reason codes: the features that raise a score most, in business words."""

import numpy as np

from models_ml.score import reason_codes
from models_ml.targets import FEATURE_WORDS


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
