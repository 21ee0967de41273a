"""One typed settings object for every part of portrait (prefix ``PORTRAIT_``).

Everything that needs a host, a port, a path or a URI reads it from here, and the
environment handed to Airflow, dbt and MLflow is derived from it (``service_env``).
"""

from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from portrait.secrets import local_secret

AIRFLOW_CONN_ID = "portrait_warehouse"
# The broker's Airflow connection, and the pub/sub channel `portrait notify` publishes landed
# batches on (portrait_refresh's asset watcher listens; docs/scaling.md).
BROKER_CONN_ID = "portrait_broker"
LANDING_CHANNEL = "portrait.landing"

# ---- logins (issue 15): one least-privilege login per component -----------------------------
# Component -> its login (governance/roles.sql creates them). Private cluster: each login's
# password is generated into .local/secrets/<login>; external warehouse: each component reads
# PORTRAIT_WAREHOUSE_URL_<COMPONENT>, falling back to PORTRAIT_WAREHOUSE_URL. Airflow gets
# each as the connection portrait_warehouse_<component>; portrait_warehouse itself is dbt's
# (the transformer), and portrait_warehouse_migration is the role migration's.
COMPONENT_LOGINS = {
    "loader": "portrait_loader",
    "transformer": "portrait_transformer",
    "ml": "portrait_ml",
    "service": "portrait_service",
    "analyst": "portrait_analyst",
    "admin": "portrait_admin",
}
# ---- end of logins ---------------------------------------------------------------------------
# The company's business time zone: as-of dates, order days and DAG schedules are days in it,
# and a source's exports are read in it unless the landing contract names another zone.
DEFAULT_BUSINESS_TIMEZONE = "Asia/Shanghai"


def _default_project_dir() -> Path:
    # The package is installed editable from the repository, so its parent is the checkout.
    return Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Where portrait's services, data and artefacts live; override with PORTRAIT_* variables."""

    model_config = SettingsConfigDict(
        env_prefix="PORTRAIT_", extra="ignore", populate_by_name=True, hide_input_in_errors=True
    )

    project_dir: Path = _default_project_dir()
    local_dir: Path | None = None
    reports_dir: Path | None = None

    # Warehouse: a private cluster under local_dir/pg, unless warehouse_url points elsewhere.
    warehouse_url: SecretStr | None = None
    # logins block (issue 15): an external warehouse's per-component URLs (else warehouse_url)
    warehouse_url_loader: SecretStr | None = None
    warehouse_url_transformer: SecretStr | None = None
    warehouse_url_ml: SecretStr | None = None
    warehouse_url_service: SecretStr | None = None
    warehouse_url_analyst: SecretStr | None = None
    warehouse_url_admin: SecretStr | None = None
    # who runs the role migration there: a role that may create roles and schemas
    warehouse_url_migration: SecretStr | None = None
    pg_host: str = "127.0.0.1"
    pg_port: int = 55432
    # The private cluster's bootstrap superuser: only the role migration logs in as it.
    pg_user: str = "postgres"
    # No default: local mode generates its password under .local/secrets (set this to pick
    # one); production names every secret explicitly.
    pg_password: SecretStr | None = None
    pg_database: str = "portrait"
    pg_bin_dir: Path | None = None

    business_timezone: str = DEFAULT_BUSINESS_TIMEZONE
    # The DAGs' start_date (a day in business time): set it to the first day your history
    # covers (the first batch's extraction day), so a backfill starts there. Unset, the DAGs
    # accept any date from EARLIEST_START_DATE on and each run checks the data covers its day.
    start_date: dt.date | None = None
    # The DAGs' end_date: the scheduler creates no run after it (a test world's history ends
    # in the past; runs are triggered or backfilled within it). Unset: no end.
    end_date: dt.date | None = None

    # Identity settings the DAGs' dbt tasks pass as `--vars '{identity: ...}'` (JSON, e.g.
    # PORTRAIT_IDENTITY='{"match_threshold": 9, "mode": "dedupe"}'; keys: docs/identity.md).
    # A bad key fails the dbt task and names it. Unset: dbt_project.yml's defaults.
    identity: dict[str, Any] | None = None
    # How the DAGs run dbt (portrait.orchestration.dbt_task_group, issue 20): "tasks", one
    # Airflow task per model (its tests with it); "watcher", one `dbt build` task and a sensor
    # per model showing its status (Cosmos's watcher mode); "build", one `dbt build` task per
    # group whose failure names the failed models. bench/bench_orchestration.py compares them.
    dbt_execution: Literal["tasks", "watcher", "build"] = "tasks"

    # Simulated world used by `make demo`.
    scale: float = 1.0
    seed: int = 42

    mlflow_tracking_uri: str | None = None
    mlflow_artifact_root: Path | None = None
    airflow_parallelism: int = 4
    # `portrait cluster` (make cluster): Airflow with the CeleryExecutor on Redis, its metadata
    # and MLflow's store in databases of the private cluster; ports beside make ui's.
    cluster_api_port: int = 8090
    cluster_mlflow_port: int = 5010
    cluster_redis_port: int = 6390
    cluster_workers: int = Field(default=2, ge=1)
    cluster_worker_concurrency: int = Field(default=2, ge=1)
    # portrait_daily scores each target in this many mapped tasks, each one hash partition of
    # the customers (models_ml.score: partitions write only their rows, re-run alone safely).
    score_partitions: int = Field(default=1, ge=1)
    # Airflow task retries (default_args); the test suite sets 0 so a failure shows at once.
    task_retries: int = 2
    task_retry_delay_seconds: int = 120

    # >>> environment and secrets (issue 15) -----------------------------------------------
    # `production` refuses to start without explicit secrets (environment, a `.env` file or
    # PORTRAIT_SECRETS_DIR, one file per setting) and refuses local defaults and weak values.
    environment: Literal["local", "production"] = Field(
        default="local", validation_alias=AliasChoices("PORTRAIT_ENV", "PORTRAIT_ENVIRONMENT")
    )
    # Every UI and server `make ui` starts listens here; 0.0.0.0 only on purpose.
    bind_host: str = "127.0.0.1"
    # The profile service (`portrait serve`, `make ui`): its port on bind_host, its pool size.
    service_port: int = 8000
    service_pool_size: int = 8
    # PORTRAIT_MLFLOW_AUTH=1: `make ui` serves MLflow with its basic-auth app (docs/governance.md).
    mlflow_auth: bool = False
    # An MLflow tracking server with authentication: the clients' login.
    mlflow_tracking_username: str | None = None
    mlflow_tracking_password: SecretStr | None = None

    def __init__(self, **values: Any) -> None:
        # Where explicit secrets may come from besides the environment, read when created.
        secrets_dir = os.environ.get("PORTRAIT_SECRETS_DIR")
        if secrets_dir and "_secrets_dir" not in values:
            if not Path(secrets_dir).is_dir():
                raise SettingsError(f"PORTRAIT_SECRETS_DIR={secrets_dir} is not a directory")
            values["_secrets_dir"] = secrets_dir
        values.setdefault("_env_file", os.environ.get("PORTRAIT_ENV_FILE", ".env"))
        super().__init__(**values)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @model_validator(mode="after")
    def _refuse_weak_secrets_in_production(self) -> Settings:
        if self.is_production:
            problems = production_problems(self)
            if problems:
                raise ValueError(
                    "PORTRAIT_ENV=production refuses to start:\n  - " + "\n  - ".join(problems)
                )
        return self

    def secrets_env(self) -> dict[str, str]:
        """The MLflow client login, when one is configured."""
        env = {}
        if self.mlflow_tracking_username and self.mlflow_tracking_password:
            env["MLFLOW_TRACKING_USERNAME"] = self.mlflow_tracking_username
            env["MLFLOW_TRACKING_PASSWORD"] = self.mlflow_tracking_password.get_secret_value()
        return env

    # <<< environment and secrets ------------------------------------------------------------

    @model_validator(mode="after")
    def _fill_paths(self) -> Settings:
        if self.local_dir is None:
            self.local_dir = self.project_dir / ".local"
        if self.reports_dir is None:
            self.reports_dir = self.project_dir / "reports"
        if self.mlflow_artifact_root is None:
            self.mlflow_artifact_root = self.local_dir / "mlflow" / "artifacts"
        if self.mlflow_tracking_uri is None:
            self.mlflow_tracking_uri = f"sqlite:///{self.local_dir / 'mlflow' / 'mlflow.db'}"
        return self

    # ---- derived locations -------------------------------------------------
    @property
    def pg_dir(self) -> Path:
        return self.local_dir / "pg"

    @property
    def data_dir(self) -> Path:
        return self.local_dir / "data"

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def truth_dir(self) -> Path:
        return self.data_dir / "truth"

    @property
    def airflow_home(self) -> Path:
        return self.local_dir / "airflow"

    @property
    def dbt_project_dir(self) -> Path:
        return self.project_dir / "dbt_project"

    @property
    def uses_private_cluster(self) -> bool:
        return self.warehouse_url is None

    # ---- connection strings (logins block, issue 15) -------------------------
    @property
    def secrets_dir(self) -> Path:
        return self.local_dir / "secrets"

    def _local_dsn(self, user: str) -> str:
        if user == self.pg_user and self.pg_password is not None:
            secret = self.pg_password.get_secret_value()
        else:
            secret = local_secret(self.secrets_dir, user)
        return (
            f"postgresql://{quote(user, safe='')}:{quote(secret, safe='')}"
            f"@{self.pg_host}:{self.pg_port}/{self.pg_database}"
        )

    def warehouse_dsn(self, component: str = "transformer") -> str:
        """libpq URL (postgresql://<user>:<password>@<host>:<port>/<db>) a component logs in
        with: its own login on the private cluster; PORTRAIT_WAREHOUSE_URL_<COMPONENT> (else
        PORTRAIT_WAREHOUSE_URL) on an external warehouse."""
        if component not in COMPONENT_LOGINS:
            raise ValueError(f"unknown component {component!r}: one of {sorted(COMPONENT_LOGINS)}")
        if self.warehouse_url is not None:
            own = getattr(self, f"warehouse_url_{component}")
            return (own or self.warehouse_url).get_secret_value()
        return self._local_dsn(COMPONENT_LOGINS[component])

    def migration_dsn(self) -> str:
        """Who runs the role migration: the private cluster's bootstrap superuser, else
        PORTRAIT_WAREHOUSE_URL_MIGRATION (a role that may create roles and schemas), else
        PORTRAIT_WAREHOUSE_URL."""
        if self.warehouse_url is not None:
            return (self.warehouse_url_migration or self.warehouse_url).get_secret_value()
        return self._local_dsn(self.pg_user)

    def login_passwords(self) -> dict[str, str | None]:
        """Login -> the password the migration sets (None: leave the login's password alone).
        Private cluster: the generated secrets; external: the per-component URLs' passwords."""
        if self.warehouse_url is None:
            return {
                login: local_secret(self.secrets_dir, login) for login in COMPONENT_LOGINS.values()
            }
        out: dict[str, str | None] = {}
        for component, login in COMPONENT_LOGINS.items():
            own = getattr(self, f"warehouse_url_{component}")
            url = urlsplit(own.get_secret_value()) if own else None
            same = url is not None and unquote(url.username or "") == login and url.password
            out[login] = unquote(url.password) if same else None
        return out

    def warehouse_parts(self, component: str = "transformer") -> dict[str, str]:
        url = urlsplit(self.warehouse_dsn(component))
        return {
            "host": url.hostname or "127.0.0.1",
            "port": str(url.port or 5432),
            "user": unquote(url.username or ""),
            "password": unquote(url.password or ""),
            "dbname": url.path.lstrip("/") or "postgres",
        }

    def service_env(self) -> dict[str, str]:
        """Environment for Airflow, dbt and MLflow processes, all derived from these settings."""
        parts = self.warehouse_parts("transformer")
        conns = {
            f"AIRFLOW_CONN_{AIRFLOW_CONN_ID.upper()}_{component.upper()}": self.warehouse_dsn(
                component
            )
            for component in COMPONENT_LOGINS
        }
        return {
            "PORTRAIT_PROJECT_DIR": str(self.project_dir),
            "PORTRAIT_LOCAL_DIR": str(self.local_dir),
            "PORTRAIT_REPORTS_DIR": str(self.reports_dir),
            # dbt's `business_timezone` var and the DAGs' schedules read this one setting
            "PORTRAIT_BUSINESS_TIMEZONE": self.business_timezone,
            # how the DAGs run dbt (dbt_task_group): one task per model, watcher or one build
            "PORTRAIT_DBT_EXECUTION": self.dbt_execution,
            # dbt reads the warehouse through env_var() in dbt_project/profiles.yml
            "DBT_PROFILES_DIR": str(self.dbt_project_dir),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "PORTRAIT_DBT_HOST": parts["host"],
            "PORTRAIT_DBT_PORT": parts["port"],
            "PORTRAIT_DBT_USER": parts["user"],
            "PORTRAIT_DBT_PASSWORD": parts["password"],
            "PORTRAIT_DBT_DBNAME": parts["dbname"],
            # Airflow: home, DAGs, plugins, the warehouse as a connection from the environment
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.project_dir / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(self.project_dir / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(self.airflow_parallelism),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.airflow_home / 'airflow.db'}",
            "AIRFLOW__COSMOS__CACHE_DIR": str(self.local_dir / "cosmos"),
            "AIRFLOW__COSMOS__ENABLE_CACHE": "True",
            # dbt's (Cosmos builds its profile from it), one per component, the migration's
            f"AIRFLOW_CONN_{AIRFLOW_CONN_ID.upper()}": self.warehouse_dsn("transformer"),
            **conns,
            f"AIRFLOW_CONN_{AIRFLOW_CONN_ID.upper()}_MIGRATION": self.migration_dsn(),
            "DO_NOT_TRACK": "1",
            "SCARF_ANALYTICS": "false",
            "MLFLOW_TRACKING_URI": self.mlflow_tracking_uri,
            "PORTRAIT_MLFLOW_ARTIFACT_ROOT": str(self.mlflow_artifact_root),
            "GIT_PYTHON_REFRESH": "quiet",
            # the DAGs' start_date; unset, portrait.orchestration.EARLIEST_START_DATE
            **({"PORTRAIT_START_DATE": self.start_date.isoformat()} if self.start_date else {}),
            **({"PORTRAIT_END_DATE": self.end_date.isoformat()} if self.end_date else {}),
            **self.secrets_env(),
        }


# >>> environment and secrets (issue 15) -------------------------------------------------------
class SettingsError(RuntimeError):
    """The settings cannot start portrait; the message names the setting to fix."""


# Refused in production whatever their length: the defaults local development used and the
# usual first guesses.
WEAK_SECRETS = frozenset(
    {"portrait", "postgres", "password", "admin", "airflow", "mlflow", "secret", "changeme"}
    | {"password1234", "123456", "12345678", "qwerty", "letmein", "test"}
)
MIN_SECRET_LENGTH = 16


def secret_problem(value: str, *, user: str | None = None) -> str | None:
    """Why a production secret is too weak, or None."""
    if not value:
        return "is empty"
    if value.lower() in WEAK_SECRETS or (user and value.lower() == user.lower()):
        return "is a local default or a well-known password"
    if len(value) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters"
    if len(set(value)) < 6:
        return "repeats too few characters"
    return None


def _env_name(field: str) -> str:
    return f"PORTRAIT_{field.upper()}"


def production_problems(settings: Settings) -> list[str]:
    """Every reason the settings are not fit for PORTRAIT_ENV=production, each naming a setting."""
    problems = []
    if settings.warehouse_url is None:
        problems.append(
            "PORTRAIT_WAREHOUSE_URL is not set: production uses an explicit warehouse "
            "(postgresql://<user>:<password>@<host>:<port>/<db>), never the private local cluster"
        )
    # Every secret setting that is set is checked, whichever part of portrait declared it.
    for field, info in type(settings).model_fields.items():
        if info.annotation not in (SecretStr, SecretStr | None):
            continue
        secret = getattr(settings, field)
        if secret is None:
            continue
        value = secret.get_secret_value()
        if "://" in value:
            url = urlsplit(value)
            if url.password is None:
                problems.append(
                    f"{_env_name(field)} has no password: put it in the URL, "
                    "from the environment, a .env file or PORTRAIT_SECRETS_DIR"
                )
                continue
            user, value = unquote(url.username or ""), unquote(url.password)
        else:
            user = settings.pg_user if field == "pg_password" else None
        problem = secret_problem(value, user=user)
        if problem:
            problems.append(f"the password in {_env_name(field)} {problem}")
    uri = settings.mlflow_tracking_uri or ""
    if uri.startswith(("http://", "https://")) and not (
        settings.mlflow_tracking_username and settings.mlflow_tracking_password
    ):
        problems.append(
            "PORTRAIT_MLFLOW_TRACKING_USERNAME and PORTRAIT_MLFLOW_TRACKING_PASSWORD are not set: "
            "a tracking server in production runs with authentication"
        )
    return problems


@lru_cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValueError as err:
        # pydantic wraps the validator's message; hand on only what the user has to fix.
        errors = getattr(err, "errors", None)
        messages = [e["msg"].removeprefix("Value error, ") for e in errors()] if errors else []
        raise SettingsError("\n".join(messages) or str(err)) from None


# <<< environment and secrets ------------------------------------------------------------------
