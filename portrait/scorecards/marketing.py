"""Marketing quality (issue 19): campaigns measured against the simulator's true effects.

The marketing world (``MARKETING_WORLD``: 1,000+ companies, campaigns with a random holdout and
a known effect per customer, ``simulate(marketing=True)``) goes through the pipeline the model
worlds use, plus the marketing marts. Then:

- **A/B coverage**: for every campaign's conversion test in ``marts.mart_campaign_ab_tests``,
  whether its 90 % interval holds the campaign's true average effect (the mean over its
  members of p1 - p0, ``truth/campaigns.csv``); the plain and the CUPED interval. Close to 0.9
  when the intervals are right.
- **Uplift**: the pipeline's learner (one LightGBM X-learner per campaign template, centred
  on its observed effect; a pooled X-learner and a T-learner beside it) trained on the earlier
  campaigns' members — point-in-time features of the day before the start, the campaign's
  goal, channel, offer and content — and judged on the later campaigns' members by its true
  Qini (targeting by the score, each member counted with its true effect) as a ratio to the
  oracle's (targeting by the true effect); "by purchase score" (a LightGBM classifier of the
  conversion without the campaign, trained on the held-out members: whom a purchase model
  would pick) and random targeting beside it on the same rows.
- **Strategies**: per goal (acquire, grow, retain), the pooled A/B test and its truth.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from lightgbm import LGBMRegressor

from models_ml import uplift, uplift_task
from models_ml.matrix import to_model_matrix
from portrait import db
from portrait.scorecards.model_worlds import build_model_world
from portrait.settings import Settings

MARKETING_WORLD = {
    "scale": 10, "seed": 42, "identity_noise": 0.15, "start": "2023-07-01", "months": 36,
    "marketing": True, "oracle_replays": 16,
}  # fmt: skip
SEED = uplift_task.SEED


def ab_coverage(dsn: str, truth_dir: Path) -> dict:
    """Share of the campaigns' 90 % conversion intervals (plain and CUPED) that hold the true
    average effect, with the campaigns' widths and CUPED's variance reduction."""
    truth = pd.read_csv(Path(truth_dir) / "campaigns.csv", dtype={"campaign_id": str})
    with db.connect(dsn) as conn:
        tests = db.read_frame(
            conn,
            "select scope_id as campaign_id, n_treatment, n_holdout, effect, ci_low, ci_high, "
            "cuped_ci_low, cuped_ci_high, variance_reduction, verdict "
            "from marts.mart_campaign_ab_tests "
            "where scope = 'campaign' and metric = 'conversion' and std_error is not null",
        )
    both = tests.merge(truth[["campaign_id", "true_ate"]], on="campaign_id", how="inner")
    if both.empty:
        return {"status": "no campaign test", "campaigns_in_truth": len(truth)}
    ate = both["true_ate"].to_numpy(float)
    plain = (both["ci_low"] <= ate) & (ate <= both["ci_high"])
    cuped = (both["cuped_ci_low"] <= ate) & (ate <= both["cuped_ci_high"])
    n = len(both)
    return {
        "campaigns": n,
        "campaigns_in_truth": len(truth),
        "ab_coverage": round(float(plain.mean()), 4),
        # the binomial spread of a coverage measured on n campaigns
        "ab_coverage_std_error": round(math.sqrt(0.9 * 0.1 / n), 4),
        "ab_coverage_cuped": round(float(cuped.mean()), 4),
        "mean_interval_width": round(float((both["ci_high"] - both["ci_low"]).mean()), 4),
        "mean_variance_reduction": round(float(both["variance_reduction"].mean()), 4),
        "mean_abs_error": round(float((both["effect"] - ate).abs().mean()), 4),
        "mean_members": round(float((both["n_treatment"] + both["n_holdout"]).mean()), 1),
        "true_ate_mean": round(float(ate.mean()), 4),
        "verdicts": both["verdict"].value_counts().to_dict(),
    }


def strategies(dsn: str, truth_dir: Path) -> dict:
    """Per lifecycle strategy (goal): the pooled conversion test and the truth beside it."""
    truth = pd.read_csv(Path(truth_dir) / "campaigns.csv", dtype={"campaign_id": str})
    truth["members"] = truth["n_treatment"] + truth["n_holdout"]
    with db.connect(dsn) as conn:
        goals = db.read_frame(
            conn,
            "select scope_id as goal, campaigns, n_treatment, n_holdout, effect, ci_low, "
            "ci_high, cuped_effect, cuped_ci_low, cuped_ci_high, verdict, verdict_en "
            "from marts.mart_campaign_ab_tests where scope = 'goal' and metric = 'conversion'",
        )
    out = {}
    for row in goals.to_dict("records"):
        of_goal = truth[truth["goal"] == row["goal"]]
        weights = of_goal["members"].to_numpy(float)
        true_ate = float(np.average(of_goal["true_ate"], weights=weights)) if len(of_goal) else None
        out[row["goal"]] = {
            k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items() if k != "goal"
        } | {
            "true_ate": None if true_ate is None else round(true_ate, 4),
            "covered": None
            if true_ate is None
            else bool(row["cuped_ci_low"] <= true_ate <= row["cuped_ci_high"]),
        }
    return out


def true_effect_regression(x, tau, train, categorical) -> np.ndarray:
    """A LightGBM regression of the true individual effects on the features, fitted on the
    training rows, predicted on every row: the best a learner of these features could hope
    for (the learners see outcomes, never tau)."""
    columns = list(x.columns)
    model = LGBMRegressor(
        **uplift.DEFAULT_PARAMS, random_state=SEED, deterministic=True, n_jobs=1, verbose=-1
    )
    matrix = to_model_matrix(x[train], columns, categorical)
    model.fit(matrix, tau[train], categorical_feature=list(categorical) or "auto")
    return model.predict(to_model_matrix(x, columns, categorical))


def uplift_quality(dsn: str, truth_dir: Path, plot: Path | None = None) -> dict:
    """Train the uplift learners on the earlier campaigns, judge them on the later ones by the
    true Qini as a ratio to the oracle's; purchase-score and random targeting beside them."""
    with db.connect(dsn) as conn:
        frame = uplift_task.campaign_frame(conn)
    members = pd.read_csv(
        Path(truth_dir) / "campaign_members.csv", dtype={"campaign_id": str, "account_id": str}
    )
    frame = frame.merge(
        members[["campaign_id", "account_id", "tau"]], on=["campaign_id", "account_id"],
        how="inner",
    )  # fmt: skip
    if frame.empty:
        return {"status": "no campaign members with features"}
    # the pipeline's own fit and gate (one X-learner per campaign template): its split, its
    # purchase-score and random policies
    fit = uplift_task.fit_uplift(frame, SEED)
    x, categorical = frame[fit.columns], fit.categorical
    y = frame["converted"].to_numpy(int)
    t = frame["treated"].to_numpy(int)
    tau = frame["tau"].to_numpy(float)
    tr, te = ~fit.test, fit.test
    test_campaigns = set(frame.loc[te, "campaign_id"])
    scores: dict[str, np.ndarray] = {
        "stratified": fit.scores["uplift_model"],
        "purchase_score": fit.scores[uplift.BY_PURCHASE],
        "random": fit.scores[uplift.RANDOM],
    }
    learners = {
        "x_learner": uplift.XLearner(seed=SEED, categorical=categorical),
        "t_learner": uplift.TLearner(seed=SEED, categorical=categorical),
    }
    for name, learner in learners.items():
        learner.fit(x[tr], y[tr], t[tr])
        scores[name] = learner.predict(x[te])
    scores["oracle"] = uplift.score_oracle(tau[te])
    # the ceiling: what these features can tell at all, a regression on the TRUE effects of
    # the training rows (no learner sees those; no outcome noise, no arm split)
    scores["ceiling"] = true_effect_regression(x, tau, tr, categorical)[te]

    ratios = {name: round(uplift.qini_ratio_true(tau[te], s), 4) for name, s in scores.items()}
    empirical = {
        name: round(uplift.qini_coefficient(y[te], t[te], s), 3) for name, s in scores.items()
    }
    if plot is not None:
        curves = {name: uplift.qini_curve_true(tau[te], s) for name, s in scores.items()}
        uplift.qini_plot(curves, plot, title="Uplift on the later campaigns (true effects)")
    return {
        "train_rows": int(tr.sum()),
        "test_rows": int(te.sum()),
        "test_campaigns": len(test_campaigns),
        "train_campaigns": frame["campaign_id"].nunique() - len(test_campaigns),
        "qini_ratio_to_oracle": ratios["stratified"],
        "qini_ratio_pooled_x_learner": ratios["x_learner"],
        "qini_ratio_t_learner": ratios["t_learner"],
        "qini_ratio_score_targeting": ratios["purchase_score"],
        "qini_ratio_random": ratios["random"],
        "qini_ratio_ceiling": ratios["ceiling"],
        "qini_share_of_ceiling": round(ratios["stratified"] / ratios["ceiling"], 4)
        if ratios["ceiling"] > 0
        else None,
        "qini_empirical": empirical,
        # what the pipeline's gate decides on these campaigns (empirical figures only)
        "gate": {
            "registered": not fit.reasons,
            "reasons": fit.reasons,
            **{k: round(v, 3) for k, v in fit.metrics.items() if "qini" in k or "at_30" in k},
        },
        "beats_score_and_random": bool(
            ratios["stratified"] > ratios["purchase_score"]
            and ratios["stratified"] > ratios["random"]
        ),
        "true_effect_mean_test": round(float(tau[te].mean()), 4),
    }


def marketing_quality(dsn: str, settings: Settings) -> dict:
    """Build (or reuse) the marketing world and judge the A/B intervals and the uplift model."""
    info = build_model_world("marketing", dsn, settings, MARKETING_WORLD)
    truth = Path(info["truth"])
    figures: dict = {"world": {k: info[k] for k in ("database", "reused", "build_seconds")}}
    figures |= ab_coverage(info["dsn"], truth)
    figures["strategies"] = strategies(info["dsn"], truth)
    plot = settings.reports_dir / "marketing_qini.png"
    figures |= uplift_quality(info["dsn"], truth, plot)
    figures["qini_plot"] = str(plot)
    return figures
