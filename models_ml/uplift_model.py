"""The uplift model as an MLflow pyfunc "model from code": MLflow copies this file beside the
learner's boosters and JSON (``artifacts["learner"]``, written by ``uplift_task.save_learner``)
and runs it to load the model, so nothing is unpickled. portrait's own loader
(``uplift_task.load_learner``) reads the same files; this file makes the version usable by
standard MLflow tooling (``mlflow.pyfunc.load_model``, ``mlflow models serve``): it predicts
each row's estimated uplift."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel


class UpliftModel(PythonModel):
    def load_context(self, context) -> None:
        from models_ml.uplift_task import load_learner

        self.learner = load_learner(context.artifacts["learner"])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray:
        return self.learner.predict(model_input)


mlflow.models.set_model(UpliftModel())
