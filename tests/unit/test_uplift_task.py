"""The uplift model's training step without a warehouse: the campaign split, the goal
templates, when it refuses to train, and the gate against targeting everyone and by
purchase score on synthetic campaigns with a known effect."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from models_ml import uplift_task
from models_ml.train import UntrainableTargetError


def campaigns(n_campaigns=6, members=800, effect=True, seed=3) -> pd.DataFrame:
    """Campaigns of one template; customers with orders_365d >= 3 (a feature) respond to the
    campaign (+30 points), the others do not; buying without it rises with the feature."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_campaigns):
        orders = rng.integers(0, 6, size=members)
        treated = (rng.random(members) < 0.6).astype(int)
        p0 = 0.05 + 0.05 * orders
        tau = np.where(orders >= 3, 0.3, 0.0) if effect else np.zeros(members)
        converted = (rng.random(members) < p0 + treated * tau).astype(int)
        rows.append(
            pd.DataFrame(
                {
                    "campaign_id": f"C{c:02d}",
                    "cid": [f"K{c}-{i}" for i in range(members)],
                    "treated": treated,
                    "converted": converted,
                    "starts_on": dt.date(2024, 1 + c, 1),
                    "campaign_goal": "grow" if c % 2 else "retain",
                    "campaign_channel": "email",
                    "campaign_offer": "discount" if c < 4 else "sample",
                    "campaign_content": "report",
                    "orders_365d": orders,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_the_later_third_of_the_campaigns_is_the_test_window():
    frame = campaigns()
    assert uplift_task.test_campaigns(frame) == {"C04", "C05"}


def test_a_goal_template_is_its_most_used_channel_offer_and_content():
    templates = uplift_task.templates(campaigns())
    assert set(templates) == {"grow", "retain"}
    # grow: C01, C03 discount, C05 sample -> discount
    assert templates["grow"] == {
        "campaign_channel": "email", "campaign_offer": "discount", "campaign_content": "report"
    }  # fmt: skip


def test_too_few_campaigns_or_members_is_untrainable_with_the_reason():
    with pytest.raises(UntrainableTargetError, match="at least 3 are needed"):
        uplift_task.fit_uplift(campaigns(n_campaigns=2))
    with pytest.raises(UntrainableTargetError, match="held-out members"):
        uplift_task.fit_uplift(campaigns(members=40))


def test_a_real_effect_passes_the_gate_and_no_effect_does_not():
    found = uplift_task.fit_uplift(campaigns())
    assert found.reasons == []
    m = found.metrics
    assert m["test_qini"] > max(m["by_purchase_test_qini"], 0)
    assert m["test_uplift_at_30"] > m["everyone_test_uplift_at_30"]
    # the persuadable customers get the higher scores
    test = found.frame[found.test]
    score = found.scores["uplift_model"]
    assert (
        score[test["orders_365d"].to_numpy() >= 3].mean()
        > score[test["orders_365d"].to_numpy() < 3].mean() + 0.15
    )
    for seed in (4, 5):
        none = uplift_task.fit_uplift(campaigns(effect=False, seed=seed))
        assert any("within chance" in r for r in none.reasons), none.metrics
