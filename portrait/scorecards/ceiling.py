"""How far can a model get on this world? The same LightGBM given the simulator's hidden state.

The oracle's probabilities come from replaying the latent process from each company's exact
state, so its AUC is the best any model can reach. Our models only see the exports, which
reflect that state partly and with noise. To tell "our features miss something" from "the
exports cannot say more" (or "this many rows cannot teach more"), ``ceilings`` refits the
target's LightGBM on the same time split three times, on the test rows the oracle covers:

- ``observed``: the target's feature columns (what the champion sees);
- ``latent``: the company's latent traits and its true state at the as_of date
  (``truth/companies.csv`` and ``truth/states.csv``), nothing observed;
- ``observed_plus_latent``: both;
- ``observed_plus_state_<k>m_before``: the observed features and the true state of k months
  before the as_of date (``STATE_LAGS``): if the state of a month or two ago adds nothing to
  what is observed but today's state does, the gap is state the exports do not show yet.

If even ``latent`` stays well below the oracle, the shortfall comes from what can be learnt
from this many labelled rows, not from the feature set. A paired bootstrap over the test
rows gives the sampling interval of the observed model's ratio to the oracle: on a small
world a few hundred test rows make that ratio uncertain by several points.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from models_ml import data
from models_ml.fit import fit_lightgbm, target_split
from models_ml.matrix import to_model_matrix
from models_ml.targets import Target
from portrait import db

TRAIT_COLUMNS = (
    "size",
    "tech_orientation",
    "loyalty",
    "codev_willingness",
    "financial_health",
    "payment_terms_days",
)
STATE_COLUMNS = ("relationship", "financial_state", "project_phase")
BOOTSTRAP_SAMPLES = 500
# The true state of this many months before the as_of date, on top of the observed features:
# how much of the gap is state the exports cannot show yet (lateness, for one, surfaces only
# when an invoice falls due, one to three months after it was issued).
STATE_LAGS = (1, 2)


def latent_frame(truth_dir: Path) -> pd.DataFrame:
    """(company_id, as_of_date) -> numeric latent traits and one-hot true state."""
    truth = Path(truth_dir)
    companies = pd.read_csv(truth / "companies.csv", dtype={"company_id": str})
    states = pd.read_csv(truth / "states.csv", dtype={"company_id": str})
    traits = companies.loc[:, ["company_id", *TRAIT_COLUMNS]].assign(
        burst_rhythm=(companies["purchase_rhythm"] == "burst").astype(float)
    )
    state = pd.get_dummies(states.loc[:, list(STATE_COLUMNS)], dtype=float).assign(
        company_id=states["company_id"],
        as_of_date=pd.to_datetime(states["month_end"]).dt.date,
        codev_active=states["codev_active"].astype(float),
        closed=states["closed"].astype(float),
    )
    frame = state.merge(traits, on="company_id", how="left")
    state_cols = [c for c in state.columns if c not in ("company_id", "as_of_date")]
    frame = frame.sort_values(["company_id", "as_of_date"], kind="stable")
    by_company = frame.groupby("company_id", sort=False)[state_cols]
    lagged = [by_company.shift(k).add_prefix(f"lag{k}_") for k in STATE_LAGS]
    frame.columns = [c if c in ("company_id", "as_of_date") else f"latent_{c}" for c in frame]
    return pd.concat([frame, *lagged], axis=1).reset_index(drop=True)


def oracle_rows(oracle: pd.DataFrame, target: str) -> pd.DataFrame:
    """(company_id, as_of_date as a date, p_<target>) of the oracle table."""
    return oracle.loc[:, ["company_id", "as_of_date", f"p_{target}"]].assign(
        as_of_date=lambda f: pd.to_datetime(f["as_of_date"]).dt.date
    )


def attach_truth(
    part: pd.DataFrame,
    companies: dict[str, str],
    latent: pd.DataFrame,
    oracle: pd.DataFrame,
    target: str,
) -> pd.DataFrame:
    """The rows of a window whose CID maps to a company with a latent state and an oracle
    probability, with both attached."""
    orc = oracle_rows(oracle, target)
    rows = part.assign(
        company_id=part["cid"].map(companies),
        as_of_date=pd.to_datetime(part["as_of_date"]).dt.date,
    ).dropna(subset=["company_id"])
    rows = rows.merge(latent, on=["company_id", "as_of_date"], how="inner")
    return rows.merge(orc, on=["company_id", "as_of_date"], how="inner").dropna(
        subset=[f"p_{target}"]
    )


def bootstrap_ratio(
    y: np.ndarray, model: np.ndarray, oracle: np.ndarray, samples: int = BOOTSTRAP_SAMPLES
) -> tuple[float, float]:
    """5th and 95th percentiles of AUC(model) / AUC(oracle) over paired row resamples."""
    rng = np.random.default_rng(0)
    ratios = []
    for _ in range(samples):
        idx = rng.integers(0, len(y), len(y))
        if len(np.unique(y[idx])) < 2:
            continue
        ratios.append(roc_auc_score(y[idx], model[idx]) / roc_auc_score(y[idx], oracle[idx]))
    if not ratios:
        return math.nan, math.nan
    low, high = np.percentile(ratios, [5, 95])
    return float(low), float(high)


def ceilings(
    target: Target,
    dsn: str | None,
    companies: dict[str, str],
    latent: pd.DataFrame,
    oracle: pd.DataFrame,
) -> dict:
    """Test AUC of the target's LightGBM on observed, latent (``latent_frame``) and both inputs,
    beside the oracle's on the same rows (see the module docstring)."""
    with db.connect(dsn) as conn:
        frame = data.training_frame(conn, target)
    _, parts = target_split(target, frame)
    rows = {k: attach_truth(v, companies, latent, oracle, target.name) for k, v in parts.items()}
    y = {k: v["label"].to_numpy(dtype=int) for k, v in rows.items()}
    if any(len(np.unique(v)) < 2 for v in y.values()):
        return {"error": "a window lacks one of the classes after mapping to the truth"}
    latent_cols = [c for c in latent.columns if c.startswith("latent_")]
    inputs = {
        "observed": list(target.features),
        "latent": latent_cols,
        "observed_plus_latent": [*target.features, *latent_cols],
        **{
            f"observed_plus_state_{k}m_before": [
                *target.features,
                *(c for c in latent.columns if c.startswith(f"lag{k}_")),
            ]
            for k in STATE_LAGS
        },
    }
    p_oracle = rows["test"][f"p_{target.name}"].to_numpy(dtype=float)
    oracle_auc = float(roc_auc_score(y["test"], p_oracle))
    out: dict[str, float] = {"test_rows": float(len(y["test"])), "oracle_auc": oracle_auc}
    scores = {}
    for name, cols in inputs.items():
        xs = {k: to_model_matrix(v, cols) for k, v in rows.items()}
        model = fit_lightgbm(
            xs["train"], y["train"], xs["valid"], y["valid"], 42, None, target.balance_classes
        )
        scores[name] = model.predict_proba(xs["test"])[:, 1]
        auc = float(roc_auc_score(y["test"], scores[name]))
        out[f"{name}_auc"] = auc
        out[f"{name}_ratio_to_oracle"] = auc / oracle_auc
    low, high = bootstrap_ratio(y["test"], scores["observed"], p_oracle)
    # the refit's interval (the ceiling's observed row), not the champion's: see models.py
    out["observed_refit_ratio_p05"], out["observed_refit_ratio_p95"] = low, high
    return out
