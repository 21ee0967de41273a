"""Building blocks the DAG files share: assets, default args, the dbt task groups and the
task bodies (each a lazy import and one call into a package). DAG files stay wiring only."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import ClassVar

from airflow.sdk import Asset

from portrait.settings import AIRFLOW_CONN_ID, get_settings

# Schema boundaries as Airflow Assets (DESIGN.md: each boundary is an asset); every task
# emits the asset it writes.
RAW = Asset(name="warehouse.raw", uri="portrait://warehouse/raw", group="portrait")
SCORES = Asset(
    name="warehouse.ml.customer_scores",
    uri="portrait://warehouse/ml/customer_scores",
    group="portrait",
)
SEGMENTS = Asset(
    name="warehouse.ml.customer_segments",
    uri="portrait://warehouse/ml/customer_segments",
    group="portrait",
)
MODELS = Asset(name="mlflow.champions", uri="portrait://mlflow/champions", group="portrait")
# Emitted only when the drift policy recommends retraining; portrait_train listens to it.
DRIFT_ALERT = Asset(
    name="monitoring.drift_alert",
    uri="portrait://warehouse/monitoring/drift_alert",
    group="portrait",
)

BUSINESS_TIMEZONE = get_settings().business_timezone
# The first day the DAGs schedule (business time); history before it is run by backfill.
START_DATE = dt.date(2026, 1, 1)


def as_of_date_for(run_after) -> str:
    """The day a run computes features for: the business-time day before the run. The
    nightly extraction of day D lands at midnight, so a run on D+1 sees all of D. Takes the
    run's logical date, or run_after for asset-triggered runs, which have none in Airflow 3."""
    import pendulum

    local = pendulum.instance(run_after).in_timezone(BUSINESS_TIMEZONE)
    return local.subtract(days=1).to_date_string()


# DAGs register as_of_date_for under this name (user_defined_macros).
USER_MACROS = {"portrait_as_of_date": as_of_date_for}
AS_OF_DATE_TEMPLATE = "{{ portrait_as_of_date(dag_run.logical_date or dag_run.run_after) }}"


def _default_args() -> dict:
    settings = get_settings()
    return {
        "owner": "data-team",
        "retries": settings.task_retries,
        "retry_delay": dt.timedelta(seconds=settings.task_retry_delay_seconds),
    }


DEFAULT_ARGS = _default_args()

DBT_PROJECT_DIR = get_settings().dbt_project_dir


def warehouse_dsn() -> str:
    """The warehouse URI from the Airflow connection (AIRFLOW_CONN_PORTRAIT_WAREHOUSE)."""
    from airflow.sdk import Connection

    uri = Connection.get(AIRFLOW_CONN_ID).get_uri()
    return uri.replace("postgres://", "postgresql://", 1)


def dbt_profile():
    """dbt's profile built by Cosmos from the same Airflow connection the Python tasks use,
    so dbt and the tasks can never reach the warehouse with different credentials."""
    from cosmos import ProfileConfig
    from cosmos.profiles import PostgresUserPasswordProfileMapping

    class WarehouseProfileMapping(PostgresUserPasswordProfileMapping):
        """Cosmos's Postgres mapping, also for a connection without a password (a server
        that authenticates otherwise, e.g. the test suite's throwaway clusters)."""

        required_fields: ClassVar[list[str]] = ["host", "user", "dbname"]

        @property
        def secret_fields(self) -> list[str]:
            return ["password"] if self.conn.password else []

        @property
        def profile(self) -> dict:
            profile = super().profile
            if not self.conn.password:
                profile["password"] = ""
            return profile

    return ProfileConfig(
        profile_name="portrait",
        target_name="local",
        profile_mapping=WarehouseProfileMapping(
            conn_id=AIRFLOW_CONN_ID, profile_args={"schema": "public", "threads": 2}
        ),
    )


def dbt_task_group(group_id: str, select: list[str], exclude: list[str] | None = None):
    """A Cosmos task group over the dbt project, rendered from the parsed manifest (no dbt
    call at DAG parse time); tests, unit tests included, run with each model (build)."""
    from cosmos import DbtTaskGroup, ExecutionConfig, ProjectConfig, RenderConfig
    from cosmos.constants import LoadMode, TestBehavior

    return DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=DBT_PROJECT_DIR / "target" / "manifest.json",
            install_dbt_deps=False,
        ),
        profile_config=dbt_profile(),
        execution_config=ExecutionConfig(dbt_executable_path=Path(sys.executable).parent / "dbt"),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.BUILD,
            select=select,
            exclude=exclude or [],
            # A test over two models (e.g. relationships) runs as its own task after both,
            # not inside whichever model's build happens to come first.
            should_detach_multiple_parents_tests=True,
        ),
        operator_args={
            "vars": {"as_of_date": AS_OF_DATE_TEMPLATE, "business_timezone": BUSINESS_TIMEZONE},
            "install_deps": False,
        },
        default_args=DEFAULT_ARGS,
    )


# ---- task bodies ---------------------------------------------------------------------------
def load_landing_task() -> dict:
    from sources.loader import load_landing

    report = load_landing(warehouse_dsn(), get_settings().landing_dir, progress=False)
    print(report.summary())
    # XCom carries counts, not the per-file detail (that is in raw._batch_files).
    return {
        "batches": len(report.batches),
        "records": report.records,
        "loaded": report.loaded,
        "quarantined": report.quarantined,
        "reconciled": report.reconciled,
    }


def train_task(task_name: str) -> dict:
    from models_ml.train import train_task as train

    return train(task_name, dsn=warehouse_dsn()).to_dict()


def promote_task(task_name: str) -> dict:
    from models_ml.register import promote

    decision = promote(task_name)
    print(f"{task_name}: promoted={decision.promoted} reasons={decision.reasons}")
    return decision.to_dict()


def score_task(task_name: str, as_of_date: str) -> dict:
    from models_ml.score import score_task as score

    return score(task_name, dt.date.fromisoformat(as_of_date), dsn=warehouse_dsn()).to_dict()


def segment_task(as_of_date: str) -> dict:
    from models_ml.segment import segment_customers

    return segment_customers(dt.date.fromisoformat(as_of_date), dsn=warehouse_dsn()).to_dict()


def drift_task(task_name: str, as_of_date: str) -> dict:
    from models_ml.monitor import check_drift

    return check_drift(task_name, dt.date.fromisoformat(as_of_date), dsn=warehouse_dsn()).to_dict()


def start_date():
    """START_DATE in the business time zone, as the DAGs' start_date."""
    import pendulum

    return pendulum.datetime(
        START_DATE.year, START_DATE.month, START_DATE.day, tz=BUSINESS_TIMEZONE
    )


def retrain_needed(drift_results: list[dict]) -> bool:
    """True when any task's drift policy recommends retraining."""
    return any(r.get("retrain_recommended") for r in drift_results)
