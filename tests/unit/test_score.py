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


def test_customer_filter_selects_everyone_a_hash_partition_or_a_cid_list():
    import pytest
    from psycopg import sql

    from models_ml.score import customer_filter

    def text(q: sql.Composable) -> str:
        return q.as_string(None)

    assert text(customer_filter()) == "true"
    assert text(customer_filter(2, 3)) == (
        "mod(('x' || substr(md5(cid), 1, 8))::bit(32)::bigint, 3) = 2"
    )
    # values are quoted literals, never spliced text
    assert text(customer_filter(cids=["a", "b'; drop"])) == "cid = any('{a,\"b''; drop\"}'::text[])"
    assert " and cid = any(" in text(customer_filter(0, 2, ["a"]))
    for partition, partitions in ((3, 3), (-1, 2), (0, 0)):
        with pytest.raises(ValueError, match="partition"):
            customer_filter(partition, partitions)


def test_score_partitions_setting_is_at_least_one(monkeypatch):
    import pytest
    from pydantic import ValidationError

    from portrait.settings import Settings

    assert Settings().score_partitions == 1
    monkeypatch.setenv("PORTRAIT_SCORE_PARTITIONS", "4")
    assert Settings().score_partitions == 4
    monkeypatch.setenv("PORTRAIT_SCORE_PARTITIONS", "0")
    with pytest.raises(ValidationError, match="score_partitions"):
        Settings()
