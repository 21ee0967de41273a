"""A baseline policy as an MLflow pyfunc "model from code": MLflow copies this file beside the
policy's JSON (``artifacts["policy"]``) and runs it to load the model, so serving a baseline
never unpickles anything. portrait's own loader (``registry.load_champion``) reads the JSON
directly; this file makes the same version loadable by standard MLflow tooling
(``mlflow.pyfunc.load_model``, ``mlflow models serve``)."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from models_ml import policies


class PolicyModel(PythonModel):
    def load_context(self, context) -> None:
        self.policy = policies.from_dict(json.loads(Path(context.artifacts["policy"]).read_text()))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray:
        return self.policy.predict_proba(model_input)[:, 1]


mlflow.models.set_model(PolicyModel())
