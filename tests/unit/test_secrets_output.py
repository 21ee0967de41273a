"""No password in what portrait prints: `portrait env`, `portrait warehouse up`, the demo
summary and `make ui` say how to connect (a service name, a pgpass file) instead."""

import json
import os
import stat

import pytest
from typer.testing import CliRunner

from portrait.local import connect, summary, ui
from portrait.settings import Settings, get_settings

PG_SECRET = "Wh-9f3Kq2Lx7Pz4Rt"  # pragma: allowlist secret
AIRFLOW_SECRET = "af-Q2w8Zr5Tn3Vb6"  # pragma: allowlist secret
GENERATED = "gen-Xk4Rm8Tq2Wz6Jc"  # pragma: allowlist secret


@pytest.fixture
def settings(monkeypatch, tmp_path):
    for key in [k for k in os.environ if k.startswith("PORTRAIT_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PORTRAIT_LOCAL_DIR", str(tmp_path / ".local"))
    monkeypatch.setenv("PORTRAIT_PG_PASSWORD", PG_SECRET)
    # what the role migration generates in local mode
    (tmp_path / ".local" / "secrets").mkdir(parents=True)
    (tmp_path / ".local" / "secrets" / "portrait_analyst").write_text(GENERATED + "\n")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def _clean(text: str) -> None:
    for secret in (PG_SECRET, AIRFLOW_SECRET, GENERATED):
        assert secret not in text


def test_portrait_env_prints_no_password_and_names_the_pgpass_file(settings):
    from portrait.cli import app

    result = CliRunner().invoke(app, ["env"])
    assert result.exit_code == 0, result.output
    _clean(result.output)
    passfile = connect.pgpass_file(settings)
    assert f"export PGPASSFILE={passfile}" in result.output
    assert "PORTRAIT_DBT_PASSWORD" not in result.output
    assert "AIRFLOW_CONN_PORTRAIT_WAREHOUSE=postgresql://portrait_transformer@127.0.0.1:" in (
        result.output
    )
    text = passfile.read_text()
    assert PG_SECRET in text and GENERATED in text, "libpq finds the passwords there"
    assert "[portrait_loader]" in connect.service_file(settings).read_text()
    assert stat.S_IMODE(passfile.stat().st_mode) == 0o600
    assert stat.S_IMODE(passfile.parent.stat().st_mode) == 0o700


def test_warehouse_up_prints_a_service_not_a_password(settings, monkeypatch):
    from portrait.cli import app
    from portrait.local import services

    monkeypatch.setattr(services, "ensure_warehouse", lambda s: s.warehouse_dsn())
    result = CliRunner().invoke(app, ["warehouse", "up"])
    assert result.exit_code == 0, result.output
    _clean(result.output)
    assert 'psql "service=portrait"' in result.output
    service_text = connect.service_file(settings).read_text()
    assert "[portrait]" in service_text and PG_SECRET not in service_text


class _FakeConn:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_the_demo_summary_prints_how_to_connect(settings, monkeypatch):
    monkeypatch.setattr(summary.db, "connect", lambda dsn: _FakeConn())
    monkeypatch.setattr(summary, "rows_per_schema", lambda conn: [("marts", "dim_customer", 3)])
    monkeypatch.setattr(summary, "drift_lines", lambda conn: [f"  leaked {GENERATED}"])
    monkeypatch.setattr(summary, "model_lines", lambda: [])
    text = summary.render(settings, settings.warehouse_dsn())
    _clean(text)
    assert 'psql "service=portrait"' in text


def test_make_ui_names_the_password_file_not_the_password(settings, monkeypatch):
    started = []
    monkeypatch.setattr(ui, "_start", lambda s, service: started.append(service))
    monkeypatch.setattr(ui, "_wait_port", lambda *a, **k: True)
    monkeypatch.setattr(ui.subprocess, "run", lambda *a, **k: None)
    pw_file = settings.airflow_home / "simple_auth_manager_passwords.json.generated"
    pw_file.parent.mkdir(parents=True)
    pw_file.write_text(json.dumps({"admin": AIRFLOW_SECRET}))
    pw_file.chmod(0o644)
    text = ui.up(settings)
    _clean(text)
    assert str(pw_file) in text
    assert stat.S_IMODE(pw_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.airflow_home.stat().st_mode) == 0o700
    assert stat.S_IMODE((settings.local_dir / "logs").stat().st_mode) == 0o700


def test_scrub_replaces_every_known_secret(settings):
    secrets = connect.known_secrets(settings)
    assert {PG_SECRET, GENERATED} <= secrets
    assert connect.scrub(f"x {PG_SECRET} y", secrets) == "x ******** y"


def test_settings_alone_hold_no_password_literal():
    assert Settings().pg_password is None
