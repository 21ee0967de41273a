"""What `portrait cluster up` would start, checked without starting it: loopback only, no
secret on any command line, the Celery executor on the password-protected broker, Postgres
metadata, and stop order by pid file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import pytest

from portrait.local.cluster import METADATA, Cluster
from portrait.local.services import PgCluster
from portrait.local.ui import _alive
from portrait.settings import Settings


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    monkeypatch.setattr("portrait.local.cluster.redis_server", lambda: "/usr/bin/redis-server")
    settings = Settings(local_dir=tmp_path / "local", warehouse_url="postgresql://u:p@h:1/w")
    pg = PgCluster(root=tmp_path / "pg", port=5999, password="pg-secret-value")
    return Cluster(settings, pg=pg, api_port=18090, mlflow_port=15010, redis_port=16390)


def secrets_of(cluster: Cluster) -> list[str]:
    folder = cluster.root / "secrets"
    return [p.read_text().strip() for p in folder.iterdir()]


def test_every_server_listens_on_loopback_and_no_secret_is_on_a_command_line(cluster):
    services = cluster.services()
    names = {s.name for s in services}
    assert {"redis", "mlflow", "airflow-api-server", "airflow-scheduler"} <= names
    assert {"airflow-dag-processor", "airflow-triggerer", "airflow-worker-1"} <= names
    assert "airflow-worker-2" in names and "airflow-worker-3" not in names
    secrets = secrets_of(cluster)
    assert len(secrets) >= 3  # redis, the two metadata logins (jwt is made by env())
    for service in services:
        line = " ".join(service.cmd)
        assert not any(secret in line for secret in secrets), service.name
        if "--host" in service.cmd:
            assert service.cmd[service.cmd.index("--host") + 1] == "127.0.0.1"
    conf = cluster.root / "redis" / "redis.conf"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    text = conf.read_text()
    assert "bind 127.0.0.1" in text and "requirepass " in text and 'save ""' in text


def test_airflow_runs_celery_on_the_broker_with_postgres_metadata(cluster):
    env = cluster.env()
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert "@127.0.0.1:5999/airflow" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert METADATA["airflow"] in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql")
    broker = env["AIRFLOW__CELERY__BROKER_URL"]
    assert broker.startswith("redis://:") and broker.endswith("@127.0.0.1:16390/0")
    assert env["AIRFLOW_CONN_PORTRAIT_BROKER"] == broker
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18090/execution/"
    assert len(env["AIRFLOW__API_AUTH__JWT_SECRET"]) >= 64
    assert env["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:15010"
    assert (
        env["AIRFLOW_HOME"]
        != Settings(local_dir=cluster.settings.local_dir).service_env()["AIRFLOW_HOME"]
    ), "the demo's SQLite Airflow home stays untouched"
    # generated once: a second call gives the same secrets
    assert cluster.env()["AIRFLOW__CELERY__BROKER_URL"] == broker
    for secret in (cluster.root / "secrets").iterdir():
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_down_stops_exactly_the_processes_up_recorded(cluster):
    run = cluster.root / "run"
    run.mkdir(parents=True)
    sleepers = {}
    for name in ("airflow-worker-1", "redis"):
        proc = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
        )
        (run / f"{name}.pid").write_text(str(proc.pid))
        sleepers[name] = proc
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert cluster.status() == {"airflow-worker-1": True, "redis": True}
        stopped = cluster.down()
        assert stopped == ["airflow-worker-1", "redis"], "workers first, the broker last"
        time.sleep(0.2)
        assert not any(_alive(p.pid) for p in sleepers.values())
        assert bystander.poll() is None and _alive(bystander.pid), "nothing else is touched"
        assert cluster.status() == {} and "postgresql" not in stopped
    finally:
        bystander.kill()
        for proc in sleepers.values():
            proc.kill()
        os.waitpid(bystander.pid, 0)
