"""Uplift: who buys *because* they were contacted, not who buys. Two meta-learners on LightGBM
(T and X), the Qini evaluation of a targeting score, the policies it is compared with and
the Qini plot; pure functions and plain classes, no warehouse, no MLflow, no Airflow.

A campaign's audience is split into treated (contacted, t = 1) and control (held out,
t = 0) customers; y is the outcome (1 = bought). A learner estimates each customer's
individual effect tau(x) = P(y = 1 | x, treated) - P(y = 1 | x, control), and customers are
targeted by it, highest first.

Two families of metrics, never to be mixed in one ratio:

* **empirical** (``qini_curve``, ``qini_coefficient``, ``uplift_at_k``, ``qini_ratio``)
  read only y and t, as on a real campaign: the incremental responses in the targeted share
  are estimated by comparing its treated and control customers, so they carry the outcome's
  noise (a random score's Qini is 0 only on average);
* **true** (``qini_curve_true``, ``qini_coefficient_true``, ``uplift_at_k_true``,
  ``qini_ratio_true``) read the known individual effects tau of simulated data: the curve
  adds up the true effects of the customers targeted, with no outcome noise. Model quality
  is reported as ``qini_ratio_true``: the model's true Qini over the oracle's (targeting by
  tau itself), 1 at best, ~0 for a random order, negative when worse than random.

Both curves run from (0, 0) to (1, the whole audience's incremental responses); the
coefficient is the area between the curve and the random diagonal to that end point.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from models_ml.matrix import to_model_matrix

# Small-data defaults, for a few thousand customers per arm: shallow trees with many rows
# per leaf, a slow learning rate and bagging, so that one arm's outcome noise is not learnt
# as an effect (an uplift is a difference of two noisy fits; variance is the enemy).
DEFAULT_PARAMS: dict[str, float] = {
    "n_estimators": 200,
    "learning_rate": 0.03,
    "num_leaves": 7,
    "min_child_samples": 50,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 5.0,
}
# A fitted propensity is clipped to this band: the X-learner weighs the two effect models by
# it, and an extreme estimate would let one noisy model decide alone.
PROPENSITY_CLIP = (0.01, 0.99)

# The X-learner's propensity choices: the share treated (a randomised campaign's known,
# constant assignment probability) or a LightGBM classifier of t on x.
CONSTANT, FITTED = "constant", "fit"


# --------------------------------------------------------------------------- learners


def _check_arms(y, t) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float)
    t = np.asarray(t)
    if y.shape != t.shape or y.ndim != 1:
        raise ValueError(f"y and t must be 1-d of one length, got {y.shape} and {t.shape}")
    if not np.isin(t, (0, 1)).all():
        raise ValueError("t must hold 0 (control) and 1 (treated) only")
    t = t.astype(int)
    if t.sum() == 0 or t.sum() == len(t):
        raise ValueError("both arms are needed: t holds only one value")
    if not np.isfinite(y).all():
        raise ValueError("y holds NaN or infinite values")
    return y, t


def _binary(y: np.ndarray) -> bool:
    return bool(np.isin(y, (0.0, 1.0)).all())


class _Base:
    """What both learners share: the model matrix (categorical columns as fit.py feeds them
    to LightGBM) and seeded, deterministic LightGBM models."""

    def __init__(
        self,
        params: Mapping[str, float] | None = None,
        *,
        seed: int = 42,
        n_jobs: int = 1,
        categorical: Iterable[str] | None = None,
        early_stopping_rounds: int | None = None,
        valid_share: float = 0.2,
    ):
        self.params = {**DEFAULT_PARAMS, **(params or {})}
        self.seed = seed
        self.n_jobs = n_jobs
        self.categorical = None if categorical is None else list(categorical)
        self.early_stopping_rounds = early_stopping_rounds
        self.valid_share = valid_share

    # the model matrix --------------------------------------------------------------
    def _matrix(self, X, fitting: bool) -> pd.DataFrame:
        """X as the float frame LightGBM reads. A DataFrame's categorical columns (given, or
        by default those of category, object or string dtype) become the stable category
        codes of ``matrix.to_model_matrix``, as in fit.py, and are declared categorical to
        LightGBM; an array's columns are named x0, x1, ..."""
        if isinstance(X, pd.DataFrame):
            frame = X.rename(columns=str)
        else:
            values = np.asarray(X, dtype=float)
            values = values.reshape(-1, 1) if values.ndim == 1 else values
            frame = pd.DataFrame(values, columns=[f"x{i}" for i in range(values.shape[1])])
        if fitting:
            self.features_ = [str(c) for c in frame.columns]
            self.categorical_ = (
                [c for c in self.features_ if c in set(self.categorical)]
                if self.categorical is not None
                else [
                    c
                    for c in self.features_
                    if isinstance(frame[c].dtype, pd.CategoricalDtype)
                    or pd.api.types.is_object_dtype(frame[c])
                    or pd.api.types.is_string_dtype(frame[c])
                ]
            )
        return to_model_matrix(frame, self.features_, self.categorical_)

    # one LightGBM model ------------------------------------------------------------
    def _lgbm(
        self,
        x: pd.DataFrame,
        target: np.ndarray,
        classify: bool,
        offset: int,
        params: Mapping[str, float] | None = None,
    ):
        """A LightGBM classifier (binary target) or regressor fitted on (x, target), seeded
        by the learner's seed + `offset` so that its models do not share bagging draws; with
        early stopping, on a seeded `valid_share` of the rows held out from training. `params`
        overrides the learner's (the X-learner's stage-2 models)."""
        seed = self.seed + offset
        cls = lgb.LGBMClassifier if classify else lgb.LGBMRegressor
        model = cls(
            **(self.params if params is None else params),
            random_state=seed,
            n_jobs=self.n_jobs,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )
        categorical = self.categorical_ or "auto"
        if not self.early_stopping_rounds:
            return model.fit(x, target, categorical_feature=categorical)
        held = np.random.default_rng(seed).random(len(target)) < self.valid_share
        if classify and (len(np.unique(target[held])) < 2 or len(np.unique(target[~held])) < 2):
            return model.fit(x, target, categorical_feature=categorical)
        return model.fit(
            x[~held],
            target[~held],
            categorical_feature=categorical,
            eval_X=(x[held],),
            eval_y=(target[held],),
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
        )

    @staticmethod
    def _predict(model, x: pd.DataFrame) -> np.ndarray:
        if isinstance(model, lgb.LGBMClassifier):
            return model.predict_proba(x)[:, 1]
        return model.predict(x)

    # the outcome models --------------------------------------------------------------
    def _fit_outcomes(self, x: pd.DataFrame, y: np.ndarray, t: np.ndarray) -> None:
        classify = _binary(y)
        self.mu0_ = self._lgbm(x[t == 0], y[t == 0], classify, 0)
        self.mu1_ = self._lgbm(x[t == 1], y[t == 1], classify, 1)

    def p0_hat(self, X) -> np.ndarray:
        """The estimated outcome without treatment (a probability for a binary y)."""
        return self._predict(self.mu0_, self._matrix(X, fitting=False))

    def p1_hat(self, X) -> np.ndarray:
        """The estimated outcome with treatment (a probability for a binary y)."""
        return self._predict(self.mu1_, self._matrix(X, fitting=False))


class TLearner(_Base):
    """Two outcome models, one on the treated rows and one on the control rows; the
    estimated uplift is their difference p1_hat(x) - p0_hat(x). Simple and strong when the
    arms are large; each model only ever sees its own arm, so noise in either shows up in
    the difference (the X-learner's reason to exist)."""

    def fit(self, X, y, t) -> TLearner:
        y, t = _check_arms(y, t)
        self._fit_outcomes(self._matrix(X, fitting=True), y, t)
        return self

    def predict(self, X) -> np.ndarray:
        """The estimated individual uplift p1_hat - p0_hat, one per row of X."""
        x = self._matrix(X, fitting=False)
        return self._predict(self.mu1_, x) - self._predict(self.mu0_, x)


class XLearner(_Base):
    """Künzel, Sekhon, Bickel & Yu (2019), "Metalearners for estimating heterogeneous
    treatment effects using machine learning", PNAS 116(10).

    Stage 1: the T-learner's outcome models mu0 (control rows) and mu1 (treated rows).
    Stage 2: imputed individual effects, D1 = y - mu0(x) on the treated rows and
    D0 = mu1(x) - y on the control rows, each regressed on x by LightGBM (tau1, tau0).
    The estimate is e(x) * tau0(x) + (1 - e(x)) * tau1(x) with e the propensity: the
    effect model of the larger arm gets the more weight where that arm is the less
    represented one, as the paper recommends.

    `propensity`: "constant" (default: the share treated, a randomised campaign's known
    assignment probability), "fit" (a LightGBM classifier of t on x, clipped to
    PROPENSITY_CLIP) or a number in (0, 1) (a known constant). `effect_params` overrides
    the parameters of the stage-2 regressors (by default those of stage 1)."""

    def __init__(
        self,
        params: Mapping[str, float] | None = None,
        *,
        effect_params: Mapping[str, float] | None = None,
        propensity: float | str = CONSTANT,
        seed: int = 42,
        n_jobs: int = 1,
        categorical: Iterable[str] | None = None,
        early_stopping_rounds: int | None = None,
        valid_share: float = 0.2,
    ):
        super().__init__(
            params,
            seed=seed,
            n_jobs=n_jobs,
            categorical=categorical,
            early_stopping_rounds=early_stopping_rounds,
            valid_share=valid_share,
        )
        self.effect_params = {**self.params, **(effect_params or {})}
        if isinstance(propensity, str):
            if propensity not in (CONSTANT, FITTED):
                raise ValueError(f"propensity must be {CONSTANT!r}, {FITTED!r} or a number")
        elif not 0.0 < float(propensity) < 1.0:
            raise ValueError("a known propensity must lie strictly between 0 and 1")
        self.propensity = propensity

    def fit(self, X, y, t) -> XLearner:
        y, t = _check_arms(y, t)
        x = self._matrix(X, fitting=True)
        self._fit_outcomes(x, y, t)
        treated, control = t == 1, t == 0
        d1 = y[treated] - self._predict(self.mu0_, x[treated])
        d0 = self._predict(self.mu1_, x[control]) - y[control]
        self.tau1_ = self._lgbm(x[treated], d1, False, 2, self.effect_params)
        self.tau0_ = self._lgbm(x[control], d0, False, 3, self.effect_params)
        if self.propensity == FITTED:
            self.e_model_ = self._lgbm(x, t.astype(float), True, 4)
        self.e_ = float(t.mean()) if self.propensity in (CONSTANT, FITTED) else self.propensity
        return self

    def e_hat(self, X) -> np.ndarray:
        """The propensity used to weigh the two effect models, one per row."""
        x = self._matrix(X, fitting=False)
        if self.propensity == FITTED:
            return np.clip(self._predict(self.e_model_, x), *PROPENSITY_CLIP)
        return np.full(len(x), float(self.e_))

    def predict(self, X) -> np.ndarray:
        """The estimated individual uplift, one per row of X."""
        x = self._matrix(X, fitting=False)
        e = self.e_hat(X)
        return e * self._predict(self.tau0_, x) + (1.0 - e) * self._predict(self.tau1_, x)


def stratum_keys(X: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Each row's stratum: its `columns`' values joined by "|" (missing as "")."""
    return X[columns].astype("string").fillna("").agg("|".join, axis=1).to_numpy()


def by_stratum(X: pd.DataFrame, keys: np.ndarray, pooled, strata: Mapping, predict) -> np.ndarray:
    """predict(model, rows, offset) per row: by its stratum's (model, offset) in `strata`,
    else by `pooled` with offset 0."""
    out = np.asarray(predict(pooled, X, 0.0), dtype=float).copy()
    for key, (model, offset) in strata.items():
        rows = keys == key
        if rows.any():
            out[rows] = predict(model, X[rows], offset)
    return out


class StratifiedLearner:
    """One X-learner per stratum (for campaigns: the campaign's template, channel + offer +
    content, i.e. what was sent), centred on the stratum's difference in means, and a pooled
    X-learner for the strata too small to have their own.

    Why: what a campaign is decides most of who it moves (a price list moves other customers
    than a technical report), and one pooled model over every campaign has to find that by
    splitting on the campaign columns first, with the outcome noise of every stratum in each
    split. On the marketing quality world (docs/marketing.md) the pooled X-learner reached a
    true Qini ratio of 0.18, one per template 0.39, and centred on each template's observed
    treated-minus-holdout difference 0.43 (the difference in means is the stratum's
    unbiased effect estimate; the X-learner's mean over it is a noisier one).

    A stratum gets its own learner when each arm has at least `min_arm` rows."""

    def __init__(
        self,
        strata: Iterable[str],
        *,
        min_arm: int = 100,
        seed: int = 42,
        categorical: Iterable[str] | None = None,
        params: Mapping[str, float] | None = None,
    ):
        self.strata = list(strata)
        self.min_arm = min_arm
        self.seed = seed
        self.categorical = categorical
        self.params = {**DEFAULT_PARAMS, **(params or {})}

    def keys(self, X: pd.DataFrame) -> np.ndarray:
        return stratum_keys(X, self.strata)

    def _learner(self) -> XLearner:
        return XLearner(self.params, seed=self.seed, categorical=self.categorical)

    def fit(self, X: pd.DataFrame, y, t) -> StratifiedLearner:
        y, t = _check_arms(y, t)
        self.pooled_ = self._learner().fit(X, y, t)
        keys = self.keys(X)
        self.strata_: dict[str, tuple[XLearner, float]] = {}
        for key in sorted(set(keys)):
            rows = keys == key
            yk, tk = y[rows], t[rows]
            if min(int(tk.sum()), int((1 - tk).sum())) < self.min_arm:
                continue
            learner = self._learner().fit(X[rows], yk, tk)
            ate = float(yk[tk == 1].mean() - yk[tk == 0].mean())
            self.strata_[key] = (learner, ate - float(learner.predict(X[rows]).mean()))
        return self

    def _by_stratum(self, X: pd.DataFrame, predict) -> np.ndarray:
        return by_stratum(X, self.keys(X), self.pooled_, self.strata_, predict)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self._by_stratum(X, lambda m, x, offset: m.predict(x) + offset)

    def p0_hat(self, X: pd.DataFrame) -> np.ndarray:
        return self._by_stratum(X, lambda m, x, _: m.p0_hat(x))

    def p1_hat(self, X: pd.DataFrame) -> np.ndarray:
        return self._by_stratum(X, lambda m, x, _: m.p1_hat(x))


# --------------------------------------------------------------------------- evaluation


def _groups(score) -> tuple[np.ndarray, np.ndarray]:
    """The rows by score, highest first (ties in their input order), and the last position
    of each group of tied scores: a curve has one point per group, since a score cannot
    order the customers it ties (a straight segment over a tie group is the expected curve
    of every order within it)."""
    score = np.asarray(score, dtype=float)
    if score.ndim != 1 or not np.isfinite(score).all():
        raise ValueError("score must be 1-d and finite")
    if len(score) == 0:
        raise ValueError("no rows to evaluate")
    order = np.argsort(-score, kind="stable")
    ends = np.r_[np.flatnonzero(np.diff(score[order]) != 0), len(score) - 1]
    return order, ends


def _area_over_random(x: np.ndarray, q: np.ndarray) -> float:
    """The trapezoid area between the curve and the straight line from (0, 0) to its end."""
    area = float(np.sum((x[1:] - x[:-1]) * (q[1:] + q[:-1]) / 2.0))
    return area - float(q[-1]) / 2.0


def qini_curve(y, t, score) -> tuple[np.ndarray, np.ndarray]:
    """EMPIRICAL Qini curve (Radcliffe 2007): customers targeted by decreasing score; at each
    cutoff, the fraction targeted and the incremental responses
    R_t - R_c * N_t / N_c, with R_t, R_c the treated and control responders and N_t, N_c
    the treated and control customers among those targeted (the control responses scaled
    to the treated count; N_c = 0 counts no control responses). One point per group of
    tied scores, after (0, 0); the last is the whole audience's incremental responses."""
    y, t = _check_arms(y, t)
    order, ends = _groups(score)
    if len(order) != len(y):
        raise ValueError("score must have one value per row of y")
    y, t = y[order], t[order]
    r_t = np.cumsum(y * t)[ends]
    r_c = np.cumsum(y * (1 - t))[ends]
    n_t = np.cumsum(t)[ends].astype(float)
    n_c = (ends + 1) - n_t
    scale = np.divide(n_t, n_c, out=np.zeros_like(n_t), where=n_c > 0)
    x = (ends + 1) / len(y)
    return np.r_[0.0, x], np.r_[0.0, r_t - r_c * scale]


def qini_coefficient(y, t, score) -> float:
    """EMPIRICAL Qini coefficient: the area between the score's ``qini_curve`` and the random
    diagonal (trapezoids on the fraction axis), in incremental responses. 0 for a constant
    score; ~0, up to outcome noise, for a random one."""
    return _area_over_random(*qini_curve(y, t, score))


def qini_curve_true(tau, score) -> tuple[np.ndarray, np.ndarray]:
    """TRUE Qini curve, for simulated data with known individual effects `tau`: customers
    targeted by decreasing score; at each cutoff, the fraction targeted and the sum of the
    true effects of those targeted (the responses their treatment adds, in expectation).
    One point per group of tied scores, after (0, 0); the last is sum(tau)."""
    tau = np.asarray(tau, dtype=float)
    order, ends = _groups(score)
    if len(order) != len(tau):
        raise ValueError("score must have one value per effect in tau")
    return np.r_[0.0, (ends + 1) / len(tau)], np.r_[0.0, np.cumsum(tau[order])[ends]]


def qini_coefficient_true(tau, score) -> float:
    """TRUE Qini coefficient: the area between ``qini_curve_true`` and the random diagonal.
    Noise-free: exactly 0 for a constant score, largest for the oracle (score = tau)."""
    return _area_over_random(*qini_curve_true(tau, score))


def qini_ratio_true(tau, score) -> float:
    """The score's TRUE Qini coefficient over the oracle's (targeting by tau): 1 is perfect
    targeting, 0 random, below 0 worse than random. The figure models are reported by."""
    oracle = qini_coefficient_true(tau, tau)
    return qini_coefficient_true(tau, score) / oracle if oracle > 0 else math.nan


def qini_ratio(y, t, tau, score) -> float:
    """The score's EMPIRICAL Qini coefficient over the oracle's (targeting by the true tau),
    both measured on the observed outcomes: noisy, and may exceed 1 by chance."""
    oracle = qini_coefficient(y, t, tau)
    return qini_coefficient(y, t, score) / oracle if oracle > 0 else math.nan


def _top(score, k: float) -> np.ndarray:
    """The rows in the top share `k` by score, widened to the end of the tie group the
    cutoff falls in (the score cannot choose among tied customers)."""
    if not 0.0 < k <= 1.0:
        raise ValueError("k must lie in (0, 1]")
    order, ends = _groups(score)
    last = max(1, math.ceil(k * len(order))) - 1
    end = ends[np.searchsorted(ends, last)]
    return order[: end + 1]


def uplift_at_k(y, t, score, k: float = 0.3) -> float:
    """EMPIRICAL uplift of the top share `k` by score: its treated customers' response rate
    less its control customers' (NaN when either arm is absent from it)."""
    y, t = _check_arms(y, t)
    if len(np.asarray(score)) != len(y):
        raise ValueError("score must have one value per row of y")
    top = _top(score, k)
    treated, control = top[t[top] == 1], top[t[top] == 0]
    if len(treated) == 0 or len(control) == 0:
        return math.nan
    return float(y[treated].mean() - y[control].mean())


def uplift_at_k_true(tau, score, k: float = 0.3) -> float:
    """TRUE uplift of the top share `k` by score: the mean true effect of those targeted."""
    tau = np.asarray(tau, dtype=float)
    if len(np.asarray(score)) != len(tau):
        raise ValueError("score must have one value per effect in tau")
    return float(tau[_top(score, k)].mean())


# --------------------------------------------------------------------------- policies

EVERYONE, RANDOM, BY_PURCHASE, ORACLE = "everyone", "random", "by_purchase", "oracle"


def score_everyone(n: int) -> np.ndarray:
    """Target everyone: one constant score, so no customer is preferred (its Qini curve is
    the random diagonal and its coefficient 0; what a campaign without a model does)."""
    return np.ones(n, dtype=float)


def score_random(n: int, seed: int = 0) -> np.ndarray:
    """Target at random: seeded uniform scores (one draw of what "everyone" is on average)."""
    return np.random.default_rng(seed).uniform(size=n)


def score_by_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Target by an existing score, e.g. the purchase model's P(purchase): the usual practice
    the uplift learners must beat, since likely buyers are not the persuadable ones."""
    values = pd.to_numeric(frame[column], errors="raise").to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise ValueError(f"column {column!r} holds missing or infinite scores")
    return values


def score_oracle(tau) -> np.ndarray:
    """Target by the true individual effects (simulated data only): the best any score can
    do, the denominator of ``qini_ratio_true``."""
    return np.asarray(tau, dtype=float).copy()


# --------------------------------------------------------------------------- plot


def qini_plot(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    path: str | Path,
    title: str = "Qini curve · Qini 曲线",
) -> Path:
    """A PNG at `path` with one line per policy ({name: (fraction, incremental)} as
    ``qini_curve`` or ``qini_curve_true`` return them) and the random diagonal to their
    common end point, labelled in English and Chinese (CJK fonts from models_ml.plots)."""
    import matplotlib.pyplot as plt

    from models_ml import plots

    if not curves:
        raise ValueError("no curve to plot")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    end = float(np.median([np.asarray(q, dtype=float)[-1] for _, q in curves.values()]))
    with plt.rc_context(plots.cjk_rc()):
        fig, ax = plt.subplots(figsize=(6, 5))
        try:
            for name, (x, q) in curves.items():
                ax.plot(np.asarray(x, dtype=float), np.asarray(q, dtype=float), label=name)
            ax.plot([0, 1], [0, end], "k:", lw=1, label="random line · 随机基线")
            ax.axhline(0, color="grey", lw=0.5)
            ax.set(
                xlabel="fraction targeted · 目标客户占比",
                ylabel="incremental responses · 增量响应数",
                title=title,
                xlim=(0, 1),
            )
            ax.legend(loc="best", fontsize=8)
            fig.tight_layout()
            fig.savefig(path, dpi=100)
        finally:
            plt.close(fig)
    return path
