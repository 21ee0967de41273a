"""The model registry as the ML layer sees it: alias names, the champion's loader and wrapper,
and each run's reference window (the test rows it was judged on, features, label and score).

Training writes the reference window, the gate re-scores it with the champion, drift compares
new snapshots with it and the scorecards read it: one artefact path, one writer, one reader.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from models_ml import policies, tracking
from models_ml.calibrate import IDENTITY, Calibrator
from models_ml.targets import Target, get_target

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous"

REFERENCE_ARTIFACT = "reference/test_window.parquet"
# A baseline policy's JSON inside its model version (models_ml.policies, train.register_challenger).
POLICY_ARTIFACT = "policy.json"


class NoChampionError(RuntimeError):
    """No model version carries the alias to score with."""


def version_by_alias(client, name: str, alias: str):
    """The model version `alias` points at, or None when no version carries it."""
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def _threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


@dataclass
class ChampionModel:
    target: Target
    model: object
    version: str
    run_id: str
    alias: str
    features: list[str]
    # Maps the booster's probabilities to the target's calibrated scores (identity if none).
    calibrator: Calibrator = field(default=IDENTITY)
    # "lightgbm", or the baseline that beat it when it was trained (models_ml.policies).
    policy: str = "lightgbm"

    @property
    def booster(self) -> lgb.Booster:
        if self.policy != "lightgbm":
            raise TypeError(f"{self.target.name}'s champion is a {self.policy}, not a booster")
        return self.model.booster_

    def predict(self, x: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Calibrated scores for a model matrix with the champion's columns (the booster's
        probability is the classifier's predict_proba[:, 1], without its input checks)."""
        if self.policy != "lightgbm":
            return self.calibrator.apply(self.model.predict_proba(x)[:, 1])
        return self.calibrator.apply(self.booster.predict(x, num_threads=_threads()))

    def contributions(self, x: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Each feature's contribution to each row's raw score (log-odds): TreeSHAP for the
        booster (bias dropped), the linear terms of a baseline (zeros for BG/NBD)."""
        if self.policy != "lightgbm":
            return self.model.contributions(x)
        return self.booster.predict(x, pred_contrib=True, num_threads=_threads())[:, :-1]


def load_policy(uri: str):
    """A baseline's JSON from its model version, rebuilt (models_ml.policies.from_dict)."""
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp))
        found = next(local.rglob(POLICY_ARTIFACT), None)
        if found is None:
            raise NoChampionError(f"{uri} holds no {POLICY_ARTIFACT}: not a portrait baseline")
        return policies.from_dict(json.loads(found.read_text()))


def _aliased(client, target: Target, alias: str):
    mv = version_by_alias(client, target.registered_model_name, alias)
    if mv is None:
        raise NoChampionError(
            f"No version of {target.registered_model_name} has alias '{alias}'. Run the "
            f"portrait_train DAG (or `portrait models train {target.name}` then "
            f"`portrait models promote {target.name}`) first."
        )
    return mv


def champion_version(target_name: str, alias: str = CHAMPION) -> str:
    """The version `alias` points at now, for a run to pin: portrait_daily resolves it once
    and every score partition and the drift check of that run load this version."""
    target = get_target(target_name)
    return str(_aliased(tracking.configure(), target, alias).version)


def load_champion(
    target_name: str, alias: str = CHAMPION, version: str | None = None
) -> ChampionModel:
    """The model `alias` points at, or, given `version` (resolved earlier by
    champion_version), that version, still named by `alias` in what it writes."""
    target = get_target(target_name)
    client = tracking.configure()
    if version is None:
        mv = _aliased(client, target, alias)
    else:
        try:
            mv = client.get_model_version(target.registered_model_name, str(version))
        except MlflowException as exc:
            raise NoChampionError(
                f"{target.registered_model_name} has no version {version} (pinned as this "
                f"run's '{alias}'): {exc.message}"
            ) from exc
    # Load the version the alias resolved to, not the alias again: were it moved in between,
    # the scores would name a version other than the one that produced them.
    uri = f"models:/{target.registered_model_name}/{mv.version}"
    metadata = mlflow.models.get_model_info(uri).metadata or {}
    policy = metadata.get("policy", "lightgbm")
    model = mlflow.lightgbm.load_model(uri) if policy == "lightgbm" else load_policy(uri)
    features = list(
        metadata.get("features") or getattr(model, "feature_name_", None) or target.features
    )
    calibrator = Calibrator.from_dict(metadata.get("calibration"))
    return ChampionModel(
        target, model, str(mv.version), mv.run_id, alias, features, calibrator, policy
    )


def log_reference(reference: pd.DataFrame) -> None:
    """Store a reference window as the active run's artefact (see reference_frame)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / REFERENCE_ARTIFACT
        path.parent.mkdir()
        reference.to_parquet(path, index=False)
        mlflow.log_artifact(str(path), artifact_path=str(Path(REFERENCE_ARTIFACT).parent))


def reference_frame(run_id: str) -> pd.DataFrame:
    """The test window a run was judged on (features, segment columns, label, score)."""
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=REFERENCE_ARTIFACT, dst_path=tmp
        )
        return pd.read_parquet(local)
