"""The end-of-demo summary: rows per schema, model metrics, drift verdict, where to look."""

from __future__ import annotations

import math

from psycopg import sql

from portrait import db
from portrait.local.connect import connect_hint, known_secrets, scrub
from portrait.settings import Settings

# In the order data flows; activation (marketing's audiences) reads the marts.
SCHEMAS = (
    "raw",
    "staging",
    "texts",
    "identity",
    "features",
    "tags",
    "ml",
    "monitoring",
    "marts",
    "activation",
)


def rows_per_schema(conn) -> list[tuple[str, str, int]]:
    rels = conn.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema = any(%s) order by 1, 2",
        (list(SCHEMAS),),
    ).fetchall()
    out = []
    for schema, name in rels:
        (n,) = conn.execute(
            sql.SQL("select count(*) from {}").format(sql.Identifier(schema, name))
        ).fetchone()
        out.append((schema, name, int(n)))
    return out


def model_lines() -> list[str]:
    from mlflow.exceptions import MlflowException

    from models_ml import tracking
    from models_ml.targets import TARGETS

    client = tracking.configure()
    lines = []
    for task in TARGETS.values():
        try:
            mv = client.get_model_version_by_alias(task.registered_model_name, "champion")
        except MlflowException:
            lines.append(
                f"  {task.name:<18} no champion (a target the history cannot train is skipped "
                "by portrait_train with the reason: see its train task's log)"
            )
            continue
        run = client.get_run(mv.run_id)
        metrics, policy = run.data.metrics, run.data.tags.get("policy", "lightgbm")

        def f(key, metrics=metrics):
            v = metrics.get(key, math.nan)
            return "n/a" if math.isnan(v) else f"{v:.3f}"

        lines.append(
            f"  {task.name:<18} champion v{mv.version} ({policy}): test AUC "
            f"{f('test_roc_auc')} (best baseline {f('baseline_test_roc_auc')}, LightGBM "
            f"{f('lightgbm_test_roc_auc')}), PR AUC {f('test_pr_auc')}, "
            f"Brier {f('test_brier')}, ECE {f('test_ece')}"
        )
    return lines


def drift_lines(conn) -> list[str]:
    if not db.relation_exists(conn, "monitoring", "drift_runs"):
        return ["  no drift checks yet"]
    rows = conn.execute(
        "select distinct on (task) task, as_of_date, drifted_feature_share, score_psi, "
        "is_drifted, retrain_recommended, report_path from monitoring.drift_runs "
        "order by task, as_of_date desc"
    ).fetchall()
    return [
        f"  {t:<18} {d}: {share:.0%} of features drifted, score PSI {psi:.3f} -> "
        f"{'DRIFTED' if drifted else 'no drift'}"
        f"{', retraining recommended' if retrain else ''}  ({path})"
        for t, d, share, psi, drifted, retrain, path in rows
    ]


def render(settings: Settings, dsn: str) -> str:
    with db.connect(dsn) as conn:
        counts = rows_per_schema(conn)
        drift = drift_lines(conn)
    per_schema: dict[str, int] = {}
    for schema, _, n in counts:
        per_schema[schema] = per_schema.get(schema, 0) + n
    lines = ["", "portrait — summary", "", "Rows per schema (tables/views):"]
    for schema in SCHEMAS:
        tables = [(t, n) for s, t, n in counts if s == schema]
        detail = ", ".join(f"{t}={n}" for t, n in tables)
        lines.append(f"  {schema:<11} {per_schema.get(schema, 0):>9}  {detail}")
    lines += ["", "Models (MLflow registry):", *model_lines(), "", "Drift:", *drift]
    lines += [
        "",
        "Where to look next:",
        "  make ui        Airflow UI (DAG runs, one task per dbt model), MLflow UI, dbt docs",
        f"  warehouse      {connect_hint(settings)}  (the analyst's login: schema marts;"
        " portrait_<component> services for the others)",
        f"  reports        {settings.reports_dir}",
        f"  logs           {settings.local_dir / 'logs'}",
        "",
    ]
    return scrub("\n".join(lines), known_secrets(settings))
