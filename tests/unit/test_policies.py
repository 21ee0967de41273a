"""The gate compares policies: LightGBM is served only when it beats every baseline on the test
window; a baseline that wins is registered in a real MLflow registry, loaded back as champion
and scored with reasons like the booster."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from models_ml.targets import Target


def _linear_frame(rows_per_date: int = 300, dates: int = 24, seed: int = 0) -> pd.DataFrame:
    """A label that is a clean logistic of two features, beside noise and a category."""
    rng = np.random.default_rng(seed)
    month_ends = pd.date_range(dt.date(2022, 1, 31), periods=dates, freq="ME").date
    n = rows_per_date * dates
    frame = pd.DataFrame(
        {
            "cid": [f"C{i % rows_per_date:04d}" for i in range(n)],
            "as_of_date": np.repeat(month_ends, rows_per_date),
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            **{f"noise_{k}": rng.normal(size=n) for k in range(6)},
            "sector": rng.choice(["ceramics", "graphene", "fibre"], size=n),
        }
    )
    logit = 1.2 * frame["a"] - 0.9 * frame["b"] - 0.5
    frame["label"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


TARGET = Target(
    name="purchase_30d",  # a real target's name, so the registry's champion loader knows it
    description="a linear world",
    horizon_days=30,
    band_edges=(0.2, 0.5),
    band_names=("cold", "warm", "hot"),
    features=("a", "b", *(f"noise_{k}" for k in range(6)), "sector"),
    categorical=frozenset({"sector"}),
    calibration="platt",
    baselines=("logistic", "bgnbd"),
)
# A config that overfits noise: the logistic, which is the truth's form, must win.
OVERFIT = (
    {"num_leaves": 63, "min_child_samples": 2, "learning_rate": 0.3, "colsample_bytree": 1.0},
)


@pytest.fixture(scope="module")
def fitted():
    from models_ml.fit import fit

    return fit(_linear_frame(), TARGET, search_space=OVERFIT)


def test_a_baseline_that_beats_lightgbm_is_the_policy_served(fitted):
    from models_ml.policies import OneHotLogistic
    from models_ml.train import served_reasons

    auc = {name: m["roc_auc"] for name, m in fitted.candidates.items()}
    assert set(auc) == {"lightgbm", "logistic"}
    assert auc["logistic"] > auc["lightgbm"]
    assert fitted.chosen == "logistic" and isinstance(fitted.served, OneHotLogistic)
    assert fitted.metrics["roc_auc"] == auc["logistic"]
    assert np.allclose(fitted.reference["score"], fitted.test_scores["logistic"])
    # BG/NBD could not be compared (no order columns in this frame) and the reasons say so
    assert "orders_365d" in fitted.failed_baselines["bgnbd"]
    reasons = served_reasons(fitted)
    assert reasons[0].startswith("logistic served: LightGBM test AUC")
    assert any(r.startswith("baseline bgnbd not compared") for r in reasons)


def test_lightgbm_is_served_when_it_beats_every_baseline():
    from models_ml.fit import choose

    assert choose({"lightgbm": {"roc_auc": 0.81}, "logistic": {"roc_auc": 0.80}}) == "lightgbm"
    assert choose({"lightgbm": {"roc_auc": 0.80}, "logistic": {"roc_auc": 0.80}}) == "logistic"
    assert (
        choose(
            {
                "lightgbm": {"roc_auc": 0.80},
                "logistic": {"roc_auc": 0.79},
                "bgnbd": {"roc_auc": 0.82},
            }
        )
        == "bgnbd"
    )
    assert choose({"lightgbm": {"roc_auc": float("nan")}, "logistic": {"roc_auc": 0.6}}) == (
        "logistic"
    )


def test_linear_contributions_add_up_to_the_log_odds(fitted):
    model = fitted.served
    x = fitted.xs["test"]
    contrib = model.contributions(x)
    assert contrib.shape == (len(x), len(TARGET.features))
    assert np.allclose(contrib.sum(axis=1) + model.intercept, model.decision_function(x))
    # the truth's two features carry the weight, one category's levels add up to one feature
    strength = np.abs(contrib).mean(axis=0)
    top = {TARGET.features[i] for i in np.argsort(-strength)[:2]}
    assert top == {"a", "b"}


def test_a_served_baseline_goes_through_the_registry_and_scores_with_reasons(
    fitted, tmp_path, monkeypatch
):
    from models_ml import registry, tracking
    from models_ml.score import score_matrix
    from models_ml.train import register_challenger

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("PORTRAIT_MLFLOW_ARTIFACT_ROOT", str(tmp_path / "artefacts"))
    client = tracking.configure()
    import mlflow

    mlflow.set_experiment("policies")
    with mlflow.start_run():
        version = register_challenger(client, fitted)
    champ = registry.load_champion("purchase_30d", registry.CHALLENGER)
    assert champ.version == version and champ.policy == "logistic"
    assert champ.features == list(TARGET.features)
    x = fitted.xs["test"].to_numpy()
    assert np.allclose(champ.predict(x), fitted.p_test)
    scored = score_matrix(champ, x)
    assert set(scored["band"]) <= {"cold", "warm", "hot"}
    named = [r for r in scored["reason_1"] if r]
    assert named and all(r.split(" (+")[0] in {*TARGET.features} for r in named)
    with pytest.raises(TypeError, match="not a booster"):
        _ = champ.booster
    # the same version loads in standard MLflow tooling, from code and JSON (no pickle)
    served = mlflow.pyfunc.load_model(f"models:/portrait_purchase_30d/{version}")
    assert np.allclose(served.predict(fitted.xs["test"]), fitted.p_test)


def test_baselines_fit_the_model_matrix_and_come_back_from_json_unchanged():
    import json

    from sklearn.metrics import roc_auc_score

    from models_ml import policies

    rng = np.random.default_rng(3)
    n = 3000
    rate = rng.gamma(1.0, 1 / 60.0, size=n)  # purchases per day
    first = rng.uniform(30, 730, size=n)
    orders = rng.poisson(rate * first) + 1
    last = np.minimum(rng.uniform(0, 1, size=n) * first / orders, first)
    frame = pd.DataFrame(
        {
            "orders_365d": np.ceil(orders / 2),
            "orders_prev_365d": np.floor(orders / 2),
            "days_since_first_order_730d": first,
            "days_since_last_order": last,
        }
    )
    frame.loc[:99, :] = np.nan  # no order in two years
    _, t_x, T, buyer = policies.btyd_inputs(frame)
    assert not buyer[:100].any() and buyer[100:].all() and (t_x <= T).all()
    buys = (rng.random(n) < 1 - np.exp(-rate * 30)).astype(int)
    btyd = policies.BGNBDPolicy(30, "purchase").fit(frame).calibrate(frame, buys)
    assert roc_auc_score(buys, btyd.predict_proba(frame)[:, 1]) > 0.6
    contrib = btyd.contributions(frame)
    assert contrib.shape == (n, 4) and np.isfinite(contrib).all()
    # six orders, the last 700 days ago: its recency lowers the odds of a purchase
    lapsed = frame.iloc[[100]].assign(
        days_since_last_order=700.0, days_since_first_order_730d=720.0, orders_365d=0.0,
        orders_prev_365d=6.0,
    )  # fmt: skip
    assert btyd.contributions(lapsed)[0, 3] < 0

    # a credit-like table: a stepped risk in one number, a risky region, missing values
    # (with a column an orders-only export leaves empty, which the scorecard cannot bin)
    credit = frame.assign(region=rng.choice([11.0, 22.0, 33.0], size=n), tickets_365d=np.nan)
    credit.loc[rng.random(n) < 0.05, "region"] = np.nan
    risk = (credit["days_since_last_order"].fillna(500) > 60) * 1.5 + (credit["region"] == 33) - 2
    risky = (rng.random(n) < 1 / (1 + np.exp(-risk))).astype(int)
    cols = list(credit.columns)
    card = policies.fit_baseline(
        "scorecard", credit, risky, features=cols, categorical=["region"], horizon_days=180,
        churn=False, balance_classes=False, seed=0,
    )  # fmt: skip
    # the served tables give optbinning's own probabilities, row for row
    assert np.allclose(card.predict_proba(credit)[:, 1], card.card.predict_proba(credit))
    assert roc_auc_score(risky, card.predict_proba(credit)[:, 1]) > 0.65
    logistic = policies.fit_baseline(
        "logistic", credit, risky, features=cols, categorical=["region"], horizon_days=180,
        churn=False, balance_classes=False, seed=0,
    )  # fmt: skip
    unseen = credit.head(50).assign(region=99.0)  # a region no training row had
    for model in (btyd, card, logistic):
        back = policies.from_dict(json.loads(json.dumps(model.to_dict())))
        for rows in (credit, unseen):
            assert np.allclose(back.predict_proba(rows), model.predict_proba(rows))
            assert np.allclose(back.contributions(rows), model.contributions(rows))
