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


@pytest.fixture(scope="session")
def marketing_world(tmp_path_factory) -> Path:
    """A small world with campaigns (scale 3, 24 months, holdouts and a known effect per
    customer): the marketing integration tests and the campaign DAGs' e2e run share it."""
    from sources.simulator import simulate

    out = tmp_path_factory.mktemp("marketing_world")
    simulate(out, scale=3, seed=5, months=24, marketing=True, oracle_replays=2, progress=False)
    return out


PLANT_SQL = """
update marts.mart_campaign_members as m
set converted = (
    ('x' || substr(md5(m.campaign_id || ':' || m.cid), 1, 8))::bit(32)::bigint / 4294967296.0
    < 0.1 + case when m.assignment = 'treatment' and f.orders_365d >= %(threshold)s
                 then 0.35 else 0 end
)
from features.customer_features as f
where f.cid = m.cid and f.as_of_date = m.features_as_of_date
"""


def plant_campaign_effect(dsn: str) -> float:
    """Rewrite the campaign members' conversions so that the campaigns worked, +35 points,
    on the customers with at least the median orders in the 365 days before the start
    (orders_365d), and not at all on the others; 10 % buy either way (a seeded hash of
    campaign and CID). The marketing world's own effects are too weak for a model to learn
    at test scale (its gate rightly says so): this is a world where the uplift model has
    something to find. Returns the orders_365d threshold."""
    with psycopg.connect(dsn) as conn:
        (threshold,) = conn.execute(
            "select percentile_disc(0.5) within group (order by f.orders_365d) "
            "from marts.mart_campaign_members as m join features.customer_features as f "
            "on f.cid = m.cid and f.as_of_date = m.features_as_of_date"
        ).fetchone()
        threshold = max(float(threshold), 1.0)
        conn.execute(PLANT_SQL, {"threshold": threshold})
    return threshold


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


# --- the profile service (tests/service): served by uvicorn on loopback over the session's
# built warehouse (pipeline_warehouse), with a person per role and a token per system role.
# Here rather than in tests/service/conftest.py: a second conftest module would shadow this one
# for `from conftest import ...` elsewhere in the suite.
from dataclasses import dataclass, field  # noqa: E402


@dataclass
class ServiceWorld:
    superuser_dsn: str
    service_dsn: str
    admin_dsn: str
    owner_sales: str  # the sales user's CRM owner
    passwords: dict[str, str] = field(default_factory=dict)  # username -> password
    tokens: dict[str, str] = field(default_factory=dict)  # role -> token
    url: str = ""

    def user(self, role: str) -> str:
        return f"demo_{role}"

    def client(self, role: str):
        """A client with a system token (system roles) or a person's session (people)."""
        import httpx

        from portrait.service.roles import ROLES

        if ROLES[role].system:
            return httpx.Client(
                base_url=self.url, headers={"Authorization": f"Bearer {self.tokens[role]}"}
            )
        c = httpx.Client(base_url=self.url)
        r = c.post(
            "/api/v1/session",
            json={"username": self.user(role), "password": self.passwords[self.user(role)]},
        )
        assert r.status_code == 200, r.text
        return c


@pytest.fixture(scope="session")
def service_world(pg_cluster, pipeline_warehouse) -> ServiceWorld:
    from portrait.service import auth
    from portrait.service.roles import ROLES

    dsn, *_ = pipeline_warehouse
    db = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    pw = pg_cluster.login_passwords
    world = ServiceWorld(
        superuser_dsn=dsn,
        service_dsn=pg_cluster.dsn_for(db, "portrait_service", pw["portrait_service"]),
        admin_dsn=pg_cluster.dsn_for(db, "portrait_admin", pw["portrait_admin"]),
        owner_sales="",
    )
    with psycopg.connect(world.admin_dsn) as conn:
        (world.owner_sales,) = conn.execute(
            "select owner_sales from marts.dim_customer where owner_sales is not null"
            " group by 1 order by count(*) desc, 1 limit 1"
        ).fetchone()
        for name, role in ROLES.items():
            if role.system:
                world.tokens[name] = auth.create_token(conn, f"test-{name}", name)
            else:
                password = secrets.token_urlsafe(16)
                world.passwords[world.user(name)] = password
                auth.create_user(
                    conn, world.user(name), name, password,
                    owner_sales=world.owner_sales if name == "sales" else None,
                )  # fmt: skip
    return world


@pytest.fixture(scope="session")
def service(service_world) -> ServiceWorld:
    """The app served by uvicorn in a thread (real HTTP on 127.0.0.1)."""
    import threading
    import time

    import uvicorn

    from portrait.service.app import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(dsn=service_world.service_dsn), host="127.0.0.1", port=port,
            log_level="warning", access_log=False,
        )
    )  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)
    service_world.url = f"http://127.0.0.1:{port}"
    yield service_world
    server.should_exit = True
    thread.join(timeout=10)
