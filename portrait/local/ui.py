"""`make ui`: the Airflow UI, the MLflow UI and the dbt docs site on localhost, in the
background (pids and logs under .local/run and .local/logs)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from portrait.settings import Settings

BIN = Path(sys.executable).parent
PORTS = {"airflow": 8080, "mlflow": 5000, "dbt-docs": 8081}


def _pid_file(settings: Settings, name: str) -> Path:
    return settings.local_dir / "run" / f"{name}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def _wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.5)
    return False


def _start(
    settings: Settings, name: str, cmd: list[str], cwd: Path | None = None, env: dict | None = None
) -> None:
    pid_file = _pid_file(settings, name)
    if pid_file.exists() and _alive(int(pid_file.read_text())):
        return
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    log = settings.local_dir / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as fh:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdout=fh,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    pid_file.write_text(str(proc.pid))


def _starting(ready: bool) -> str:
    return "" if ready else "  (still starting)"


def up(settings: Settings) -> str:
    port_af, port_ml, port_docs = PORTS["airflow"], PORTS["mlflow"], PORTS["dbt-docs"]
    path_env = {
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        "AIRFLOW__API__BASE_URL": f"http://localhost:{port_af}",
        "AIRFLOW__API__PORT": str(port_af),
    }
    _start(settings, "airflow", [str(BIN / "airflow"), "standalone"], env=path_env)
    _start(
        settings,
        "mlflow",
        [
            str(BIN / "mlflow"),
            "ui",
            "--backend-store-uri",
            settings.mlflow_tracking_uri,
            "--host",
            "127.0.0.1",
            "--port",
            str(port_ml),
            "--workers",
            "1",
        ],
    )
    subprocess.run(
        [str(BIN / "dbt"), "docs", "generate", "--quiet"], cwd=settings.dbt_project_dir, check=True
    )
    _start(
        settings,
        "dbt-docs",
        [
            str(BIN / "dbt"),
            "docs",
            "serve",
            "--port",
            str(port_docs),
            "--host",
            "127.0.0.1",
            "--no-browser",
        ],
        cwd=settings.dbt_project_dir,
    )
    ready = {name: _wait_port(port, 90) for name, port in PORTS.items()}
    pw_file = settings.airflow_home / "simple_auth_manager_passwords.json.generated"
    password = "(not yet written: see .local/logs/airflow.log)"
    for _ in range(60):
        if pw_file.exists():
            password = json.loads(pw_file.read_text()).get("admin", password)
            break
        time.sleep(1)
    return "\n".join(
        [
            f"Airflow UI   http://localhost:{port_af}   user admin, password {password}"
            f"{'' if ready['airflow'] else '  (still starting)'}",
            f"MLflow UI    http://localhost:{port_ml}{_starting(ready['mlflow'])}",
            f"dbt docs     http://localhost:{port_docs}{_starting(ready['dbt-docs'])}",
            f"logs         {settings.local_dir / 'logs'}      stop with: make stop",
        ]
    )


def down(settings: Settings) -> list[str]:
    stopped = []
    for name in PORTS:
        pid_file = _pid_file(settings, name)
        if not pid_file.exists():
            continue
        pid = int(pid_file.read_text())
        if _alive(pid):
            try:
                os.killpg(pid, signal.SIGTERM)
            except OSError:
                os.kill(pid, signal.SIGTERM)
            stopped.append(name)
        pid_file.unlink(missing_ok=True)
    return stopped
