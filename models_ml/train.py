"""Train one task: time split, LightGBM vs a logistic baseline, metrics, plots, MLflow run.

The function returns the MLflow run id and the registered version; promotion is a separate
step (``models_ml.register``) so the gate's decision is its own task in Airflow.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.types import ColSpec, DataType, Schema
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from models_ml import data, evaluate, plots, tracking
from models_ml.calibrate import IDENTITY, Calibrator, fit_calibrator
from models_ml.split import TimeSplit, time_split
from models_ml.tasks import CATEGORICAL_FEATURES, Task, get_task
from portrait import db

REFERENCE_ARTIFACT = "reference/test_window.parquet"

# LightGBM is registered only if the logistic baseline does not beat it by more than this
# (test AUC). A strict "must beat" turns the noise of a small test window into a coin flip
# that leaves the pipeline without a champion; a clearly better baseline still blocks it.
BASELINE_TOLERANCE_AUC = 0.01

# Each window needs this many of both classes: fewer positives make AUC, early stopping and
# calibration noise, so training stops with a message instead of producing a random model.
MIN_WINDOW_POSITIVES = 5

# The bounded hyper-parameter search: each config is fitted with early stopping on the
# validation window and logged as a child run; the best validation AUC wins (ties: the
# earlier, more conservative config). The first is the former fixed configuration.
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
LOGGED_PARAMS = (
    "n_estimators",
    "learning_rate",
    "num_leaves",
    "min_child_samples",
    "subsample",
    "colsample_bytree",
    "reg_lambda",
    "scale_pos_weight",
)


class TooFewPositivesError(data.FeatureError):
    """A split window holds too few of one class to train or judge a model."""


@dataclass
class TrainResult:
    task: str
    run_id: str
    model_version: str | None
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    registered: bool
    reasons: list[str] = field(default_factory=list)
    params: dict[str, float] = field(default_factory=dict)
    calibration: str = "none"

    def to_dict(self) -> dict:
        return {
            "task": self.task,
            "run_id": self.run_id,
            "model_version": self.model_version,
            "test_auc": self.metrics.get("roc_auc"),
            "baseline_auc": self.baseline_metrics.get("roc_auc"),
            "test_brier": self.metrics.get("brier"),
            "test_ece": self.metrics.get("ece"),
            "registered": self.registered,
            "reasons": self.reasons,
            "params": self.params,
            "calibration": self.calibration,
        }


def reference_frame(run_id: str) -> pd.DataFrame:
    """The test window a run was judged on (features, segment columns, label, score)."""
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=REFERENCE_ARTIFACT, dst_path=tmp
        )
        return pd.read_parquet(local)


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _dbt_invocation_id(conn) -> str:
    """The dbt invocation that last built the features table, from its table comment."""
    row = conn.execute(
        "select obj_description('features.customer_features'::regclass, 'pg_class')"
    ).fetchone()
    return row[0] if row and row[0] else "unknown"


def split_frame(frame: pd.DataFrame, split: TimeSplit) -> dict[str, pd.DataFrame]:
    return {
        "train": frame[frame["as_of_date"].isin(split.train_dates)],
        "valid": frame[frame["as_of_date"].isin(split.valid_dates)],
        "test": frame[frame["as_of_date"].isin(split.test_dates)],
    }


def task_split(task: Task, frame: pd.DataFrame) -> tuple[TimeSplit, dict[str, pd.DataFrame]]:
    """The task's time split of its labelled snapshots, and the rows of each window."""
    if frame.empty:
        raise data.FeatureError(f"No labelled rows for {task.name}: nothing to train on.")
    positives = frame.groupby("as_of_date")["label"].sum().astype(int).to_dict()
    split = time_split(
        list(frame["as_of_date"].unique()),
        task.horizon_days,
        positives=positives,
        window_positives=task.window_positives,
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
        categorical_feature=[c for c in x_train.columns if c in CATEGORICAL_FEATURES] or "auto",
        eval_X=(x_valid,),
        eval_y=(y_valid,),
        eval_metric="auc",
        callbacks=[lgb.early_stopping(50, verbose=False)],
    )
    return model


def _valid_auc(model: lgb.LGBMClassifier) -> float:
    scores = model.best_score_.get("valid_0", {}) or next(iter(model.best_score_.values()), {})
    return float(scores.get("auc", math.nan))


def search(
    task: Task,
    xs: dict[str, pd.DataFrame],
    ys: dict[str, np.ndarray],
    seed: int,
    experiment_id: str,
    space: tuple[dict[str, float], ...] = SEARCH_SPACE,
) -> tuple[lgb.LGBMClassifier, dict[str, float], list[dict]]:
    """Fit every config of the space (a child run each); return the best by validation AUC."""
    best, best_params, best_auc, trials = None, {}, -math.inf, []
    for i, params in enumerate(space):
        model = fit_lightgbm(
            xs["train"], ys["train"], xs["valid"], ys["valid"], seed, params, task.balance_classes
        )
        auc = _valid_auc(model)
        with mlflow.start_run(
            experiment_id=experiment_id, run_name=f"{task.name}-config-{i}", nested=True
        ):
            mlflow.set_tags({"task": task.name, "search_trial": str(i)})
            mlflow.log_params({**params, "best_iteration": model.best_iteration_})
            if not math.isnan(auc):
                mlflow.log_metric("valid_roc_auc", auc)
        trials.append({**params, "best_iteration": model.best_iteration_, "valid_roc_auc": auc})
        if auc > best_auc:
            best, best_params, best_auc = model, dict(params), auc
    if best is None:  # every validation AUC was undefined: keep the first config
        best, best_params = (
            fit_lightgbm(xs["train"], ys["train"], xs["valid"], ys["valid"], seed, space[0], False),
            dict(space[0]),
        )
    return best, best_params, trials


def check_windows(task: Task, ys: dict[str, np.ndarray], split: TimeSplit) -> None:
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
            f"{task.name}: too few examples of a class to train and judge a model in the "
            f"{', '.join(short)} window(s); each needs at least {MIN_WINDOW_POSITIVES} of both. "
            f"Windows: train {windows['split_train']}, valid {windows['split_valid']}, "
            f"test {windows['split_test']}. Add history (more snapshot dates or customers) "
            "before training this task."
        )


def fit_baseline(
    x_train: pd.DataFrame, y_train: np.ndarray, seed: int, balance_classes: bool = False
):
    model = make_pipeline(
        StandardScaler(),
        LogisticRegression(
            C=1.0,
            max_iter=2000,
            random_state=seed,
            class_weight="balanced" if balance_classes else None,
        ),
    )
    model.fit(x_train.fillna(0.0), y_train)
    return model


def _signature(features: list[str], example: pd.DataFrame, output: np.ndarray):
    """Every input a nullable double: LightGBM takes missing values, and a column that
    happened to be complete in the example must not become required at serving time."""
    inputs = Schema([ColSpec(DataType.double, name, required=False) for name in features])
    return ModelSignature(inputs=inputs, outputs=infer_signature(example, output).outputs)


def _metric_key(*parts: str) -> str:
    """An MLflow metric name from free text (segment values may hold any character)."""
    return "_".join(re.sub(r"[^\w.\-]+", "_", p).strip("_") for p in parts)


def train_task(
    task_name: str,
    *,
    dsn: str | None = None,
    seed: int = 42,
    register: bool = True,
    features: list[str] | None = None,
    search_space: tuple[dict[str, float], ...] = SEARCH_SPACE,
) -> TrainResult:
    """Train `task_name` on the feature snapshots and log the run; register the model as
    `challenger` when it holds against the baseline. `features` restricts the inputs (an
    ablation); by default the task's own list."""
    task = get_task(task_name)
    client = tracking.configure()
    with db.connect(dsn) as conn:
        frame = data.training_frame(conn, task)
        invocation = _dbt_invocation_id(conn)
    split, parts = task_split(task, frame)
    features = list(features or task.features)
    xs = {k: data.to_model_matrix(v, features) for k, v in parts.items()}
    ys = {k: v["label"].to_numpy(dtype=int) for k, v in parts.items()}
    check_windows(task, ys, split)
    experiment = tracking.experiment_id(task.experiment_name)

    with mlflow.start_run(
        experiment_id=experiment,
        run_name=f"{task.name}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}",
    ) as run:
        model, params, trials = search(task, xs, ys, seed, experiment, search_space)
        baseline = fit_baseline(xs["train"], ys["train"], seed, task.balance_classes)
        raw_test = model.predict_proba(xs["test"])[:, 1]
        calibrator: Calibrator = IDENTITY
        if task.calibration:
            raw_valid = model.predict_proba(xs["valid"])[:, 1]
            calibrator = fit_calibrator(ys["valid"], raw_valid, task.calibration)
        p_test = calibrator.apply(raw_test)
        p_base = baseline.predict_proba(xs["test"].fillna(0.0))[:, 1]
        metrics = evaluate.binary_metrics(ys["test"], p_test)
        base_metrics = evaluate.binary_metrics(ys["test"], p_base)
        segments = evaluate.segment_report(parts["test"], ys["test"], p_test)

        mlflow.set_tags(
            {
                "task": task.name,
                "git_commit": _git_commit(),
                "dbt_invocation_id": invocation,
                "feature_snapshot_range": f"{min(frame['as_of_date'])}..{max(frame['as_of_date'])}",
                "calibration": calibrator.method,
                **split.describe(),
                **{f"rows_{k}": str(len(v)) for k, v in parts.items()},
                **{f"positives_{k}": str(int(v.sum())) for k, v in ys.items()},
            }
        )
        mlflow.log_params(
            {k: v for k, v in model.get_params().items() if k in LOGGED_PARAMS}
            | {
                "best_iteration": model.best_iteration_,
                "seed": seed,
                "features": len(features),
                "search_configs": len(search_space),
            }
        )
        mlflow.log_metric("valid_roc_auc", _valid_auc(model))
        mlflow.log_metrics({f"test_{k}": v for k, v in metrics.items() if not math.isnan(v)})
        mlflow.log_metrics(
            {f"baseline_test_{k}": v for k, v in base_metrics.items() if not math.isnan(v)}
        )
        if calibrator is not IDENTITY:
            raw = evaluate.binary_metrics(ys["test"], raw_test)
            mlflow.log_metrics(
                {f"test_uncalibrated_{k}": raw[k] for k in ("brier", "ece", "roc_auc")}
            )
        mlflow.log_metrics(
            {
                _metric_key("test_roc_auc", axis, value): m["roc_auc"]
                for axis, by_value in segments.items()
                for value, m in by_value.items()
            }
        )
        train_ds = mlflow.data.from_pandas(
            parts["train"].drop(columns=["label"]).assign(label=ys["train"]),
            name=f"{task.name}_train",
            targets="label",
        )
        mlflow.log_input(train_ds, context="training")

        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = Path(tmp)
            extra = [
                c
                for c in evaluate.SEGMENT_COLUMNS
                if c in parts["test"].columns and c not in features
            ]
            reference = parts["test"].loc[:, ["cid", "as_of_date", *extra, *features]].copy()
            reference["score"] = p_test
            reference["label"] = ys["test"]
            (tmp_path / "reference").mkdir()
            reference.to_parquet(tmp_path / REFERENCE_ARTIFACT, index=False)
            mlflow.log_artifact(str(tmp_path / REFERENCE_ARTIFACT), artifact_path="reference")
            for fig_name, fig in plots.model_plots(
                model, xs["test"], ys["test"], p_test, p_base, raw_test
            ).items():
                mlflow.log_figure(fig, f"plots/{fig_name}.png")
            plots.close_all()
            (tmp_path / "metrics.json").write_text(
                json.dumps(
                    {
                        "model": metrics,
                        "baseline": base_metrics,
                        "segments": segments,
                        "search": trials,
                        "chosen_params": params,
                        "calibration": calibrator.to_dict(),
                    },
                    indent=2,
                    default=str,
                )
            )
            mlflow.log_artifact(str(tmp_path / "metrics.json"))
        mlflow.log_dict(calibrator.to_dict(), "calibration/calibrator.json")

        beats_baseline = _holds_against_baseline(metrics, base_metrics)
        reasons = (
            []
            if beats_baseline
            else [
                f"LightGBM test AUC {metrics['roc_auc']:.4f} is below the baseline's "
                f"{base_metrics['roc_auc']:.4f} by more than {BASELINE_TOLERANCE_AUC}: "
                "not registered."
            ]
        )
        version = None
        registered = False
        if register and beats_baseline:
            example = xs["test"].head(5)
            info = mlflow.lightgbm.log_model(
                model,
                name="model",
                registered_model_name=task.registered_model_name,
                input_example=example,
                signature=_signature(features, example, model.predict(example)),
                # The calibrator travels with the version: score.py applies it to the
                # booster's probabilities (the bare pyfunc flavour serves raw scores).
                metadata={
                    "task": task.name,
                    "features": features,
                    "calibration": calibrator.to_dict(),
                },
            )
            version = str(info.registered_model_version)
            registered = True
            client.set_registered_model_alias(task.registered_model_name, "challenger", version)
            client.set_model_version_tag(task.registered_model_name, version, "task", task.name)
        mlflow.set_tag("registered", str(registered))
        return TrainResult(
            task.name,
            run.info.run_id,
            version,
            metrics,
            base_metrics,
            registered,
            reasons,
            params,
            calibrator.method,
        )


def _holds_against_baseline(metrics: dict[str, float], baseline: dict[str, float]) -> bool:
    ours, theirs = metrics.get("roc_auc", math.nan), baseline.get("roc_auc", math.nan)
    if math.isnan(ours):
        return False
    return math.isnan(theirs) or ours >= theirs - BASELINE_TOLERANCE_AUC
