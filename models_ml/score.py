"""Score a feature snapshot with the champion model and write ml.customer_scores.

Idempotent per (task, as_of_date): the date's rows are deleted and rewritten in one
transaction, so a failure leaves the previous scores intact and a re-run never duplicates.
The snapshot is streamed in chunks so memory stays flat as customers grow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from models_ml import data, tracking
from models_ml.calibrate import IDENTITY, Calibrator
from models_ml.register import CHAMPION
from models_ml.tasks import FEATURE_WORDS, Task, get_task
from portrait import db

SCORE_COLUMNS = [
    "cid",
    "as_of_date",
    "task",
    "score",
    "band",
    "reason_1",
    "reason_2",
    "reason_3",
    "model_name",
    "model_version",
    "model_alias",
    "run_id",
]


class NoChampionError(RuntimeError):
    """No model version carries the alias to score with."""


@dataclass
class ChampionModel:
    task: Task
    model: object
    version: str
    run_id: str
    alias: str
    features: list[str]
    # Maps the booster's probabilities to the task's calibrated scores (identity if none).
    calibrator: Calibrator = field(default=IDENTITY)

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        """Calibrated scores for a model matrix with the champion's columns."""
        return self.calibrator.apply(self.model.predict_proba(x)[:, 1])


def load_champion(task_name: str, alias: str = CHAMPION) -> ChampionModel:
    task = get_task(task_name)
    client = tracking.configure()
    try:
        mv = client.get_model_version_by_alias(task.registered_model_name, alias)
    except MlflowException:
        raise NoChampionError(
            f"No version of {task.registered_model_name} has alias '{alias}'. Run the "
            f"portrait_train DAG (or `portrait models train {task.name}` then "
            f"`portrait models promote {task.name}`) first."
        ) from None
    uri = f"models:/{task.registered_model_name}@{alias}"
    model = mlflow.lightgbm.load_model(uri)
    metadata = mlflow.models.get_model_info(uri).metadata or {}
    features = list(
        metadata.get("features") or getattr(model, "feature_name_", None) or task.features
    )
    calibrator = Calibrator.from_dict(metadata.get("calibration"))
    return ChampionModel(task, model, str(mv.version), mv.run_id, alias, features, calibrator)


def reason_codes(contrib: np.ndarray, features: list[str], top: int = 3) -> list[list[str | None]]:
    """The `top` features that raise each row's score most, in business words."""
    out: list[list[str | None]] = []
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :top]
    for i, idx in enumerate(order):
        row: list[str | None] = []
        for j in idx:
            if contrib[i, j] > 0:
                name = features[j]
                row.append(f"{FEATURE_WORDS.get(name, name)} (+{contrib[i, j]:.2f})")
            else:
                row.append(None)
        out.append(row)
    return out


def score_frame(champ: ChampionModel, frame: pd.DataFrame, as_of_date: dt.date) -> pd.DataFrame:
    x = data.to_model_matrix(frame, champ.features)
    scores = champ.predict(x)
    contrib = champ.model.booster_.predict(x, pred_contrib=True)[:, :-1]
    reasons = reason_codes(contrib, champ.features)
    return pd.DataFrame(
        {
            "cid": frame["cid"].to_numpy(),
            "as_of_date": as_of_date,
            "task": champ.task.name,
            "score": scores,
            "band": [champ.task.band(s) for s in scores],
            "reason_1": [r[0] for r in reasons],
            "reason_2": [r[1] for r in reasons],
            "reason_3": [r[2] for r in reasons],
            "model_name": champ.task.registered_model_name,
            "model_version": champ.version,
            "model_alias": champ.alias,
            "run_id": champ.run_id,
        }
    )


def score_task(
    task_name: str,
    as_of_date: dt.date | None = None,
    *,
    dsn: str | None = None,
    chunk_rows: int = 50_000,
) -> dict:
    """Score every customer of the snapshot; returns counts for XCom."""
    champ = load_champion(task_name)
    with db.connect(dsn) as conn:
        data.ensure_ml_schema(conn)
        if as_of_date is None:
            as_of_date = data.latest_snapshot_date(conn)
        columns = db.table_columns(conn, "features", "customer_features")
        data.to_model_matrix(pd.DataFrame(columns=columns), champ.features)  # fail before deleting
        n_snapshot = conn.execute(
            "select count(*) from features.customer_features where as_of_date = %s", (as_of_date,)
        ).fetchone()[0]
        if n_snapshot == 0:
            raise data.FeatureError(
                f"features.customer_features has no rows for as_of_date {as_of_date}."
            )
        conn.execute(
            "delete from ml.customer_scores where task = %s and as_of_date = %s",
            (champ.task.name, as_of_date),
        )
        written = 0
        with conn.cursor(name="portrait_score_snapshot") as cur:
            cur.itersize = chunk_rows
            cur.execute(
                "select * from features.customer_features where as_of_date = %s order by cid",
                (as_of_date,),
            )
            names = [d.name for d in cur.description]
            while rows := cur.fetchmany(chunk_rows):
                chunk = score_frame(champ, pd.DataFrame(rows, columns=names), as_of_date)
                written += db.copy_frame(conn, "ml", "customer_scores", chunk, SCORE_COLUMNS)
    return {
        "task": champ.task.name,
        "as_of_date": str(as_of_date),
        "rows": written,
        "model_version": champ.version,
        "alias": champ.alias,
    }
