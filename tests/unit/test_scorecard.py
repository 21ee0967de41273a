"""The WoE scorecard baseline for credit risk: it ranks bad payers on a non-linear risk that a
linear logistic on raw values misses, and prints a points table."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from models_ml.scorecard import fit_scorecard


def _credit(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    days_late = rng.exponential(10, n)
    limit_use = rng.uniform(0, 1.4, n)
    sector = rng.choice(["battery", "ceramics", "graphene"], n)
    # risk is U-shaped in limit use (idle and maxed-out accounts) and steps up at 30 days late
    logit = -3 + 1.6 * (days_late > 30) + 2.5 * (limit_use - 0.6) ** 2 * 3
    logit += np.where(sector == "graphene", 0.7, 0.0)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame({"days_late": days_late, "limit_use": limit_use, "sector": sector})
    frame.loc[rng.uniform(size=n) < 0.05, "days_late"] = np.nan
    return frame, y


def test_the_scorecard_ranks_bad_payers_better_than_a_raw_logistic():
    train, y_train = _credit(6000, 1)
    test, y_test = _credit(3000, 2)
    card = fit_scorecard(train, y_train, ["days_late", "limit_use", "sector"], ["sector"])
    auc = roc_auc_score(y_test, card.predict_proba(test))
    raw = LogisticRegression(max_iter=2000).fit(
        train[["days_late", "limit_use"]].fillna(0), y_train
    )
    raw_auc = roc_auc_score(
        y_test, raw.predict_proba(test[["days_late", "limit_use"]].fillna(0))[:, 1]
    )
    assert auc > raw_auc + 0.05, (auc, raw_auc)
    table = card.points()
    assert set(table["Variable"]) >= {"days_late", "limit_use", "sector"}
    assert table["Points"].notna().all()
