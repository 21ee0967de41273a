"""Every server `make ui` starts listens on 127.0.0.1 unless PORTRAIT_BIND_HOST says otherwise,
and MLflow's basic-auth app (PORTRAIT_MLFLOW_AUTH=1) refuses requests without its login."""

import base64
import os
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from portrait.local import ui
from portrait.local.services import free_port
from portrait.settings import Settings


@pytest.fixture
def local_settings(monkeypatch, tmp_path):
    for key in [k for k in os.environ if k.startswith("PORTRAIT_")]:
        monkeypatch.delenv(key)
    return Settings(local_dir=tmp_path / ".local")


def _host_of(service: ui.Service) -> str | None:
    cmd = service.cmd
    for flag in ("--host", "-H"):
        if flag in cmd:
            return cmd[cmd.index(flag) + 1]
    return None


def test_every_ui_server_binds_loopback(local_settings):
    started = ui.services(local_settings)
    servers = [s for s in started if s.port]
    assert {s.name for s in servers} == set(ui.PORTS)
    for service in servers:
        assert _host_of(service) == "127.0.0.1", service.name
    api = next(s for s in started if s.name == "airflow")
    assert api.env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert api.env["AIRFLOW__API__BASE_URL"].startswith("http://127.0.0.1:")
    # Airflow 3.3's log servers bind every interface: the components that start one skip it.
    for service in started:
        if service.cmd[1:2] in (["scheduler"], ["triggerer"]):
            assert "--skip-serve-logs" in service.cmd, service.name
    assert not any(c[1:2] == ["standalone"] for c in (s.cmd for s in started))


def test_the_bind_host_is_a_setting(monkeypatch, local_settings):
    monkeypatch.setenv("PORTRAIT_BIND_HOST", "0.0.0.0")
    settings = Settings(local_dir=local_settings.local_dir)
    servers = [s for s in ui.services(settings) if s.port]
    assert {_host_of(s) for s in servers} == {"0.0.0.0"}
    api = next(s for s in servers if s.name == "airflow")
    assert api.env["AIRFLOW__API__BASE_URL"].startswith("http://127.0.0.1:")


def _non_loopback_ip() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: only picks the outgoing address
            ip = s.getsockname()[0]
        except OSError:
            return None
    return None if ip.startswith("127.") else ip


def _get(url: str, auth: tuple[str, str] | None = None) -> int:
    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.mark.integration
def test_mlflow_basic_auth_refuses_anonymous_requests(monkeypatch, local_settings, tmp_path):
    monkeypatch.setenv("PORTRAIT_MLFLOW_AUTH", "1")
    settings = Settings(local_dir=local_settings.local_dir)
    port = free_port()
    service = ui.mlflow_service(settings, port)
    assert "--app-name" in service.cmd and _host_of(service) == "127.0.0.1"
    ini = ui.mlflow_auth_config(settings)
    assert stat.S_IMODE(ini.stat().st_mode) == 0o600
    password = ui.mlflow_admin_password(ini)
    log = (tmp_path / "mlflow.log").open("w")
    proc = subprocess.Popen(
        service.cmd,
        env={**os.environ, **service.env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 120
        while not ui._wait_port(port, 1) and proc.poll() is None and time.monotonic() < deadline:
            pass
        assert proc.poll() is None, (tmp_path / "mlflow.log").read_text()[-3000:]
        url = f"http://127.0.0.1:{port}/api/2.0/mlflow/experiments/search?max_results=1"
        deadline = time.monotonic() + 60
        while _get(url, ("admin", password)) >= 500 and time.monotonic() < deadline:
            time.sleep(1)
        assert _get(url) == 401
        assert _get(url, ("admin", "wrong-password")) == 401
        assert _get(url, ("admin", password)) == 200
        ip = _non_loopback_ip()
        if ip:
            with socket.socket() as s:
                s.settimeout(1)
                assert s.connect_ex((ip, port)) != 0, f"MLflow answers on {ip}"
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
        log.close()
