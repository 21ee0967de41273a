"""Shared fixtures: a throwaway PostgreSQL cluster per test session, a fresh database per test."""

from __future__ import annotations

import itertools
import os
import secrets
import tempfile
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from governance.roles import LOGINS
from portrait.local.services import PgCluster, free_port
from portrait.settings import COMPONENT_LOGINS

REPO = Path(__file__).resolve().parent.parent
_db_counter = itertools.count()
# Lines the test session reports in its summary (e.g. DAG parse time).
SESSION_REPORT: list[str] = []


def pytest_terminal_summary(terminalreporter):
    if SESSION_REPORT:
        terminalreporter.section("portrait")
        for line in SESSION_REPORT:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def pg_cluster() -> PgCluster:
    """A private cluster on a free port (scram-sha-256, a generated superuser password), with
    portrait's roles migrated (each login's password in ``cluster.login_passwords``);
    destroyed at the end of the session."""
    # Not under pytest's tmp_path: that is private to root, and the server runs as `postgres`.
    root = Path(tempfile.mkdtemp(prefix="portrait-test-pg-"))
    os.chmod(root, 0o755)
    cluster = PgCluster(root=root, port=free_port(), database="portrait_test")
    cluster.start()
    cluster.login_passwords = {login: secrets.token_urlsafe(18) for login in LOGINS}
    cluster.migrate(cluster.login_passwords)
    yield cluster
    cluster.destroy()


def create_database(cluster: PgCluster, name: str) -> str:
    """A fresh database; returns the bootstrap superuser's DSN (password included)."""
    with psycopg.connect(cluster.dsn_for("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    # the role migration (per database: schemas, grants, staff_logins, the audit table)
    cluster.migrate(database=name)
    return cluster.dsn_for(name)


def migrated_database(cluster: PgCluster, name: str) -> dict[str, str]:
    """A fresh database with the role migration run on it: component (loader, transformer,
    ml, service, analyst, admin) -> that login's DSN, and "superuser" -> the bootstrap DSN."""
    dsn = create_database(cluster, name)
    cluster.migrate(database=name)
    logins = {
        component: cluster.dsn_for(name, login, cluster.login_passwords[login])
        for component, login in COMPONENT_LOGINS.items()
    }
    return logins | {"superuser": dsn}


def role_env_for(dsns: dict[str, str], local_dir: Path) -> dict[str, str]:
    """service_env_for with each component on its own login (PORTRAIT_WAREHOUSE_URL_*)."""
    per_component = {f"PORTRAIT_WAREHOUSE_URL_{c.upper()}": dsns[c] for c in COMPONENT_LOGINS}
    from portrait.settings import Settings

    env = Settings(
        local_dir=local_dir,
        reports_dir=local_dir / "reports",
        warehouse_url=dsns["superuser"],
        **{f"warehouse_url_{c}": dsns[c] for c in COMPONENT_LOGINS},
    ).service_env()
    return {**os.environ, **per_component, **env, "PORTRAIT_TASK_RETRIES": "0"}


@pytest.fixture
def role_dsns(pg_cluster, request) -> dict[str, str]:
    """A fresh migrated database of its own: component -> DSN (see migrated_database)."""
    name = f"r{next(_db_counter)}_{request.node.name[:40]}".lower()
    name = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
    return migrated_database(pg_cluster, name)


@pytest.fixture
def fresh_db(pg_cluster, request) -> str:
    """DSN of an empty database of its own for this test."""
    name = f"t{next(_db_counter)}_{request.node.name[:40]}".lower()
    name = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
    return create_database(pg_cluster, name)


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory) -> Path:
    """A small simulated company (landing/ and truth/), shared by the whole session."""
    from sources.simulator import simulate

    out = tmp_path_factory.mktemp("world")
    simulate(out, scale=0.4, seed=7, months=36, progress=False)
    return out


@pytest.fixture(scope="session")
def default_world(tmp_path_factory) -> Path:
    """The world `make demo` uses (scale 1, seed 42): big enough for every model to train."""
    from sources.simulator import simulate

    out = tmp_path_factory.mktemp("default_world")
    simulate(out, scale=1.0, seed=42, months=36, progress=False)
    return out


@pytest.fixture(scope="session")
def historical_world(tmp_path_factory) -> Path:
    """The demo's world (scale 1, seed 42) with a history that ends in mid-2024, long before
    the DAGs' dates: 30 months from 2022-01-01 (the e2e world; `make demo` runs current dates)."""
    import datetime as dt

    from sources.simulator import simulate

    out = tmp_path_factory.mktemp("historical_world")
    simulate(out, scale=1.0, seed=42, months=30, start=dt.date(2022, 1, 1), progress=False)
    return out


def run_dbt(args: list[str], env: dict[str, str]) -> str:
    """Run dbt in the project with the given environment; fail the test with dbt's output."""
    import subprocess
    import sys

    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args],
        cwd=REPO / "dbt_project", env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc.stdout


def service_env_for(dsn: str, local_dir: Path) -> dict[str, str]:
    """The environment the demo would use, pointed at a test database and a temp home."""
    from portrait.settings import Settings

    env = Settings(
        local_dir=local_dir, reports_dir=local_dir / "reports", warehouse_url=dsn
    ).service_env()
    return {**os.environ, **env, "PORTRAIT_TASK_RETRIES": "0"}


@pytest.fixture(scope="session")
def pipeline_warehouse(pg_cluster, historical_world, tmp_path_factory):
    """portrait_train then portrait_daily run by Airflow (dag.test) on the historical world:
    the one built warehouse with scored models that the e2e and service tests share.
    Returns (superuser dsn, run date, environment, log folder)."""
    import datetime as dt
    import shutil
    import subprocess
    import sys

    from portrait.local.runner import world_run_date, world_start_date

    bin_dir = Path(sys.executable).parent
    dsn = create_database(pg_cluster, "e2e_pipeline")
    local = tmp_path_factory.mktemp("e2e_local")
    landing = local / "data" / "landing"
    shutil.copytree(historical_world / "landing", landing)
    # As `make demo` does: the DAGs start where the data does.
    env = service_env_for(dsn, local) | {"PORTRAIT_START_DATE": str(world_start_date(landing))}
    logs = local / "logs"
    logs.mkdir()

    def run(cmd, log: Path) -> None:
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
        log.write_text(proc.stdout + proc.stderr)
        assert proc.returncode == 0, (
            f"{' '.join(map(str, cmd))} exited {proc.returncode}; log {log}:\n"
            + (proc.stdout + proc.stderr)[-6000:]
        )

    subprocess.run(
        [bin_dir / "dbt", "parse", "--quiet"], cwd=REPO / "dbt_project", env=env, check=True
    )
    run([bin_dir / "airflow", "db", "migrate"], logs / "migrate.log")
    run_date = world_run_date(landing)
    assert run_date < dt.date(2025, 1, 1), "the e2e world's history ends in 2024"
    for dag_id in ("portrait_train", "portrait_daily"):
        run(
            [sys.executable, "-m", "portrait.cli", "dags", "test", dag_id, run_date.isoformat()],
            logs / f"{dag_id}.log",
        )
    return dsn, run_date, env, logs
