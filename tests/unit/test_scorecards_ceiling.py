"""The learnable-ceiling helpers behind `make quality`'s ceiling_* figures."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from portrait.scorecards.ceiling import attach_truth, bootstrap_ratio, latent_frame


def _truth(tmp_path):
    pd.DataFrame(
        {
            "company_id": ["CO1", "CO2"],
            "size": [0.5, 0.1],
            "tech_orientation": [0.2, 0.9],
            "loyalty": [0.7, 0.3],
            "codev_willingness": [0.0, 0.4],
            "financial_health": [0.9, 0.2],
            "payment_terms_days": [30, 90],
            "purchase_rhythm": ["burst", "steady"],
        }
    ).to_csv(tmp_path / "companies.csv", index=False)
    pd.DataFrame(
        {
            "company_id": ["CO1", "CO2"],
            "month_end": ["2024-01-31", "2024-01-31"],
            "relationship": ["mature", "declining"],
            "financial_state": ["healthy", "distressed"],
            "project_phase": ["buying", "idle"],
            "codev_active": [1, 0],
            "closed": [0, 0],
        }
    ).to_csv(tmp_path / "states.csv", index=False)
    return tmp_path


def test_latent_frame_one_hot_state_and_traits(tmp_path):
    frame = latent_frame(_truth(tmp_path)).set_index("company_id")
    assert frame.loc["CO1", "latent_relationship_mature"] == 1.0
    assert frame.loc["CO2", "latent_relationship_mature"] == 0.0
    assert frame.loc["CO2", "latent_financial_state_distressed"] == 1.0
    assert frame.loc["CO1", "latent_burst_rhythm"] == 1.0
    assert frame.loc["CO2", "latent_payment_terms_days"] == 90
    assert frame.loc["CO1", "as_of_date"] == dt.date(2024, 1, 31)


def test_latent_frame_lags_the_state_per_company(tmp_path):
    truth = _truth(tmp_path)
    states = pd.read_csv(truth / "states.csv")
    later = states.assign(
        month_end="2024-02-29", financial_state=["stressed", "distressed"], closed=[0, 1]
    )
    pd.concat([later, states]).to_csv(truth / "states.csv", index=False)  # out of order
    frame = latent_frame(truth).set_index(["company_id", "as_of_date"])
    feb, jan = dt.date(2024, 2, 29), dt.date(2024, 1, 31)
    assert frame.loc[("CO1", feb), "latent_financial_state_stressed"] == 1.0
    assert frame.loc[("CO1", feb), "lag1_financial_state_healthy"] == 1.0
    assert frame.loc[("CO2", feb), "lag1_closed"] == 0.0
    assert np.isnan(frame.loc[("CO1", jan), "lag1_financial_state_healthy"])
    assert np.isnan(frame.loc[("CO1", feb), "lag2_financial_state_healthy"])


def test_attach_truth_keeps_only_rows_with_a_company_state_and_oracle(tmp_path):
    latent = latent_frame(_truth(tmp_path))
    oracle = pd.DataFrame(
        {"company_id": ["CO1"], "as_of_date": ["2024-01-31"], "p_churn_180d": [0.3]}
    )
    part = pd.DataFrame(
        {"cid": ["C1", "C2", "C9"], "as_of_date": [dt.date(2024, 1, 31)] * 3, "label": [0, 1, 1]}
    )
    rows = attach_truth(part, {"C1": "CO1", "C2": "CO2"}, latent, oracle, "churn_180d")
    assert rows["cid"].tolist() == ["C1"]  # C2 has no oracle row, C9 no company
    assert rows["p_churn_180d"].tolist() == [0.3]


def test_bootstrap_ratio_brackets_the_point_ratio():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    oracle = y + rng.normal(0, 0.5, 400)
    model = y + rng.normal(0, 1.0, 400)
    low, high = bootstrap_ratio(y, model, oracle, samples=200)
    assert low < high < 1.0  # a noisier model sits below the oracle
    same_low, same_high = bootstrap_ratio(y, oracle, oracle, samples=50)
    assert same_low == same_high == 1.0
