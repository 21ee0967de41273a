"""Train one target: read its labelled snapshots, fit (``models_ml.fit``), log the run to
MLflow, and register the served policy as challenger: LightGBM when it beats every baseline
on the test window, else the best baseline (``fit.choose``).

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

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.types import ColSpec, DataType, Schema

from models_ml import data, plots, policy_model, registry, tracking
from models_ml.fit import SEARCH_SPACE, FitResult, fit
from models_ml.matrix import FeatureError, to_model_matrix
from models_ml.split import SplitError
from models_ml.targets import Target, get_target
from portrait import db

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


class UntrainableTargetError(RuntimeError):
    """The target's labelled snapshots cannot train and judge a model (too few positives in a
    window, too little history to split in time, no labelled rows); ``reason`` says which.
    The other targets train regardless: callers report this one and go on."""

    def __init__(self, task: str, reason: str):
        super().__init__(f"{task} cannot be trained: {reason}")
        self.task = task
        self.reason = reason


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
    # The policy registered (lightgbm or a baseline) and every policy's test metrics.
    policy: str = "lightgbm"
    candidates: dict[str, dict[str, float]] = field(default_factory=dict)

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
            "policy": self.policy,
            "candidates_test_auc": {
                name: figures.get("roc_auc") for name, figures in self.candidates.items()
            },
        }


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


def _signature(features: list[str], example: pd.DataFrame, output: np.ndarray):
    """Every input a nullable double: LightGBM takes missing values, and a column that
    happened to be complete in the example must not become required at serving time."""
    inputs = Schema([ColSpec(DataType.double, name, required=False) for name in features])
    return ModelSignature(inputs=inputs, outputs=infer_signature(example, output).outputs)


def _metric_key(*parts: str) -> str:
    """An MLflow metric name from free text (segment values may hold any character)."""
    return "_".join(re.sub(r"[^\w.\-]+", "_", p).strip("_") for p in parts)


def served_reasons(result: FitResult) -> list[str]:
    """Why the served policy is the one it is, in words (empty when LightGBM beat every
    baseline)."""
    auc = {n: m.get("roc_auc", math.nan) for n, m in result.candidates.items()}
    others = ", ".join(f"{n} {v:.4f}" for n, v in auc.items() if n != "lightgbm")
    reasons = [
        f"baseline {name} not compared: {why}" for name, why in result.failed_baselines.items()
    ]
    if result.chosen != "lightgbm":
        reasons.insert(
            0,
            f"{result.chosen} served: LightGBM test AUC {auc['lightgbm']:.4f} does not beat "
            f"every baseline ({others}).",
        )
    return reasons


def log_search(result: FitResult, experiment_id: str) -> None:
    """One child run per config of the search, under the active run."""
    name = result.target.name
    for i, trial in enumerate(result.search.trials):
        with mlflow.start_run(
            experiment_id=experiment_id, run_name=f"{name}-config-{i}", nested=True
        ):
            mlflow.set_tags({"task": name, "search_trial": str(i), "search_stage": trial.stage})
            mlflow.log_params(
                {**trial.params, "best_iteration": trial.best_iteration, "rows": trial.rows}
            )
            if not math.isnan(trial.valid_roc_auc):
                mlflow.log_metric("valid_roc_auc", trial.valid_roc_auc)


def log_fit(result: FitResult, frame: pd.DataFrame, invocation: str) -> None:
    """Tags, params, metrics, the training dataset, plots and artefacts of the active run."""
    target, model, ys, parts = result.target, result.model, result.ys, result.parts
    dates = frame["as_of_date"]
    mlflow.set_tags(
        {
            "task": target.name,
            "git_commit": _git_commit(),
            "dbt_invocation_id": invocation,
            "feature_snapshot_range": f"{min(dates)}..{max(dates)}",
            "calibration": result.served_calibrator.method,
            "policy": result.chosen,
            "best_baseline": str(result.best_baseline),
            **result.split.describe(),
            **{f"rows_{k}": str(len(v)) for k, v in parts.items()},
            **{f"positives_{k}": str(int(v.sum())) for k, v in ys.items()},
        }
    )
    mlflow.log_params(
        {k: v for k, v in model.get_params().items() if k in LOGGED_PARAMS}
        | {
            "best_iteration": model.best_iteration_,
            "seed": result.seed,
            "features": len(result.features),
            "search_configs": result.search_configs,
        }
    )
    mlflow.log_metric("valid_roc_auc", result.valid_auc)
    mlflow.log_metrics({f"test_{k}": v for k, v in result.metrics.items() if not math.isnan(v)})
    mlflow.log_metrics(
        {f"baseline_test_{k}": v for k, v in result.baseline_metrics.items() if not math.isnan(v)}
    )
    mlflow.log_metrics(
        {
            f"{name}_test_{k}": v
            for name, figures in result.candidates.items()
            for k, v in figures.items()
            if k in ("roc_auc", "pr_auc", "brier") and not math.isnan(v)
        }
    )
    if result.uncalibrated_metrics is not None:
        raw = result.uncalibrated_metrics
        mlflow.log_metrics({f"test_uncalibrated_{k}": raw[k] for k in ("brier", "ece", "roc_auc")})
    mlflow.log_metrics(
        {
            _metric_key("test_roc_auc", axis, value): m["roc_auc"]
            for axis, by_value in result.segments.items()
            for value, m in by_value.items()
        }
    )
    train_ds = mlflow.data.from_pandas(
        parts["train"].drop(columns=["label"]).assign(label=ys["train"]),
        name=f"{target.name}_train",
        targets="label",
    )
    mlflow.log_input(train_ds, context="training")

    registry.log_reference(result.reference)
    # LightGBM's plots (SHAP, importance) whichever policy is served; the ROC shows the best
    # baseline beside it.
    for fig_name, fig in plots.model_plots(
        model,
        result.xs["test"],
        ys["test"],
        result.test_scores["lightgbm"],
        result.p_base,
        result.raw_test,
    ).items():
        mlflow.log_figure(fig, f"plots/{fig_name}.png")
    plots.close_all()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "metrics.json"
        path.write_text(json.dumps(result.summary(), indent=2, default=str))
        mlflow.log_artifact(str(path))
    mlflow.log_dict(result.calibrator.to_dict(), "calibration/calibrator.json")


def register_challenger(client, result: FitResult) -> str:
    """Log the served policy with its calibrator and features as a new version aliased
    challenger: the LightGBM flavour for the booster; for a baseline its JSON with a pyfunc
    "model from code" (models_ml.policy_model), so nothing is pickled."""
    target, model, features = result.target, result.served, result.served_features
    example = (
        result.xs["test"].loc[:, features].head(5)
        if set(features) <= set(result.xs["test"].columns)
        else to_model_matrix(result.parts["test"], features, ()).head(5)
    )
    common = {
        "name": "model",
        "registered_model_name": target.registered_model_name,
        "input_example": example,
        "signature": _signature(
            features,
            example,
            model.predict(example)
            if result.chosen == "lightgbm"
            else model.predict_proba(example)[:, 1],
        ),
        # The calibrator travels with the version: registry.ChampionModel applies it to the
        # booster's probabilities (the bare pyfunc flavour serves raw scores).
        "metadata": {
            "task": target.name,
            "policy": result.chosen,
            "features": features,
            "calibration": result.served_calibrator.to_dict(),
        },
    }
    if result.chosen == "lightgbm":
        info = mlflow.lightgbm.log_model(model, **common)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            spec = Path(tmp) / registry.POLICY_ARTIFACT
            spec.write_text(json.dumps(model.to_dict(), indent=1))
            info = mlflow.pyfunc.log_model(
                python_model=str(Path(policy_model.__file__)),
                artifacts={"policy": str(spec)},
                **common,
            )
    version = str(info.registered_model_version)
    client.set_registered_model_alias(target.registered_model_name, registry.CHALLENGER, version)
    client.set_model_version_tag(target.registered_model_name, version, "task", target.name)
    client.set_model_version_tag(target.registered_model_name, version, "policy", result.chosen)
    return version


def train_task(
    task_name: str,
    *,
    dsn: str | None = None,
    seed: int = 42,
    register: bool = True,
    features: list[str] | None = None,
    search_space: tuple[dict[str, float], ...] = SEARCH_SPACE,
) -> TrainResult:
    """Train the target `task_name` on the feature snapshots and log the run; register the
    served policy as `challenger`. `features` restricts the inputs
    (an ablation); by default the target's own list. The policy registered is the one the
    fit served (LightGBM only when it beats every baseline). Raises UntrainableTargetError when the
    snapshots cannot train this target (nothing is logged to MLflow then)."""
    target: Target = get_target(task_name)
    client = tracking.configure()
    with db.connect(dsn) as conn:
        frame = data.training_frame(conn, target)
        invocation = _dbt_invocation_id(conn)
    try:
        result = fit(frame, target, features=features, seed=seed, search_space=search_space)
    except (FeatureError, SplitError) as exc:
        raise UntrainableTargetError(target.name, str(exc)) from exc
    experiment = tracking.experiment_id(target.experiment_name)

    with mlflow.start_run(
        experiment_id=experiment,
        run_name=f"{target.name}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}",
    ) as run:
        log_search(result, experiment)
        log_fit(result, frame, invocation)
        reasons = served_reasons(result)
        registered = register and not math.isnan(result.metrics.get("roc_auc", math.nan))
        if not registered and register:
            reasons.append("test AUC undefined (one class in the test window): not registered.")
        version = register_challenger(client, result) if registered else None
        mlflow.set_tag("registered", str(registered))
        return TrainResult(
            target.name,
            run.info.run_id,
            version,
            result.metrics,
            result.baseline_metrics,
            registered,
            reasons,
            result.params,
            result.served_calibrator.method,
            result.chosen,
            result.candidates,
        )
