"""`make ui`: the profile service (API and panel), the Airflow UI, the MLflow UI and the dbt docs
site on 127.0.0.1 (PORTRAIT_BIND_HOST), in the background (pids and logs under .local/run and
.local/logs), with a demo sign-in per role for the panel."""

from __future__ import annotations

import configparser
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from portrait.settings import Settings

BIN = Path(sys.executable).parent
PORTS = {"airflow": 8080, "mlflow": 5000, "dbt-docs": 8081, "profile": 8000}
# Airflow's components one by one rather than `airflow standalone`: its scheduler and triggerer
# would start log servers on every interface (Airflow 3.3 hard-codes host "" for them); with
# the LocalExecutor the API server reads the task logs from disk, so they are skipped.
AIRFLOW_COMPONENTS = {
    "airflow-scheduler": ["scheduler", "--skip-serve-logs"],
    "airflow-dag-processor": ["dag-processor"],
    "airflow-triggerer": ["triggerer", "--skip-serve-logs"],
}
MLFLOW_ADMIN = "admin"


@dataclass(frozen=True)
class Service:
    """One background process `make ui` starts: its command, extra environment and port."""

    name: str
    cmd: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    port: int | None = None


def _pid_file(settings: Settings, name: str, run_dir: Path | None = None) -> Path:
    return (run_dir or settings.local_dir) / "run" / f"{name}.pid"


def _alive(pid: int) -> bool:
    try:  # a child of this process that has ended is reaped here (else it stays a zombie)
        if os.waitpid(pid, os.WNOHANG)[0]:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def _wait_port(port: int, timeout: float, host: str = "127.0.0.1") -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex((host, port)) == 0:
                return True
        time.sleep(0.5)
    return False


def _private_dir(path: Path) -> Path:
    """A folder (and what is already in it) only the owner can read: logs and Airflow's
    generated password file hold secrets."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    for child in path.rglob("*"):
        os.chmod(child, 0o700 if child.is_dir() else 0o600)
    return path


def _start(settings: Settings, service: Service, run_dir: Path | None = None) -> None:
    """Start `service` in its own session unless its pid file names a live process; the pid
    file and the log go under `run_dir` (default .local: run/<name>.pid, logs/<name>.log)."""
    pid_file = _pid_file(settings, service.name, run_dir)
    if pid_file.exists() and _alive(int(pid_file.read_text())):
        return
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    log = (run_dir or settings.local_dir) / "logs" / f"{service.name}.log"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as fh:
        proc = subprocess.Popen(
            service.cmd,
            cwd=service.cwd,
            stdout=fh,
            stderr=subprocess.STDOUT,
            env={**os.environ, **service.env},
            start_new_session=True,
            umask=0o077,  # whatever the service writes (passwords, logs, databases) is private
        )
    pid_file.write_text(str(proc.pid))


def _starting(ready: bool) -> str:
    return "" if ready else "  (still starting)"


def _url_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def mlflow_auth_config(settings: Settings) -> Path:
    """MLflow's basic-auth ini (mode 0600) with a generated admin password, written once: the
    auth app creates the admin from it on first start and ignores it afterwards."""
    folder = settings.local_dir / "mlflow"
    ini = folder / "basic_auth.ini"
    if not ini.exists():
        folder.mkdir(parents=True, exist_ok=True)
        config = configparser.ConfigParser()
        config["mlflow"] = {
            "default_permission": "NO_PERMISSIONS",
            "database_uri": f"sqlite:///{folder / 'basic_auth.db'}",
            "admin_username": MLFLOW_ADMIN,
            "admin_password": secrets.token_urlsafe(24),
            "authorization_function": "mlflow.server.auth:authenticate_request_basic_auth",
        }
        fd = os.open(ini, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            config.write(fh)
    os.chmod(ini, 0o600)
    return ini


def _generated_secret(path: Path, nbytes: int = 32) -> str:
    """A random secret kept in a 0600 file, written on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(nbytes))
    return path.read_text().strip()


def mlflow_admin_password(ini: Path) -> str:
    config = configparser.ConfigParser()
    config.read(ini)
    return config["mlflow"]["admin_password"]


def mlflow_service(settings: Settings, port: int) -> Service:
    host = settings.bind_host
    cmd = [str(BIN / "mlflow"), "server", "--backend-store-uri", settings.mlflow_tracking_uri]
    cmd += ["--host", host, "--port", str(port), "--workers", "1"]
    env = {}
    if settings.mlflow_auth:
        cmd += ["--app-name", "basic-auth"]
        env["MLFLOW_AUTH_CONFIG_PATH"] = str(mlflow_auth_config(settings))
        # the auth app's forms need a stable CSRF key
        key_file = settings.local_dir / "mlflow" / "flask_secret_key"
        env["MLFLOW_FLASK_SERVER_SECRET_KEY"] = _generated_secret(key_file)
    return Service("mlflow", cmd, env=env, port=port)


def services(settings: Settings) -> list[Service]:
    """What `make ui` starts; every server listens on settings.bind_host (127.0.0.1)."""
    host = settings.bind_host
    port_af, port_ml, port_docs = PORTS["airflow"], PORTS["mlflow"], PORTS["dbt-docs"]
    airflow_env = {
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        "AIRFLOW__API__HOST": host,
        "AIRFLOW__API__PORT": str(port_af),
        "AIRFLOW__API__BASE_URL": f"http://{_url_host(host)}:{port_af}",
    }
    airflow = str(BIN / "airflow")
    api = Service(
        "airflow",
        [airflow, "api-server", "--host", host, "--port", str(port_af)],
        env=airflow_env,
        port=port_af,
    )
    others = [Service(n, [airflow, *a], env=airflow_env) for n, a in AIRFLOW_COMPONENTS.items()]
    docs_cmd = [str(BIN / "dbt"), "docs", "serve", "--port", str(port_docs), "--host", host]
    docs = Service(
        "dbt-docs",
        [*docs_cmd, "--no-browser"],
        cwd=settings.dbt_project_dir,
        port=port_docs,
    )
    profile = Service(
        "profile",
        [str(BIN / "portrait"), "serve", "--host", host, "--port", str(settings.service_port)],
        port=settings.service_port,
    )
    return [profile, api, *others, mlflow_service(settings, port_ml), docs]


def demo_password(settings: Settings, username: str) -> Path:
    """The file holding a demo user's generated password (0600, made on first use)."""
    path = settings.secrets_dir / "ui" / username
    _generated_secret(path)
    return path


def up(settings: Settings) -> str:
    _private_dir(settings.airflow_home)
    _private_dir(settings.local_dir / "logs")
    subprocess.run(
        [str(BIN / "dbt"), "docs", "generate", "--quiet"], cwd=settings.dbt_project_dir, check=True
    )
    started = services(settings)
    for service in started:
        _start(settings, service)
    host = _url_host(settings.bind_host)
    ready = {s.name: _wait_port(s.port, 90, host) for s in started if s.port}
    pw_file = settings.airflow_home / "simple_auth_manager_passwords.json.generated"
    for _ in range(60):
        if pw_file.exists():
            os.chmod(pw_file, 0o600)
            break
        time.sleep(1)
    mlflow_login = ""
    if settings.mlflow_auth:
        mlflow_login = f"   user {MLFLOW_ADMIN}, password in {mlflow_auth_config(settings)}"
    port_af, port_ml, port_docs = PORTS["airflow"], PORTS["mlflow"], PORTS["dbt-docs"]
    return "\n".join(
        [
            f"Profile panel http://{host}:{settings.service_port}/panel   API /api/v1, spec /docs"
            f"{_starting(ready['profile'])}",
            f"Airflow UI   http://{host}:{port_af}   user admin, password in {pw_file}"
            f"{_starting(ready['airflow'])}",
            f"MLflow UI    http://{host}:{port_ml}{mlflow_login}{_starting(ready['mlflow'])}",
            f"dbt docs     http://{host}:{port_docs}{_starting(ready['dbt-docs'])}",
            f"logs         {settings.local_dir / 'logs'}      stop with: make stop",
        ]
    )


def _stop(pid_file: Path, timeout: float = 0) -> bool:
    """SIGTERM the process group a pid file names (its children too: gunicorn's workers,
    Celery's pool); wait up to `timeout` s for it to end, then SIGKILL. True if it was alive."""
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    alive = _alive(pid)
    if alive:
        try:
            os.killpg(pid, signal.SIGTERM)
        except OSError:
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while timeout and _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if timeout and _alive(pid):
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return alive


def down(settings: Settings) -> list[str]:
    names = [*PORTS, *AIRFLOW_COMPONENTS]
    return [name for name in names if _stop(_pid_file(settings, name))]
