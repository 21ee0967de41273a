"""MLflow setup: tracking URI and experiment artefact locations come from the settings."""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient


def configure(
    tracking_uri: str | None = None, artifact_root: str | Path | None = None
) -> MlflowClient:
    """Point MLflow at portrait's tracking store; called at the start of every ML step."""
    from portrait.settings import get_settings

    settings = get_settings()
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or settings.mlflow_tracking_uri
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    os.environ.setdefault(
        "PORTRAIT_MLFLOW_ARTIFACT_ROOT", str(artifact_root or settings.mlflow_artifact_root)
    )
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def experiment_id(name: str) -> str:
    """The experiment's id, creating it with an artefact location under the artefact root."""
    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    root = Path(os.environ["PORTRAIT_MLFLOW_ARTIFACT_ROOT"]).resolve()
    location = root / name.replace("/", "__")
    location.mkdir(parents=True, exist_ok=True)
    return mlflow.create_experiment(name, artifact_location=location.as_uri())
