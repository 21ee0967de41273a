"""The training recipe on a table that is not the warehouse's (issue 17): awkward column names,
a text category, its own label and date columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models_ml.matrix import FeatureError
from models_ml.recipe import fit_frame, safe_names


def _loans(n_months: int = 18, per_month: int = 250, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_months * per_month
    amount = rng.lognormal(8, 0.6, n)
    duration = rng.integers(6, 60, n)
    purpose = rng.choice(["car", "education", "furniture", "business"], n)
    logit = -2.2 + 0.9 * np.log(amount / 3000) + 0.03 * (duration - 24)
    logit += np.where(purpose == "business", 1.0, 0.0)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    months = pd.date_range("2023-01-31", periods=n_months, freq="ME")
    return pd.DataFrame(
        {
            "loan id": np.arange(n),
            "Credit amount (DM)": amount,
            "Duration [months]": duration,
            "Purpose": purpose,
            "applied_on": np.repeat(months, per_month),
            "bad": y,
            "true_p": 1 / (1 + np.exp(-logit)),
        }
    )


def test_the_recipe_fits_an_external_frame():
    from sklearn.metrics import roc_auc_score

    loans = _loans()
    truth = loans.pop("true_p")
    result = fit_frame(
        loans, label="bad", date="applied_on", key="loan id", categorical=["Purpose"],
        horizon_days=31, search_space=result_space(),
    )  # fmt: skip
    assert result.feature_names["Credit amount (DM)"] == "Credit_amount_DM"
    assert result.feature_names["Duration [months]"] == "Duration_months"
    assert set(result.features) == set(result.feature_names.values())
    assert len(result.split.test_dates) >= 3 and result.split.train_dates
    test = result.parts["test"]
    oracle = roc_auc_score(test["label"], truth.iloc[test["cid"].astype(int)])
    assert result.metrics["roc_auc"] > 0.9 * oracle, (result.metrics, oracle)
    # the baseline scored the same test rows; the category was coded, not dropped
    assert 0.5 < result.baseline_metrics["roc_auc"] < 1
    assert result.xs["test"]["Purpose"].notna().all()


def result_space():
    from models_ml.fit import SEARCH_SPACE

    return SEARCH_SPACE[:2]  # two configs keep the unit test fast


def test_an_external_frame_with_an_undeclared_text_column_is_refused():
    with pytest.raises(FeatureError, match="'Purpose' is not numeric"):
        fit_frame(_loans().drop(columns="true_p"), label="bad", date="applied_on", key="loan id",
                  search_space=result_space())  # fmt: skip
    with pytest.raises(FeatureError, match="must be 0/1"):
        fit_frame(_loans().drop(columns="true_p").assign(bad=2), label="bad", date="applied_on",
                  categorical=["Purpose"])  # fmt: skip


def test_safe_names_are_unique_and_keep_unicode_letters():
    names = safe_names(["a b", "a-b", "1st", "回款天数(天)", "{x}"])
    assert names == {"a b": "a_b", "a-b": "a_b_2", "1st": "f_1st",
                     "回款天数(天)": "回款天数_天", "{x}": "x"}  # fmt: skip
