"""Uplift learners and their Qini evaluation on a simulated campaign whose individual effects
are known: the learners must find the persuadable customers (better than random and than
targeting likely buyers), the oracle must be the ceiling, and the curves must count what
Radcliffe's definition counts, ties included."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from models_ml import uplift as U

ROWS = 4000


def _world(n: int, seed: int):
    """A randomised campaign: the base purchase rate depends on x1, the effect (on the
    log-odds) on x2 and x3, negative for about a third of the customers; x4 and the region
    are noise. Returns (features, y, t, true tau, true P(buy | control))."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(1, 5)})
    frame["x5"] = pd.Categorical(rng.choice(["north", "south", "east"], size=n))
    base = -1.0 + 1.0 * frame["x1"].to_numpy()
    delta = 0.8 * frame["x2"].to_numpy() + 0.6 * (frame["x3"].to_numpy() > 0)
    p0 = 1 / (1 + np.exp(-base))
    p1 = 1 / (1 + np.exp(-(base + delta)))
    t = (rng.random(n) < 0.5).astype(int)
    y = (rng.random(n) < np.where(t == 1, p1, p0)).astype(int)
    return frame, y, t, p1 - p0, p0


@pytest.fixture(scope="module")
def campaign():
    """Learners fitted on one campaign, every policy's scores on a fresh one."""
    x, y, t, _, _ = _world(ROWS, 11)
    x_test, y_test, t_test, tau, p0 = _world(ROWS, 101)
    learners = {"t_learner": U.TLearner().fit(x, y, t), "x_learner": U.XLearner().fit(x, y, t)}
    scores = {name: m.predict(x_test) for name, m in learners.items()}
    scores[U.RANDOM] = U.score_random(ROWS, seed=0)
    scores[U.BY_PURCHASE] = U.score_by_column(x_test.assign(p_purchase=p0), "p_purchase")
    scores[U.EVERYONE] = U.score_everyone(ROWS)
    scores[U.ORACLE] = U.score_oracle(tau)
    return {"x": x_test, "y": y_test, "t": t_test, "tau": tau, "learners": learners, **scores}


def test_learners_beat_random_and_purchase_targeting_and_the_oracle_is_best(campaign):
    tau = campaign["tau"]
    assert (tau < 0).mean() > 0.2  # some customers are put off by the contact
    ratio = {
        name: U.qini_ratio_true(tau, campaign[name])
        for name in ("t_learner", "x_learner", U.RANDOM, U.BY_PURCHASE, U.EVERYONE, U.ORACLE)
    }
    assert ratio[U.ORACLE] == pytest.approx(1.0)
    assert max(ratio.values()) == ratio[U.ORACLE]
    for learner in ("t_learner", "x_learner"):
        assert ratio[learner] > 0.7
        assert ratio[learner] > ratio[U.RANDOM] + 0.5
        assert ratio[learner] > ratio[U.BY_PURCHASE] + 0.5
    assert abs(ratio[U.RANDOM]) < 0.1
    assert ratio[U.EVERYONE] == pytest.approx(0.0, abs=1e-12)
    # the empirical Qini (outcomes only) agrees on the order, up to its noise
    y, t = campaign["y"], campaign["t"]
    empirical = {n: U.qini_coefficient(y, t, campaign[n]) for n in ("x_learner", U.RANDOM)}
    assert empirical["x_learner"] > empirical[U.RANDOM]
    assert U.qini_ratio(y, t, tau, campaign["x_learner"]) > 0.5


def test_uplift_at_k_is_highest_in_the_learners_top_share(campaign):
    tau, score = campaign["tau"], campaign["x_learner"]
    assert U.uplift_at_k_true(tau, score, 0.2) > 2 * tau.mean()
    assert U.uplift_at_k(campaign["y"], campaign["t"], score, 0.2) > tau.mean()
    # the whole audience: the difference of the arms' response rates
    y, t = campaign["y"], campaign["t"]
    overall = y[t == 1].mean() - y[t == 0].mean()
    assert U.uplift_at_k(y, t, score, 1.0) == pytest.approx(overall)


def test_learners_expose_their_outcome_models(campaign):
    x = campaign["x"]
    t_learner, x_learner = campaign["learners"].values()
    assert np.allclose(t_learner.predict(x), t_learner.p1_hat(x) - t_learner.p0_hat(x))
    for model in (t_learner, x_learner):
        p0, p1 = model.p0_hat(x), model.p1_hat(x)
        assert ((p0 > 0) & (p0 < 1) & (p1 > 0) & (p1 < 1)).all()
    assert x_learner.categorical_ == ["x5"]  # the pandas category column, coded as in fit.py
    assert np.allclose(x_learner.e_hat(x), x_learner.e_)


def test_a_random_score_has_a_qini_of_zero():
    _, y, t, tau, _ = _world(ROWS, 5)
    oracle_true = U.qini_coefficient_true(tau, tau)
    oracle = U.qini_coefficient(y, t, tau)
    true, empirical = [], []
    for seed in range(40):
        score = U.score_random(ROWS, seed)
        true.append(U.qini_coefficient_true(tau, score))
        empirical.append(U.qini_coefficient(y, t, score))
    assert max(abs(v) for v in true) < 0.1 * oracle_true
    # one draw is noisy, the average is ~0
    assert abs(np.mean(empirical)) < 0.05 * oracle
    assert np.std(empirical) > 0


def test_the_qini_curve_counts_radcliffes_incremental_responses():
    y = np.array([1, 0, 1, 1, 0, 0])
    t = np.array([1, 1, 0, 1, 0, 0])
    x, q = U.qini_curve(y, t, [0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    assert np.allclose(x, [0, 1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1])
    # R_t - R_c * N_t / N_c among those targeted; no control targeted yet: no correction
    assert np.allclose(q, [0, 1, 1, 1 - 2, 2 - 3, 2 - 1 * 3 / 2, 2 - 1 * 3 / 3])
    area = np.sum(np.diff(x) * (q[1:] + q[:-1]) / 2)
    assert U.qini_coefficient(y, t, [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]) == pytest.approx(
        area - q[-1] / 2
    )


def test_the_curves_end_at_the_whole_audiences_incremental_responses():
    _, y, t, tau, _ = _world(ROWS, 7)
    score = U.score_random(ROWS, 3)
    frac, q = U.qini_curve(y, t, score)
    n_t, n_c = t.sum(), (1 - t).sum()
    assert (frac[0], q[0], frac[-1]) == (0.0, 0.0, 1.0)
    assert q[-1] == pytest.approx(y[t == 1].sum() - y[t == 0].sum() * n_t / n_c)
    frac, q = U.qini_curve_true(tau, score)
    assert (frac[-1], q[-1]) == (1.0, pytest.approx(tau.sum()))


def test_tied_scores_are_one_step_whatever_their_order():
    x, y, t, tau, _ = _world(600, 8)
    score = np.round(x["x2"].to_numpy()).clip(-1, 1)  # three values
    frac, q = U.qini_curve(y, t, score)
    assert len(frac) == 4  # (0, 0) and one point per tie group
    shuffled = np.random.default_rng(0).permutation(len(y))
    frac2, q2 = U.qini_curve(y[shuffled], t[shuffled], score[shuffled])
    assert np.allclose(frac, frac2) and np.allclose(q, q2)
    assert U.qini_coefficient_true(tau, score) == pytest.approx(
        U.qini_coefficient_true(tau[shuffled], score[shuffled])
    )
    # a constant score cannot prefer anyone: the random diagonal itself
    frac, q = U.qini_curve(y, t, U.score_everyone(len(y)))
    assert len(frac) == 2
    assert U.qini_coefficient(y, t, U.score_everyone(len(y))) == 0.0
    # the top share is widened to the end of the tie group the cutoff falls in
    top = score == score.max()
    assert U.uplift_at_k_true(tau, score, 0.01) == pytest.approx(tau[top].mean())


def test_the_same_seed_gives_the_same_predictions():
    x, y, t, _, _ = _world(1500, 9)
    for cls in (U.TLearner, U.XLearner):
        first, again = cls(seed=3).fit(x, y, t), cls(seed=3).fit(x, y, t)
        assert np.array_equal(first.predict(x), again.predict(x))
        assert not np.array_equal(first.predict(x), cls(seed=4).fit(x, y, t).predict(x))


def test_options_early_stopping_fitted_propensity_arrays_and_text_categories():
    x, y, t, tau, _ = _world(2000, 12)
    frame = x.assign(x5=x["x5"].astype(str))  # text, not category: still categorical
    stopped = U.TLearner({"n_estimators": 500}, early_stopping_rounds=20).fit(frame, y, t)
    assert stopped.categorical_ == ["x5"]
    assert stopped.mu0_.best_iteration_ < 500
    fitted = U.XLearner(propensity="fit").fit(frame, y, t)
    e = fitted.e_hat(frame)
    assert ((e >= 0.01) & (e <= 0.99)).all() and abs(e.mean() - t.mean()) < 0.05
    assert U.qini_ratio_true(tau, fitted.predict(frame)) > 0.5
    arrays = U.XLearner(propensity=0.5).fit(x.drop(columns="x5").to_numpy(), y, t)
    assert arrays.features_ == ["x0", "x1", "x2", "x3"]
    assert U.qini_ratio_true(tau, arrays.predict(x.drop(columns="x5").to_numpy())) > 0.5
    with pytest.raises(ValueError, match="both arms"):
        U.TLearner().fit(x, y, np.ones(len(y), dtype=int))
    with pytest.raises(ValueError, match="propensity"):
        U.XLearner(propensity=1.0)


def test_the_qini_plot_is_written(tmp_path):
    from models_ml import plots

    *_, tau, p0 = _world(800, 13)
    curves = {
        "oracle · 理想": U.qini_curve_true(tau, U.score_oracle(tau)),
        "by purchase · 按购买概率": U.qini_curve_true(tau, p0),
        "random · 随机": U.qini_curve_true(tau, U.score_random(len(tau))),
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = U.qini_plot(curves, tmp_path / "plots" / "qini.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5000
    if plots.cjk_families():  # a CJK font is installed: every Chinese glyph was drawn
        assert not [w for w in caught if "missing from" in str(w.message)]


def test_a_stratified_learner_learns_each_strata_effect_and_pools_the_small_ones():
    """Two campaign kinds with opposite effects on the same customers (a report moves the
    technical ones, a price list the others) and a third too small for its own learner."""
    rng = np.random.default_rng(11)
    n = 6000
    kind = rng.choice(["report", "price_list", "rare"], size=n, p=[0.48, 0.48, 0.04])
    tech = rng.random(n)
    t = (rng.random(n) < 0.6).astype(int)
    tau = np.where(
        kind == "report", 0.4 * tech, np.where(kind == "price_list", 0.4 * (1 - tech), 0)
    )
    y = (rng.random(n) < 0.1 + t * tau).astype(int)
    X = pd.DataFrame({"kind": kind, "tech": tech})
    learner = U.StratifiedLearner(["kind"], seed=3, categorical=["kind"], min_arm=150)
    learner.fit(X, y, t)
    assert set(learner.strata_) == {"report", "price_list"}
    probe = pd.DataFrame({"kind": ["report", "report", "price_list", "price_list", "rare"],
                          "tech": [0.9, 0.1, 0.9, 0.1, 0.5]})  # fmt: skip
    got = learner.predict(probe)
    assert got[0] > got[1] + 0.15 and got[3] > got[2] + 0.15
    # the rare kind is scored by the pooled learner; outcome models are there for every row
    np.testing.assert_allclose(got[4], learner.pooled_.predict(probe.iloc[[4]])[0])
    assert (learner.p1_hat(probe) >= 0).all() and (learner.p0_hat(probe) <= 1).all()
    assert U.qini_ratio_true(tau, learner.predict(X)) > 0.6
