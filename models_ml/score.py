"""Score a feature snapshot with the champion model and write ml.customer_scores.

Idempotent per (task, as_of_date): every chunk is staged in a temporary table and the date's
rows are replaced by one delete + insert at the end of the same transaction, so a failure
leaves the previous scores intact and a re-run never duplicates. The snapshot is streamed
with COPY in chunks so memory stays flat as customers grow; each chunk is scored by the
native LightGBM booster on all cores, with bands and reason codes computed per array, not
per row.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from psycopg import sql

from models_ml import data, tracking
from models_ml.calibrate import IDENTITY, Calibrator
from models_ml.register import CHAMPION
from models_ml.tasks import FEATURE_WORDS, Task, get_task
from portrait import db

# What scoring stages per customer; the final insert adds the run's constant columns (and
# scored_at, the transaction's time).
STAGING_DDL = """
create temp table score_staging (
    cid text, score double precision, band text, reason_1 text, reason_2 text, reason_3 text
) on commit drop
"""
DELETE_SQL = "delete from ml.customer_scores where task = %(task)s and as_of_date = %(as_of_date)s"
INSERT_SQL = """
insert into ml.customer_scores (
    cid, as_of_date, task, score, band, reason_1, reason_2, reason_3,
    model_name, model_version, model_alias, run_id
)
select
    cid, %(as_of_date)s, %(task)s, score, band, reason_1, reason_2, reason_3,
    %(model_name)s, %(model_version)s, %(model_alias)s, %(run_id)s
from score_staging
"""


class NoChampionError(RuntimeError):
    """No model version carries the alias to score with."""


def _threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


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

    @property
    def booster(self) -> lgb.Booster:
        return self.model.booster_

    def predict(self, x: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Calibrated scores for a model matrix with the champion's columns (the booster's
        probability is the classifier's predict_proba[:, 1], without its input checks)."""
        return self.calibrator.apply(self.booster.predict(x, num_threads=_threads()))

    def contributions(self, x: pd.DataFrame | np.ndarray) -> np.ndarray:
        """TreeSHAP contribution of each feature to each row's raw score (bias dropped)."""
        return self.booster.predict(x, pred_contrib=True, num_threads=_threads())[:, :-1]


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
    # Load the version the alias resolved to, not the alias again: were it moved in between,
    # the scores would name a version other than the one that produced them.
    uri = f"models:/{task.registered_model_name}/{mv.version}"
    model = mlflow.lightgbm.load_model(uri)
    metadata = mlflow.models.get_model_info(uri).metadata or {}
    features = list(
        metadata.get("features") or getattr(model, "feature_name_", None) or task.features
    )
    calibrator = Calibrator.from_dict(metadata.get("calibration"))
    return ChampionModel(task, model, str(mv.version), mv.run_id, alias, features, calibrator)


def reason_codes(contrib: np.ndarray, features: list[str], top: int = 3) -> np.ndarray:
    """The `top` features that raise each row's score most, in business words, as an
    (rows, top) array; None where fewer features raise it. Contributions show in cents, and
    each distinct (feature, cents) text is formatted once, not once per row."""
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :top]
    values = np.take_along_axis(contrib, order, axis=1)
    raises = values > 0
    out = np.full(order.shape, None, dtype=object)
    if not raises.any():
        return out
    cents = np.rint(values[raises] * 100).astype(np.int64)
    span = int(cents.max()) + 1
    keys, inverse = np.unique(order[raises] * span + cents, return_inverse=True)
    words = [FEATURE_WORDS.get(name, name) for name in features]
    texts = np.array(
        [f"{words[k // span]} (+{(k % span) / 100:.2f})" for k in keys.tolist()], dtype=object
    )
    out[raises] = texts[inverse.ravel()]
    return out


class Stopwatch:
    """Seconds per stage, summed over chunks: where a scoring run spends its time."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            spent = time.perf_counter() - started
            self.seconds[stage] = self.seconds.get(stage, 0.0) + spent

    def rounded(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in self.seconds.items()}


def score_matrix(
    champ: ChampionModel, x: np.ndarray, watch: Stopwatch | None = None
) -> dict[str, np.ndarray]:
    """Score, band and top-3 reasons of each row of a model matrix (the staged columns)."""
    watch = watch or Stopwatch()
    with watch("predict"):
        scores = champ.predict(x)
    with watch("contributions"):
        contrib = champ.contributions(x)
    with watch("reasons_and_bands"):
        reasons = reason_codes(contrib, champ.features)
        bands = champ.task.bands(scores)
    return {
        "score": scores,
        "band": bands,
        "reason_1": reasons[:, 0],
        "reason_2": reasons[:, 1],
        "reason_3": reasons[:, 2],
    }


def score_task(
    task_name: str,
    as_of_date: dt.date | None = None,
    *,
    dsn: str | None = None,
    chunk_rows: int = 50_000,
) -> dict:
    """Score every customer of the snapshot; returns counts (and seconds per stage) for XCom."""
    watch = Stopwatch()
    with watch("load_model"):
        champ = load_champion(task_name)
    # Two connections: a COPY holds its connection until the last row, so the snapshot streams
    # out of one while the scores are staged into the other, whose single transaction is the
    # only one that touches ml.customer_scores.
    with db.connect(dsn) as conn, db.connect(dsn) as reader:
        data.ensure_ml_schema(conn)
        if as_of_date is None:
            as_of_date = data.latest_snapshot_date(conn)
        available = db.table_columns(conn, "features", "customer_features")
        data.require_columns(available, champ.features)
        conn.execute(STAGING_DDL)
        staging = sql.Identifier("score_staging")
        written = 0
        chunks = data.snapshot_chunks(reader, as_of_date, champ.features, chunk_rows)
        # closing(): on an error mid-snapshot the COPY must be ended before its connection
        # closes, else the rollback waits on a stream nobody reads.
        with closing(chunks):
            while True:
                with watch("read"):
                    batch = next(chunks, None)
                if batch is None:
                    break
                cids, x = batch
                scored = score_matrix(champ, x, watch)
                with watch("stage_write"):
                    written += db.copy_columns(conn, staging, {"cid": cids, **scored})
        if written == 0:
            raise data.FeatureError(
                f"features.customer_features has no rows for as_of_date {as_of_date}."
            )
        params = {
            "task": champ.task.name,
            "as_of_date": as_of_date,
            "model_name": champ.task.registered_model_name,
            "model_version": champ.version,
            "model_alias": champ.alias,
            "run_id": champ.run_id,
        }
        with watch("replace_delete"):
            conn.execute(DELETE_SQL, params)
        with watch("replace_insert"):
            conn.execute(INSERT_SQL, params)
        with watch("commit"):
            conn.commit()
    return {
        "task": champ.task.name,
        "as_of_date": str(as_of_date),
        "rows": written,
        "model_version": champ.version,
        "alias": champ.alias,
        "seconds": watch.rounded(),
    }
