"""`make cluster`: the same DAGs on a distributed Airflow on this machine, as processes.

Airflow 3's API server, scheduler, DAG processor and triggerer with the **CeleryExecutor** on a
private Redis (Debian's redis-server, installed by `portrait setup system`), two Celery
workers, Airflow's metadata in a PostgreSQL database of its own on the private cluster, and an
MLflow tracking server whose backend store is another database there (artifacts on the local
disk the workers share). Every server listens on 127.0.0.1 (PORTRAIT_BIND_HOST); every secret
(the metadata logins', Redis's, the JWT key the workers sign with) is generated once into
`.local/cluster/secrets` (0600). What it starts is recorded by pid file under
`.local/cluster/run`, and `portrait cluster down` stops exactly those processes, and the
PostgreSQL cluster only when `up` was the one that started it.

`make demo` stays the single-process path (`airflow dags test`, LocalExecutor, SQLite
metadata); the cluster runs the same DAG files against the same warehouse.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from portrait.local.services import PgCluster, ServiceError, local_cluster
from portrait.local.system import redis_server
from portrait.local.ui import (
    BIN,
    Service,
    _alive,
    _generated_secret,
    _private_dir,
    _start,
    _stop,
    _url_host,
    _wait_port,
)
from portrait.settings import BROKER_CONN_ID, LANDING_CHANNEL, Settings

# The metadata databases and their owners on the private cluster (not warehouse logins: they
# get no grant on the warehouse's schemas).
METADATA = {"airflow": "portrait_airflow_meta", "mlflow": "portrait_mlflow_meta"}


@dataclass
class Cluster:
    """The processes of one distributed deployment on this machine, and where they keep state
    (`root`, default `.local/cluster`). `pg` hosts the metadata databases (default: the private
    warehouse cluster); the warehouse is whatever the settings point at."""

    settings: Settings
    pg: PgCluster | None = None
    root: Path | None = None
    api_port: int | None = None
    mlflow_port: int | None = None
    redis_port: int | None = None
    workers: int | None = None
    concurrency: int | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        s = self.settings
        self.root = Path(self.root or s.local_dir / "cluster")
        self.pg = self.pg or local_cluster(s)
        self.api_port = self.api_port or s.cluster_api_port
        self.mlflow_port = self.mlflow_port or s.cluster_mlflow_port
        self.redis_port = self.redis_port or s.cluster_redis_port
        self.workers = s.cluster_workers if self.workers is None else self.workers
        self.concurrency = self.concurrency or s.cluster_worker_concurrency

    @classmethod
    def on_free_ports(cls, settings: Settings, pg: PgCluster, **kwargs) -> Cluster:
        """A deployment beside any other (the tests', the benches'): every port a free one."""
        from portrait.local.services import free_port

        ports = {"api_port": free_port(), "mlflow_port": free_port(), "redis_port": free_port()}
        return cls(settings, pg=pg, **ports, **kwargs)

    # ---- where things are -------------------------------------------------------------------
    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    @property
    def host(self) -> str:
        return _url_host(self.settings.bind_host)

    def _secret(self, name: str, nbytes: int = 32) -> str:
        return _generated_secret(self.root / "secrets" / name, nbytes)

    def metadata_url(self, database: str, driver: str = "postgresql+psycopg2") -> str:
        """SQLAlchemy URL of a metadata database, as its own login."""
        login = METADATA[database]
        auth = f"{quote(login, safe='')}:{quote(self._secret(login), safe='')}"
        return f"{driver}://{auth}@127.0.0.1:{self.pg.port}/{database}"

    @property
    def broker_url(self) -> str:
        return f"redis://:{quote(self._secret('redis'), safe='')}@127.0.0.1:{self.redis_port}/0"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def mlflow_url(self) -> str:
        return f"http://{self.host}:{self.mlflow_port}"

    def env(self) -> dict[str, str]:
        """The environment of every Airflow process and task: the demo's (warehouse logins,
        dbt, DAG folder) with the Celery executor, the Postgres metadata and the MLflow server."""
        host = self.settings.bind_host
        return {
            **self.settings.service_env(),
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_url("airflow"),
            "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.metadata_url("airflow"),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.concurrency),
            # Redis redelivers a task not acknowledged within this (a long dbt build included).
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "21600",
            # Workers run tasks through the API server's execution API, signed with this key.
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            # (64 bytes: HS512 wants a key at least as long as its hash)
            "AIRFLOW__API_AUTH__JWT_SECRET": self._secret("jwt", 64),
            "AIRFLOW__API__HOST": host,
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__BASE_URL": self.api_url,
            # One log folder the workers write and the API server reads (one machine).
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.root / "logs" / "airflow"),
            # as many task slots as the workers have (the LocalExecutor: as one worker)
            "AIRFLOW__CORE__PARALLELISM": str(max(self.workers, 1) * self.concurrency),
            # New DAG files and asset watchers show up within half a minute.
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            # The broker as a connection: portrait_refresh's AssetWatcher listens on it.
            f"AIRFLOW_CONN_{BROKER_CONN_ID.upper()}": self.broker_url,
            "MLFLOW_TRACKING_URI": self.mlflow_url,
            **self.extra_env,
        }

    # ---- what runs --------------------------------------------------------------------------
    def services(self) -> list[Service]:
        airflow = str(BIN / "airflow")
        env = self.env()
        host = self.settings.bind_host
        redis = redis_server()
        if redis is None:
            raise ServiceError("redis-server is missing: run `portrait setup system` (as root).")
        mlflow_args = ["--artifacts-destination", str(self.root / "mlflow-artifacts")]
        mlflow_args += ["--host", host, "--port", str(self.mlflow_port), "--workers", "1"]
        out = [
            Service("redis", [redis, str(self._redis_conf())], port=self.redis_port),
            Service(
                "mlflow",
                [str(BIN / "mlflow"), "server", *mlflow_args],
                # the store's URL holds a password: in the environment, not on the command line
                env={"PATH": env["PATH"], "MLFLOW_BACKEND_STORE_URI": self.metadata_url("mlflow")},
                port=self.mlflow_port,
            ),
            Service(
                "airflow-api-server",
                [airflow, "api-server", "--host", host, "--port", str(self.api_port), "-w", "1"],
                env=env,
                port=self.api_port,
            ),
            Service("airflow-scheduler", [airflow, "scheduler", "--skip-serve-logs"], env=env),
            Service("airflow-dag-processor", [airflow, "dag-processor"], env=env),
            Service("airflow-triggerer", [airflow, "triggerer", "--skip-serve-logs"], env=env),
        ]
        for n in range(1, self.workers + 1):
            cmd = [airflow, "celery", "worker", "-H", f"worker{n}@%h", "-c", str(self.concurrency)]
            out.append(Service(f"airflow-worker-{n}", [*cmd, "--skip-serve-logs"], env=env))
        return out

    def _redis_conf(self) -> Path:
        """redis.conf (0600: it holds the password, which then stays off the command line):
        loopback only, no persistence (the broker's queue is transient; a lost message is
        re-sent by the next daily run's reconciliation)."""
        folder = _private_dir(self.root / "redis")
        conf = folder / "redis.conf"
        lines = [
            f"port {self.redis_port}",
            f"bind {self.settings.bind_host}",
            "protected-mode yes",
            f"requirepass {self._secret('redis')}",
            'save ""',
            "appendonly no",
            f"dir {folder}",
        ]
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        return conf

    # ---- up / down / status -----------------------------------------------------------------
    def _ensure_metadata_databases(self) -> None:
        """A login and a database per metadata store on `pg` (idempotent; the password is
        re-set from the secret file each time, so a rotated file takes effect)."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.pg.dsn_for("postgres"), autocommit=True) as conn:
            for database, login in METADATA.items():
                exists = conn.execute("select 1 from pg_roles where rolname = %s", (login,))
                verb = "alter" if exists.fetchone() else "create"
                conn.execute(
                    sql.SQL("{} role {} login password {}").format(
                        sql.SQL(verb), sql.Identifier(login), sql.Literal(self._secret(login))
                    )
                )
                found = conn.execute("select 1 from pg_database where datname = %s", (database,))
                if not found.fetchone():
                    conn.execute(
                        sql.SQL("create database {} owner {}").format(
                            sql.Identifier(database), sql.Identifier(login)
                        )
                    )

    def up(self, wait: float = 120) -> str:
        """Start what is not running yet; return the URLs (one line each)."""
        from portrait.local.services import ensure_warehouse

        _private_dir(self.root)
        for sub in ("logs", "run", "secrets"):
            _private_dir(self.root / sub)
        if not self.pg.is_running():
            self.pg.start()
            (self.root / "run" / "started-pg").write_text(str(self.pg.root))
        ensure_warehouse(self.settings)
        self._ensure_metadata_databases()
        env = {**os.environ, **self.env()}
        # dbt's manifest, which Cosmos renders the dbt tasks from; then Airflow's metadata
        for name, cmd, cwd in (
            ("dbt-parse", [str(BIN / "dbt"), "parse", "--quiet"], self.settings.dbt_project_dir),
            ("airflow-db-migrate", [str(BIN / "airflow"), "db", "migrate"], None),
        ):
            log = self.root / "logs" / f"{name}.log"
            with log.open("a") as fh:
                proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=fh, stderr=fh, check=False)
            if proc.returncode != 0:
                raise ServiceError(f"{' '.join(cmd[-2:])} failed; see {log}")
        started = self.services()
        for service in started:
            _start(self.settings, service, run_dir=self.root)
        ready = {s.name: _wait_port(s.port, wait, self.host) for s in started if s.port}
        late = [name for name, ok in ready.items() if not ok]
        pw_file = self.airflow_home / "simple_auth_manager_passwords.json.generated"
        if pw_file.exists():
            os.chmod(pw_file, 0o600)
        lines = [
            f"Airflow UI  {self.api_url}   user admin, password in {pw_file}",
            f"MLflow UI   {self.mlflow_url}",
            f"broker      redis on 127.0.0.1:{self.redis_port} (password in "
            f"{self.root / 'secrets' / 'redis'})",
            f"workers     {self.workers} x {self.concurrency} (CeleryExecutor)",
            f"logs        {self.root / 'logs'}      stop with: make cluster-down",
        ]
        if late:
            lines.append(f"still starting: {', '.join(late)}")
        return "\n".join(lines)

    def _pid_files(self) -> list[Path]:
        run = self.root / "run"
        return sorted(run.glob("*.pid")) if run.exists() else []

    def status(self) -> dict[str, bool]:
        """Service name -> alive, for every pid file `up` wrote."""
        return {p.stem: _alive(int(p.read_text())) for p in self._pid_files()}

    def down(self) -> list[str]:
        """Stop every process `up` started (by its pid file; workers first, the broker and
        the metadata's PostgreSQL last, the latter only when `up` started it)."""
        order = ("airflow-worker", "airflow", "mlflow", "redis")
        files = sorted(
            self._pid_files(),
            key=lambda p: next((i for i, k in enumerate(order) if p.stem.startswith(k)), 9),
        )
        stopped = [p.stem for p in files if _stop(p, timeout=30)]
        marker = self.root / "run" / "started-pg"
        if marker.exists():
            self.pg.stop()
            marker.unlink()
            stopped.append("postgresql")
        return stopped


# ---- driving it: what `make bench` and the e2e test do through the scheduler -------------------
class RunFailed(RuntimeError):
    """A DAG run ended other than in success; the message names its failed tasks."""


class Driver:
    """Trigger DAG runs on a started cluster and follow them in its metadata database."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.env = {**os.environ, **cluster.env()}

    def airflow(self, *args: str) -> str:
        proc = subprocess.run(
            [str(BIN / "airflow"), *args], env=self.env, capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise ServiceError(f"airflow {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
        return proc.stdout

    def meta(self, query: str, params=()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.cluster.metadata_url("airflow", driver="postgresql")) as conn:
            return conn.execute(query, params).fetchall()

    def wait_for(self, what: str, check, timeout: float, every: float = 2.0):
        """Poll `check` until it returns something true; on timeout raise with the logs' tails."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = check()
            if found:
                return found
            time.sleep(every)
        logs = sorted((self.cluster.root / "logs").glob("*.log"))
        tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in logs)
        raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}; logs:\n{tails}")

    def wait_listening(self, timeout: float = 300) -> None:
        """Wait for the asset watcher's trigger (in the triggerer) to subscribe to the landing
        channel: a message published before that is heard by nobody."""
        import redis

        client = redis.Redis.from_url(self.cluster.broker_url)
        try:
            self.wait_for(
                "the asset watcher to subscribe to the landing channel",
                lambda: dict(client.pubsub_numsub(LANDING_CHANNEL)).get(LANDING_CHANNEL.encode()),
                timeout,
            )
        finally:
            client.close()

    def wait_dags(self, dag_ids: list[str], timeout: float = 300) -> None:
        def serialised():
            rows = self.meta("select dag_id from serialized_dag")
            return set(dag_ids) <= {r[0] for r in rows}

        self.wait_for(f"the DAG processor to serialise {', '.join(dag_ids)}", serialised, timeout)

    def trigger(self, dag_id: str, logical_date: dt.date, run_id: str | None = None) -> str:
        run_id = run_id or f"manual__{dag_id}_{logical_date}_{time.time_ns()}"
        self.airflow("dags", "unpause", dag_id)
        self.airflow(
            "dags", "trigger", dag_id,
            "--logical-date", logical_date.isoformat(), "--run-id", run_id,
        )  # fmt: skip
        return run_id

    def _newest(self, dag_id: str, run_id: str | None) -> tuple[str, str] | None:
        """(run_id, state) of the run, or of the DAG's newest run when run_id is None."""
        rows = self.meta(
            "select run_id, state from dag_run where dag_id = %s"
            " and (%s::text is null or run_id = %s) order by id desc limit 1",
            (dag_id, run_id, run_id),
        )
        return rows[0] if rows else None

    def state(self, dag_id: str, run_id: str | None = None) -> str | None:
        newest = self._newest(dag_id, run_id)
        return newest[1] if newest else None

    def wait_run(self, dag_id: str, run_id: str | None = None, timeout: float = 3600) -> str:
        """Wait for the run (the newest of the DAG when run_id is None) to finish; raise
        RunFailed naming the failed tasks and the tail of the first one's log."""

        def finished():
            newest = self._newest(dag_id, run_id)
            return newest if newest and newest[1] in ("success", "failed") else None

        run_id, state = self.wait_for(f"{dag_id} {run_id or ''} to finish", finished, timeout, 3)
        if state != "success":
            failed = self.meta(
                "select task_id, state from task_instance where dag_id = %s and run_id = %s"
                " and state not in ('success', 'skipped')",
                (dag_id, run_id),
            )
            names = [t for t, s in failed if s == "failed"]
            logs = sorted((self.cluster.root / "logs" / "airflow").rglob("*.log"))
            first = next((p for p in logs if names and f"task_id={names[0]}" in str(p)), None)
            tail = first.read_text(errors="replace")[-3000:] if first else ""
            raise RunFailed(f"{dag_id} run {state}; not successful: {failed}\n{tail}")
        return state

    def run_times(self, dag_id: str, run_id: str) -> dict:
        """The run's wall seconds and each task's own seconds (start to end on its worker)."""
        (start, end), *_ = self.meta(
            "select start_date, end_date from dag_run where dag_id = %s and run_id = %s",
            (dag_id, run_id),
        )
        tasks = self.meta(
            "select task_id, coalesce(duration, 0), state from task_instance"
            " where dag_id = %s and run_id = %s",
            (dag_id, run_id),
        )
        return {
            "wall_s": (end - start).total_seconds(),
            "tasks": {t: round(float(d), 2) for t, d, state in tasks if state == "success"},
        }


def publish_landing(broker_url: str, message: dict, channel: str = LANDING_CHANNEL) -> int:
    """Publish a landed batch on the broker's pub/sub channel; returns how many listeners got
    it (0: nobody listening — the next daily run, or the next event's refresh, loads it)."""
    import json

    import redis

    client = redis.Redis.from_url(broker_url)
    try:
        return int(client.publish(channel, json.dumps(message, default=str)))
    finally:
        client.close()
