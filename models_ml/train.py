"""Train one task: time split, LightGBM vs a logistic baseline, metrics, plots, MLflow run.

The function returns the MLflow run id and the registered version; promotion is a separate
step (``models_ml.register``) so the gate's decision is its own task in Airflow.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from models_ml import data, evaluate, plots, tracking
from models_ml.split import TimeSplit, time_split
from models_ml.tasks import get_task
from portrait import db

REFERENCE_ARTIFACT = "reference/test_window.parquet"

# LightGBM is registered only if the logistic baseline does not beat it by more than this
# (test AUC). A strict "must beat" turns the noise of a small test window into a coin flip
# that leaves the pipeline without a champion; a clearly better baseline still blocks it.
BASELINE_TOLERANCE_AUC = 0.01


@dataclass
class TrainResult:
    task: str
    run_id: str
    model_version: str | None
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    registered: bool
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "task": self.task,
            "run_id": self.run_id,
            "model_version": self.model_version,
            "test_auc": self.metrics.get("roc_auc"),
            "baseline_auc": self.baseline_metrics.get("roc_auc"),
            "registered": self.registered,
            "reasons": self.reasons,
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


def split_frame(frame: pd.DataFrame, split: TimeSplit) -> dict[str, pd.DataFrame]:
    return {
        "train": frame[frame["as_of_date"].isin(split.train_dates)],
        "valid": frame[frame["as_of_date"].isin(split.valid_dates)],
        "test": frame[frame["as_of_date"].isin(split.test_dates)],
    }


def fit_lightgbm(
    x_train: pd.DataFrame,
    y_train: np.ndarray,
    x_valid: pd.DataFrame,
    y_valid: np.ndarray,
    seed: int,
) -> lgb.LGBMClassifier:
    pos = max(float(y_train.sum()), 1.0)
    neg = max(float(len(y_train) - y_train.sum()), 1.0)
    model = lgb.LGBMClassifier(
        n_estimators=1000,
        learning_rate=0.03,
        num_leaves=7,
        min_child_samples=50,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        reg_lambda=5.0,
        # Keep probabilities honest (calibration matters) while helping rare positives a bit.
        scale_pos_weight=min(neg / pos, 5.0) ** 0.5,
        random_state=seed,
        n_jobs=2,
        verbose=-1,
    )
    model.fit(
        x_train,
        y_train,
        eval_X=(x_valid,),
        eval_y=(y_valid,),
        eval_metric="auc",
        callbacks=[lgb.early_stopping(50, verbose=False)],
    )
    return model


def fit_baseline(x_train: pd.DataFrame, y_train: np.ndarray, seed: int):
    model = make_pipeline(
        StandardScaler(), LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    )
    model.fit(x_train.fillna(0.0), y_train)
    return model


def train_task(
    task_name: str,
    *,
    dsn: str | None = None,
    seed: int = 42,
    register: bool = True,
) -> TrainResult:
    task = get_task(task_name)
    client = tracking.configure()
    with db.connect(dsn) as conn:
        frame = data.training_frame(conn, task)
        invocation = _dbt_invocation_id(conn)
    if frame.empty:
        raise data.FeatureError(f"No labelled rows for {task.name}: nothing to train on.")
    split = time_split(list(frame["as_of_date"].unique()), task.horizon_days)
    parts = split_frame(frame, split)
    features = list(task.features)
    xs = {k: data.to_model_matrix(v, features) for k, v in parts.items()}
    ys = {k: v["label"].to_numpy(dtype=int) for k, v in parts.items()}
    for name in ("train", "valid"):
        if len(np.unique(ys[name])) < 2:
            raise data.FeatureError(
                f"The {name} window of {task.name} has a single class "
                f"({int(ys[name].sum())} positives of {len(ys[name])}): cannot train."
            )

    with mlflow.start_run(
        experiment_id=tracking.experiment_id(task.experiment_name),
        run_name=f"{task.name}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}",
    ) as run:
        model = fit_lightgbm(xs["train"], ys["train"], xs["valid"], ys["valid"], seed)
        baseline = fit_baseline(xs["train"], ys["train"], seed)
        p_test = model.predict_proba(xs["test"])[:, 1]
        p_base = baseline.predict_proba(xs["test"].fillna(0.0))[:, 1]
        metrics = evaluate.binary_metrics(ys["test"], p_test)
        base_metrics = evaluate.binary_metrics(ys["test"], p_base)

        mlflow.set_tags(
            {
                "task": task.name,
                "git_commit": _git_commit(),
                "dbt_invocation_id": invocation,
                "feature_snapshot_range": f"{min(frame['as_of_date'])}..{max(frame['as_of_date'])}",
                **split.describe(),
                **{f"rows_{k}": str(len(v)) for k, v in parts.items()},
            }
        )
        mlflow.log_params(
            {
                k: v
                for k, v in model.get_params().items()
                if k
                in {
                    "n_estimators",
                    "learning_rate",
                    "num_leaves",
                    "min_child_samples",
                    "subsample",
                    "colsample_bytree",
                    "reg_lambda",
                    "scale_pos_weight",
                }
            }
            | {"best_iteration": model.best_iteration_, "seed": seed, "features": len(features)}
        )
        mlflow.log_metrics({f"test_{k}": v for k, v in metrics.items() if not math.isnan(v)})
        mlflow.log_metrics(
            {f"baseline_test_{k}": v for k, v in base_metrics.items() if not math.isnan(v)}
        )
        train_ds = mlflow.data.from_pandas(
            parts["train"].drop(columns=["label"]).assign(label=ys["train"]),
            name=f"{task.name}_train",
            targets="label",
        )
        mlflow.log_input(train_ds, context="training")

        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = Path(tmp)
            reference = parts["test"].loc[:, ["cid", "as_of_date", *features]].copy()
            reference["score"] = p_test
            reference["label"] = ys["test"]
            (tmp_path / "reference").mkdir()
            reference.to_parquet(tmp_path / REFERENCE_ARTIFACT, index=False)
            mlflow.log_artifact(str(tmp_path / REFERENCE_ARTIFACT), artifact_path="reference")
            for fig_name, fig in plots.model_plots(
                model, xs["test"], ys["test"], p_test, p_base
            ).items():
                mlflow.log_figure(fig, f"plots/{fig_name}.png")
            plots.close_all()
            (tmp_path / "metrics.json").write_text(
                json.dumps({"model": metrics, "baseline": base_metrics}, indent=2, default=str)
            )
            mlflow.log_artifact(str(tmp_path / "metrics.json"))

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
            info = mlflow.lightgbm.log_model(
                model,
                name="model",
                registered_model_name=task.registered_model_name,
                input_example=xs["test"].head(5),
            )
            version = str(info.registered_model_version)
            registered = True
            client.set_registered_model_alias(task.registered_model_name, "challenger", version)
            client.set_model_version_tag(task.registered_model_name, version, "task", task.name)
        mlflow.set_tag("registered", str(registered))
        return TrainResult(
            task.name, run.info.run_id, version, metrics, base_metrics, registered, reasons
        )


def _holds_against_baseline(metrics: dict[str, float], baseline: dict[str, float]) -> bool:
    ours, theirs = metrics.get("roc_auc", math.nan), baseline.get("roc_auc", math.nan)
    if math.isnan(ours):
        return False
    return math.isnan(theirs) or ours >= theirs - BASELINE_TOLERANCE_AUC
