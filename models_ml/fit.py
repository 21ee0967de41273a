"""Fit one target on its labelled snapshots, with no MLflow and no warehouse: time split,
window checks, a bounded LightGBM search, the classical baselines (``models_ml.policies``),
calibration, test metrics of every policy, the served one, segment AUCs and the reference
window. ``models_ml.train`` logs and registers the result."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd

from models_ml import evaluate, policies
from models_ml.calibrate import IDENTITY, Calibrator, fit_calibrator
from models_ml.matrix import FeatureError, to_model_matrix
from models_ml.split import CUSTOMER_HOLDOUT, TimeSplit, adaptive_split, customer_share
from models_ml.targets import CATEGORICAL_FEATURES, Target

# Each window needs this many of both classes: fewer positives make AUC, early stopping and
# calibration noise, so training stops with a message instead of producing a random model.
MIN_WINDOW_POSITIVES = 5

# The bounded hyper-parameter search: each config is fitted with early stopping on the
# validation window (the tracking edge logs each as a child run); the best validation AUC
# wins (ties: the earlier, more conservative config). The first is the former fixed one.
SEARCH_SPACE: tuple[dict[str, float], ...] = (
    {"num_leaves": 7, "min_child_samples": 50, "learning_rate": 0.03, "colsample_bytree": 0.8},
    {"num_leaves": 3, "min_child_samples": 30, "learning_rate": 0.05, "colsample_bytree": 0.8},
    {"num_leaves": 5, "min_child_samples": 20, "learning_rate": 0.02, "colsample_bytree": 1.0},
    {"num_leaves": 4, "min_child_samples": 10, "learning_rate": 0.03, "colsample_bytree": 0.6},
    {"num_leaves": 15, "min_child_samples": 30, "learning_rate": 0.03, "colsample_bytree": 0.6},
    {"num_leaves": 7, "min_child_samples": 100, "learning_rate": 0.05, "colsample_bytree": 0.6},
    {"num_leaves": 15, "min_child_samples": 100, "learning_rate": 0.1, "colsample_bytree": 0.8},
    {"num_leaves": 31, "min_child_samples": 50, "learning_rate": 0.02, "colsample_bytree": 0.5},
)

WINDOWS = ("train", "valid", "test")

# Above this many training rows the search runs in two rounds (successive halving): every
# config on a HALVING_SHARE sample of the training window's customers, then the best
# HALVING_KEEP on all of it; the best of those on validation wins. Its cost at 25k customers
# is then ~1/2 of the full search's.
HALVING_ROWS = 100_000
HALVING_SHARE = 0.2
HALVING_KEEP = 2


class TooFewPositivesError(FeatureError):
    """A split window holds too few of one class to train or judge a model."""


@dataclass(frozen=True)
class Trial:
    """One config of the search and how it did on the validation window."""

    params: dict[str, float]
    best_iteration: int
    valid_roc_auc: float
    # "full": fitted on the whole training window; "sample": the halving's first round
    stage: str = "full"
    rows: int = 0

    def to_dict(self) -> dict:
        return {
            **self.params,
            "best_iteration": self.best_iteration,
            "valid_roc_auc": self.valid_roc_auc,
            "stage": self.stage,
            "rows": self.rows,
        }


@dataclass
class SearchResult:
    model: lgb.LGBMClassifier
    params: dict[str, float]
    trials: list[Trial]


@dataclass
class FitResult:
    """Everything a fit produced: the tracking edge logs it, the gate and drift read its
    reference window back from the run."""

    target: Target
    features: list[str]
    seed: int
    split: TimeSplit
    parts: dict[str, pd.DataFrame]
    xs: dict[str, pd.DataFrame]
    ys: dict[str, np.ndarray]
    search: SearchResult
    baseline: object
    calibrator: Calibrator
    raw_test: np.ndarray  # the booster's test probabilities before calibration
    p_test: np.ndarray
    p_base: np.ndarray
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    # Test metrics of the uncalibrated scores; None when there is no calibrator.
    uncalibrated_metrics: dict[str, float] | None
    segments: dict[str, dict[str, dict[str, float]]]
    reference: pd.DataFrame
    search_configs: int = field(default=len(SEARCH_SPACE))
    # An external frame's columns -> the names the model uses (recipe.fit_frame); else empty.
    feature_names: dict[str, str] = field(default_factory=dict)
    # Test metrics of every policy compared ({"lightgbm": ..., "logistic": ..., ...}), the one
    # served (`choose`), the best baseline, the fitted baselines and those that failed (why).
    candidates: dict[str, dict[str, float]] = field(default_factory=dict)
    chosen: str = "lightgbm"
    best_baseline: str | None = None
    baselines: dict[str, object] = field(default_factory=dict)
    failed_baselines: dict[str, str] = field(default_factory=dict)
    # The model-matrix columns the served policy reads; every policy's test scores.
    served_features: list[str] = field(default_factory=list)
    test_scores: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def model(self) -> lgb.LGBMClassifier:
        return self.search.model

    @property
    def served(self) -> object:
        """The model registered and served: the LightGBM booster or the winning baseline."""
        return self.model if self.chosen == policies.LIGHTGBM else self.baselines[self.chosen]

    @property
    def served_calibrator(self) -> Calibrator:
        """LightGBM's calibrator; baselines give probabilities of their own."""
        return self.calibrator if self.chosen == policies.LIGHTGBM else IDENTITY

    @property
    def params(self) -> dict[str, float]:
        return self.search.params

    @property
    def valid_auc(self) -> float:
        return valid_auc(self.model)

    def summary(self) -> dict:
        """The figures behind the fit (the run's metrics.json)."""
        return {
            "model": self.metrics,
            "served_policy": self.chosen,
            "candidates": self.candidates,
            "failed_baselines": self.failed_baselines,
            "baseline": self.baseline_metrics,
            "segments": self.segments,
            "search": [t.to_dict() for t in self.search.trials],
            "chosen_params": self.params,
            "calibration": self.calibrator.to_dict(),
        }


def split_frame(frame: pd.DataFrame, split: TimeSplit) -> dict[str, pd.DataFrame]:
    """The rows of each window (customer_holdout: validation is the held-out customers' rows
    of the training dates, training the others')."""
    train = frame["as_of_date"].isin(split.train_dates).to_numpy()
    valid = frame["as_of_date"].isin(split.valid_dates).to_numpy()
    if split.mode == CUSTOMER_HOLDOUT:
        held = split.validation_customers(frame["cid"].to_numpy())
        train, valid = train & ~held, valid & held
    return {
        "train": frame[train],
        "valid": frame[valid],
        "test": frame[frame["as_of_date"].isin(split.test_dates)],
    }


def target_split(target: Target, frame: pd.DataFrame) -> tuple[TimeSplit, dict[str, pd.DataFrame]]:
    """The target's time split of its labelled snapshots, and the rows of each window."""
    if frame.empty:
        raise FeatureError(f"No labelled rows for {target.name}: nothing to train on.")
    positives = frame.groupby("as_of_date")["label"].sum().astype(int).to_dict()
    split = adaptive_split(
        list(frame["as_of_date"].unique()),
        target.horizon_days,
        positives=positives,
        window_positives=target.window_positives,
    )
    return split, split_frame(frame, split)


def fit_lightgbm(
    x_train: pd.DataFrame,
    y_train: np.ndarray,
    x_valid: pd.DataFrame,
    y_valid: np.ndarray,
    seed: int,
    params: dict[str, float] | None = None,
    balance_classes: bool = False,
    categorical: Iterable[str] = CATEGORICAL_FEATURES,
) -> lgb.LGBMClassifier:
    pos = max(float(y_train.sum()), 1.0)
    neg = max(float(len(y_train) - y_train.sum()), 1.0)
    # Balanced weights for rare outcomes that are calibrated afterwards; otherwise a mild
    # weight keeps probabilities honest while helping rare positives a bit.
    pos_weight = neg / pos if balance_classes else min(neg / pos, 5.0) ** 0.5
    model = lgb.LGBMClassifier(
        n_estimators=1000,
        subsample=0.8,
        subsample_freq=1,
        reg_lambda=5.0,
        scale_pos_weight=pos_weight,
        random_state=seed,
        n_jobs=2,
        verbose=-1,
        **(params or SEARCH_SPACE[0]),
    )
    model.fit(
        x_train,
        y_train,
        categorical_feature=[c for c in x_train.columns if c in set(categorical)] or "auto",
        eval_X=(x_valid,),
        eval_y=(y_valid,),
        eval_metric="auc",
        callbacks=[lgb.early_stopping(50, verbose=False)],
    )
    return model


def valid_auc(model: lgb.LGBMClassifier) -> float:
    scores = model.best_score_.get("valid_0", {}) or next(iter(model.best_score_.values()), {})
    return float(scores.get("auc", math.nan))


def search(
    target: Target,
    xs: dict[str, pd.DataFrame],
    ys: dict[str, np.ndarray],
    seed: int,
    space: tuple[dict[str, float], ...] = SEARCH_SPACE,
    cids: np.ndarray | None = None,
) -> SearchResult:
    """Fit every config of the space; the best by validation AUC, and every trial. Given the
    training rows' `cids` and more than HALVING_ROWS of them, successive halving: all configs
    on a customer sample first, the best HALVING_KEEP on everything."""
    best, best_params, best_auc, trials = None, {}, -math.inf, []
    configs = list(space)

    def fit_one(params, rows=None):
        x, y = (
            (xs["train"], ys["train"]) if rows is None else (xs["train"][rows], ys["train"][rows])
        )
        return fit_lightgbm(
            x, y, xs["valid"], ys["valid"], seed, params, target.balance_classes,
            target.categorical_features,
        )  # fmt: skip

    if cids is not None and len(ys["train"]) > HALVING_ROWS and len(configs) > HALVING_KEEP:
        rows = customer_share(cids, HALVING_SHARE)
        if 0 < ys["train"][rows].sum() < rows.sum():
            first = []
            for params in configs:
                model = fit_one(params, rows)
                first.append(valid_auc(model))
                trials.append(
                    Trial(dict(params), model.best_iteration_, first[-1], "sample", int(rows.sum()))
                )
            order = np.argsort(-np.nan_to_num(np.asarray(first), nan=-1.0), kind="stable")
            configs = [configs[i] for i in sorted(order[:HALVING_KEEP])]
    for params in configs:
        model = fit_one(params)
        auc = valid_auc(model)
        trials.append(Trial(dict(params), model.best_iteration_, auc, "full", len(ys["train"])))
        if auc > best_auc:
            best, best_params, best_auc = model, dict(params), auc
    if best is None:  # every validation AUC was undefined: keep the first config
        best, best_params = fit_one(space[0]), dict(space[0])
    return SearchResult(best, best_params, trials)


def check_windows(target: Target, ys: dict[str, np.ndarray], split: TimeSplit) -> None:
    """Refuse to train when a window holds fewer than MIN_WINDOW_POSITIVES of either class."""
    counts = {k: (int(v.sum()), int(len(v) - v.sum())) for k, v in ys.items()}
    short = [
        f"{k} ({pos} positives, {neg} negatives)"
        for k, (pos, neg) in counts.items()
        if min(pos, neg) < MIN_WINDOW_POSITIVES
    ]
    if short:
        windows = split.describe()
        raise TooFewPositivesError(
            f"{target.name}: too few examples of a class to train and judge a model in the "
            f"{', '.join(short)} window(s); each needs at least {MIN_WINDOW_POSITIVES} of both. "
            f"Windows: train {windows['split_train']}, valid {windows['split_valid']}, "
            f"test {windows['split_test']}. Add history (more snapshot dates or customers) "
            "before training this target."
        )


def reference_window(
    test: pd.DataFrame, features: list[str], scores: np.ndarray, labels: np.ndarray
) -> pd.DataFrame:
    """The test rows as the registry stores them: keys, segment columns, features, score, label."""
    extra = [c for c in evaluate.SEGMENT_COLUMNS if c in test.columns and c not in features]
    reference = test.loc[:, ["cid", "as_of_date", *extra, *features]].copy()
    reference["score"] = scores
    reference["label"] = labels
    return reference


def fit_baselines(
    target: Target,
    parts: dict[str, pd.DataFrame],
    xs: dict[str, pd.DataFrame],
    ys: dict[str, np.ndarray],
    features: list[str],
    seed: int,
) -> tuple[dict[str, object], dict[str, str]]:
    """The target's baselines fitted on the training window ({name: model}), and those that
    could not be fitted with the reason ({name: reason}): a baseline that fails drops out,
    it never stops the fit."""
    fitted, failed = {}, {}
    for name in target.baselines:
        if name == policies.BTYD:
            missing = [c for c in policies.BTYD_COLUMNS if c not in parts["train"].columns]
            if missing:
                failed[name] = f"the frame lacks {', '.join(missing)}"
                continue
            cols = list(policies.BTYD_COLUMNS)
            x_train, x_valid = (to_model_matrix(parts[k], cols, ()) for k in ("train", "valid"))
        else:
            cols, x_train, x_valid = features, xs["train"], xs["valid"]
        try:
            fitted[name] = policies.fit_baseline(
                name, x_train, ys["train"], features=cols,
                categorical=target.categorical_features, horizon_days=target.horizon_days,
                churn=target.name.startswith("churn"), balance_classes=target.balance_classes,
                seed=seed, x_valid=x_valid, y_valid=ys["valid"],
            )  # fmt: skip
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            failed[name] = f"{type(exc).__name__}: {exc}"
    return fitted, failed


def policy_features(model: object, features: list[str]) -> list[str]:
    """The model-matrix columns a policy reads (BG/NBD: its own; the others: the target's)."""
    return list(getattr(model, "features", None) or features)


def _auc(figures: dict[str, float]) -> float:
    value = figures.get("roc_auc", math.nan)
    return -math.inf if math.isnan(value) else value


def best_baseline(candidates: dict[str, dict[str, float]]) -> str | None:
    """The baseline with the best test AUC (None when there is none)."""
    baselines = [n for n in candidates if n != policies.LIGHTGBM]
    return max(baselines, key=lambda n: _auc(candidates[n]), default=None)


def choose(candidates: dict[str, dict[str, float]]) -> str:
    """LightGBM is served only when its test AUC beats every baseline's; otherwise the best
    baseline is (ties go to the simpler model)."""
    best = best_baseline(candidates)
    if best is None or _auc(candidates[policies.LIGHTGBM]) > _auc(candidates[best]):
        return policies.LIGHTGBM
    return best


def fit(
    frame: pd.DataFrame,
    target: Target,
    *,
    features: list[str] | None = None,
    seed: int = 42,
    search_space: tuple[dict[str, float], ...] = SEARCH_SPACE,
) -> FitResult:
    """Fit `target` on its labelled snapshots (`frame`: features plus a label column): the
    LightGBM search and the target's baselines on the same windows; the policy served is the
    one `choose` picks on the test window. `features` restricts the inputs (an ablation); by
    default the target's own list."""
    split, parts = target_split(target, frame)
    features = list(features or target.features)
    xs = {k: to_model_matrix(v, features, target.categorical_features) for k, v in parts.items()}
    ys = {k: v["label"].to_numpy(dtype=int) for k, v in parts.items()}
    check_windows(target, ys, split)

    found = search(target, xs, ys, seed, search_space, parts["train"]["cid"].to_numpy())
    raw_test = found.model.predict_proba(xs["test"])[:, 1]
    calibrator: Calibrator = IDENTITY
    if target.calibration:
        raw_valid = found.model.predict_proba(xs["valid"])[:, 1]
        calibrator = fit_calibrator(ys["valid"], raw_valid, target.calibration)
    scores = {policies.LIGHTGBM: calibrator.apply(raw_test)}
    baselines, failed = fit_baselines(target, parts, xs, ys, features, seed)
    for name, model in baselines.items():
        cols = policy_features(model, features)
        x_test = xs["test"] if cols == features else to_model_matrix(parts["test"], cols, ())
        scores[name] = model.predict_proba(x_test)[:, 1]
    candidates = {name: evaluate.binary_metrics(ys["test"], p) for name, p in scores.items()}
    chosen, best = choose(candidates), best_baseline(candidates)
    p_test = scores[chosen]
    p_base = scores[best] if best else np.full(len(p_test), np.nan)
    served = found.model if chosen == policies.LIGHTGBM else baselines[chosen]
    served_features = policy_features(served, features)
    kept = list(dict.fromkeys([*features, *served_features]))
    return FitResult(
        target=target,
        features=features,
        seed=seed,
        split=split,
        parts=parts,
        xs=xs,
        ys=ys,
        search=found,
        baseline=baselines.get(best) if best else None,
        calibrator=calibrator,
        raw_test=raw_test,
        p_test=p_test,
        p_base=p_base,
        metrics=candidates[chosen],
        baseline_metrics=candidates[best] if best else {"roc_auc": math.nan},
        uncalibrated_metrics=(
            None
            if calibrator is IDENTITY or chosen != policies.LIGHTGBM
            else evaluate.binary_metrics(ys["test"], raw_test)
        ),
        segments=evaluate.segment_report(parts["test"], ys["test"], p_test),
        reference=reference_window(parts["test"], kept, p_test, ys["test"]),
        search_configs=len(search_space),
        candidates=candidates,
        chosen=chosen,
        best_baseline=best,
        baselines=baselines,
        failed_baselines=failed,
        served_features=served_features,
        test_scores=scores,
    )
