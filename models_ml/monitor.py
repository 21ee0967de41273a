"""Drift watch: Evidently data drift on features and prediction drift on scores, plus PSI,
against the champion's test window; figures into monitoring.*, the HTML report into MLflow
and reports/. A policy turns daily figures into a verdict that does not flap."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from psycopg import sql

from models_ml import data, tracking
from models_ml.matrix import FeatureError, to_model_matrix
from models_ml.registry import ChampionModel, load_champion, reference_frame
from portrait import db

MONITORING_DDL = """
-- governance/roles.sql creates the schema for its owner; `create schema if not exists`
-- would need the database's CREATE privilege even when the schema exists.
do $$ begin if to_regnamespace('monitoring') is null then create schema monitoring; end if; end $$;
create table if not exists monitoring.drift_metrics (
    as_of_date date not null,
    task text not null,
    model_version text not null,
    column_name text not null,
    kind text not null,              -- feature | score
    method text not null,
    statistic double precision,
    threshold double precision,
    drifted boolean not null,
    psi double precision,
    psi_band text,
    computed_at timestamptz not null default now(),
    primary key (as_of_date, task, column_name)
);
create table if not exists monitoring.drift_runs (
    as_of_date date not null,
    task text not null,
    model_version text not null,
    reference_rows integer not null,
    current_rows integer not null,
    drifted_feature_share double precision not null,
    score_psi double precision,
    is_drifted boolean not null,
    consecutive_drifted integer not null,
    consecutive_clean integer not null,
    retrain_recommended boolean not null,
    report_path text,
    computed_at timestamptz not null default now(),
    primary key (as_of_date, task)
);
"""


@dataclass(frozen=True)
class DriftPolicy:
    """A day is drifted when enough features drift or the score distribution moves; retraining
    is recommended after `trigger_days` drifted days in a row and stands down after
    `clear_days` clean days in a row (hysteresis, so the alarm does not flap)."""

    drifted_share: float = 0.5
    score_psi_alert: float = 0.25
    trigger_days: int = 3
    clear_days: int = 2


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """Population stability index over the reference's quantile bins (missing values get a bin)."""
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    ref_f, cur_f = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if len(ref) == 0 or len(cur) == 0:
        return math.nan
    edges = (
        np.unique(np.quantile(ref_f, np.linspace(0, 1, bins + 1))) if len(ref_f) else np.array([])
    )
    edges = edges[1:-1] if len(edges) > 2 else edges[:0]

    def dist(values, finite):
        counts = np.bincount(np.searchsorted(edges, finite, side="right"), minlength=len(edges) + 1)
        counts = np.append(counts, len(values) - len(finite)).astype(float)
        return np.clip(counts / len(values), 1e-4, None)

    p, q = dist(ref, ref_f), dist(cur, cur_f)
    return float(np.sum((q - p) * np.log(q / p)))


def psi_band(value: float) -> str:
    if math.isnan(value):
        return "unknown"
    return "stable" if value < 0.1 else "moderate" if value < 0.25 else "major"


def evidently_drift(reference: pd.DataFrame, current: pd.DataFrame, html_path: Path | None):
    """Per-column drift from Evidently's DataDriftPreset.

    Returns {column: (method, statistic, threshold, drifted)}."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
    if html_path is not None:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        snapshot.save_html(str(html_path))
    out = {}
    for metric in snapshot.dict()["metrics"]:
        cfg = metric.get("config", {})
        if not cfg.get("type", "").endswith("ValueDrift"):
            continue
        method, threshold, value = cfg.get("method", ""), cfg.get("threshold"), metric["value"]
        value = float(value) if value is not None else math.nan
        drifted = value < threshold if "p_value" in method else value >= threshold
        out[cfg["column"]] = (method, value, float(threshold), bool(drifted))
    return out


def _previous_streaks(conn, task: str, as_of_date: dt.date) -> tuple[int, int, bool]:
    row = conn.execute(
        "select consecutive_drifted, consecutive_clean, retrain_recommended "
        "from monitoring.drift_runs where task = %s and as_of_date < %s "
        "order by as_of_date desc limit 1",
        (task, as_of_date),
    ).fetchone()
    return (row[0], row[1], row[2]) if row else (0, 0, False)


def apply_policy(
    policy: DriftPolicy, is_drifted: bool, prev_drifted: int, prev_clean: int, prev_alarm: bool
) -> tuple[int, int, bool]:
    drifted_streak = prev_drifted + 1 if is_drifted else 0
    clean_streak = 0 if is_drifted else prev_clean + 1
    if drifted_streak >= policy.trigger_days:
        alarm = True
    elif clean_streak >= policy.clear_days:
        alarm = False
    else:
        alarm = prev_alarm
    return drifted_streak, clean_streak, alarm


@dataclass
class DriftFigures:
    """One day's drift against the reference window, before the policy's streaks."""

    metrics: pd.DataFrame  # one row per column (features, then the score)
    reference_rows: int
    current_rows: int
    drifted_feature_share: float
    score_psi: float
    is_drifted: bool


@dataclass
class DriftResult:
    """A drift run as stored in monitoring.drift_runs (and returned for XCom)."""

    as_of_date: dt.date
    task: str
    model_version: str
    reference_rows: int
    current_rows: int
    drifted_feature_share: float
    score_psi: float
    is_drifted: bool
    consecutive_drifted: int
    consecutive_clean: int
    retrain_recommended: bool
    report_path: str

    def row(self) -> dict:
        return asdict(self)

    def to_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, dt.date) else v) for k, v in self.row().items()}


def compute_drift(
    champ: ChampionModel,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    as_of_date: dt.date,
    policy: DriftPolicy,
    html_path: Path | None,
) -> DriftFigures:
    """Drift of each champion feature and of the score between the reference window and the
    current snapshot (with its scores): Evidently's tests, PSI, and the day's verdict."""
    cols = [*champ.features, "score"]
    ref_x = to_model_matrix(reference, cols)
    cur_x = to_model_matrix(current, cols)
    drift = evidently_drift(ref_x, cur_x, html_path)
    rows = []
    for col in cols:
        method, stat, threshold, drifted = drift.get(col, ("n/a", math.nan, math.nan, False))
        value = psi(ref_x[col].to_numpy(), cur_x[col].to_numpy())
        rows.append(
            {
                "as_of_date": as_of_date,
                "task": champ.target.name,
                "model_version": champ.version,
                "column_name": col,
                "kind": "score" if col == "score" else "feature",
                "method": method,
                "statistic": stat,
                "threshold": threshold,
                "drifted": drifted,
                "psi": value,
                "psi_band": psi_band(value),
            }
        )
    metrics = pd.DataFrame(rows)
    feat = metrics[metrics["kind"] == "feature"]
    share = float(feat["drifted"].mean()) if len(feat) else 0.0
    score_psi = float(metrics.loc[metrics["kind"] == "score", "psi"].iloc[0])
    is_drifted = share >= policy.drifted_share or (
        not math.isnan(score_psi) and score_psi >= policy.score_psi_alert
    )
    return DriftFigures(metrics, len(ref_x), len(cur_x), share, score_psi, is_drifted)


def current_frame(conn, target_name: str, as_of_date: dt.date) -> pd.DataFrame:
    """The snapshot's features joined with its scores of the target."""
    current = data.snapshot_frame(conn, as_of_date)
    scores = db.read_frame(
        conn,
        "select cid, score from ml.customer_scores where task = %s and as_of_date = %s",
        (target_name, as_of_date),
    )
    if scores.empty:
        raise FeatureError(f"No {target_name} scores for {as_of_date}: run the score task first.")
    return current.merge(scores, on="cid", how="inner")


def write_drift(conn, figures: DriftFigures, run: DriftResult) -> None:
    """Replace the day's rows of monitoring.drift_metrics and monitoring.drift_runs."""
    for table in ("drift_metrics", "drift_runs"):
        conn.execute(
            sql.SQL("delete from {} where task = %s and as_of_date = %s").format(
                sql.Identifier("monitoring", table)
            ),
            (run.task, run.as_of_date),
        )
    metrics = figures.metrics
    db.copy_frame(conn, "monitoring", "drift_metrics", metrics, list(metrics.columns))
    row = run.row()
    db.copy_frame(conn, "monitoring", "drift_runs", pd.DataFrame([row]), list(row))


def log_drift(run: DriftResult, html: Path) -> None:
    """The day's figures and the HTML report as a run of the portrait/monitoring experiment."""
    tracking.configure()
    with mlflow.start_run(
        experiment_id=tracking.experiment_id("portrait/monitoring"),
        run_name=f"drift-{run.task}-{run.as_of_date}",
    ):
        tags = {"task": run.task, "as_of_date": str(run.as_of_date)}
        mlflow.set_tags(tags | {"model_version": run.model_version})
        score_psi = run.score_psi
        mlflow.log_metrics(
            {
                "drifted_feature_share": run.drifted_feature_share,
                "score_psi": 0.0 if math.isnan(score_psi) else score_psi,
            }
        )
        mlflow.log_artifact(str(html), artifact_path="drift")


def check_drift(
    task_name: str,
    as_of_date: dt.date | None = None,
    *,
    dsn: str | None = None,
    reports_dir: Path | None = None,
    policy: DriftPolicy | None = None,
    version: str | None = None,
) -> DriftResult:
    """Drift of a snapshot against the champion's reference window of the target `task_name`
    (or of its pinned `version`, the one that scored the snapshot): compute, apply the
    policy's streaks, write monitoring.*, log to MLflow."""
    from portrait.settings import get_settings

    policy = policy or DriftPolicy()
    reports_dir = Path(reports_dir or get_settings().reports_dir) / "drift"
    champ = load_champion(task_name, version=version)
    reference = reference_frame(champ.run_id)
    name = champ.target.name
    with db.connect(dsn) as conn:
        db.ensure_objects(conn, MONITORING_DDL, "portrait.monitoring.ddl")
        if as_of_date is None:
            as_of_date = data.latest_snapshot_date(conn)
        current = current_frame(conn, name, as_of_date)
        html = reports_dir / f"{name}_{as_of_date}.html"
        figures = compute_drift(champ, reference, current, as_of_date, policy, html)
        streaks = apply_policy(
            policy, figures.is_drifted, *_previous_streaks(conn, name, as_of_date)
        )
        run = DriftResult(
            as_of_date=as_of_date,
            task=name,
            model_version=champ.version,
            reference_rows=figures.reference_rows,
            current_rows=figures.current_rows,
            drifted_feature_share=figures.drifted_feature_share,
            score_psi=figures.score_psi,
            is_drifted=figures.is_drifted,
            consecutive_drifted=streaks[0],
            consecutive_clean=streaks[1],
            retrain_recommended=streaks[2],
            report_path=str(html),
        )
        write_drift(conn, figures, run)
    log_drift(run, html)
    return run
