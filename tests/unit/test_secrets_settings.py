"""PORTRAIT_ENV=production refuses to start without explicit, strong secrets; local mode has
no password literal to fall back on."""

import os
from urllib.parse import unquote, urlsplit

import pytest
from typer.testing import CliRunner

from portrait.settings import Settings, SettingsError, get_settings, production_problems

STRONG = "q7Vd-2mKx_p9Lr4T"
URL = f"postgresql://portrait_admin:{STRONG}@db.internal:5432/portrait"


@pytest.fixture(autouse=True)
def no_portrait_env(monkeypatch, tmp_path):
    for key in [k for k in os.environ if k.startswith("PORTRAIT_") or k.startswith("MLFLOW_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no stray .env from the checkout
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_local_mode_has_no_default_password(tmp_path):
    # local mode generates each login's password into .local/secrets: no literal default
    s = Settings(local_dir=tmp_path / ".local")
    assert s.environment == "local" and s.pg_password is None
    generated = unquote(urlsplit(s.warehouse_dsn()).password or "")
    assert len(generated) >= 16 and generated != "portrait"
    secret_file = tmp_path / ".local" / "secrets" / "portrait_transformer"
    assert secret_file.read_text().strip() == generated


def test_production_without_a_warehouse_names_the_missing_setting(monkeypatch):
    monkeypatch.setenv("PORTRAIT_ENV", "production")
    with pytest.raises(SettingsError) as err:
        get_settings()
    assert "PORTRAIT_WAREHOUSE_URL is not set" in str(err.value)


@pytest.mark.parametrize(
    ("user", "password", "reason"),
    [
        ("portrait", "portrait", "local default"),
        ("ana", "postgres", "local default"),
        ("ana", None, "has no password"),
        ("ana", "Short-1", "shorter than 16"),
        ("ana", "a" * 20, "too few characters"),
        ("ana", "password1234", "local default"),
        ("verylongusername1", "verylongusername1", "local default"),
    ],
)
def test_production_refuses_local_defaults_and_weak_values(monkeypatch, user, password, reason):
    auth = f"{user}:{password}" if password else user
    monkeypatch.setenv("PORTRAIT_ENV", "production")
    monkeypatch.setenv("PORTRAIT_WAREHOUSE_URL", f"postgresql://{auth}@db:5432/portrait")
    with pytest.raises(SettingsError) as err:
        get_settings()
    assert "PORTRAIT_WAREHOUSE_URL" in str(err.value) and reason in str(err.value)
    if password:
        assert password not in str(err.value), "the error names the setting, never the value"


def test_production_refuses_a_weak_secret_of_any_field(monkeypatch):
    monkeypatch.setenv("PORTRAIT_ENV", "production")
    monkeypatch.setenv("PORTRAIT_WAREHOUSE_URL", URL)
    monkeypatch.setenv("PORTRAIT_PG_PASSWORD", "portrait")
    with pytest.raises(SettingsError, match="PORTRAIT_PG_PASSWORD"):
        get_settings()


def test_production_takes_its_secrets_from_the_environment(monkeypatch):
    monkeypatch.setenv("PORTRAIT_ENV", "production")
    monkeypatch.setenv("PORTRAIT_WAREHOUSE_URL", URL)
    s = get_settings()
    assert s.is_production and s.warehouse_parts()["password"] == STRONG


def test_production_takes_its_secrets_from_a_dotenv_file(tmp_path):
    (tmp_path / ".env").write_text(f"PORTRAIT_ENV=production\nPORTRAIT_WAREHOUSE_URL={URL}\n")
    s = get_settings()
    assert s.is_production and s.warehouse_parts()["password"] == STRONG


def test_production_takes_its_secrets_from_a_secrets_directory(monkeypatch, tmp_path):
    secrets = tmp_path / "run-secrets"
    secrets.mkdir()
    (secrets / "portrait_warehouse_url").write_text(URL + "\n")
    monkeypatch.setenv("PORTRAIT_ENV", "production")
    monkeypatch.setenv("PORTRAIT_SECRETS_DIR", str(secrets))
    assert get_settings().warehouse_parts()["password"] == STRONG


def test_a_missing_secrets_directory_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTRAIT_SECRETS_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(SettingsError, match="PORTRAIT_SECRETS_DIR"):
        get_settings()


def test_production_mlflow_server_needs_a_login(monkeypatch):
    monkeypatch.setenv("PORTRAIT_ENV", "production")
    monkeypatch.setenv("PORTRAIT_WAREHOUSE_URL", URL)
    monkeypatch.setenv("PORTRAIT_MLFLOW_TRACKING_URI", "http://mlflow.internal:5000")
    with pytest.raises(SettingsError, match="PORTRAIT_MLFLOW_TRACKING_USERNAME"):
        get_settings()
    monkeypatch.setenv("PORTRAIT_MLFLOW_TRACKING_USERNAME", "pipeline")
    monkeypatch.setenv("PORTRAIT_MLFLOW_TRACKING_PASSWORD", "admin")
    get_settings.cache_clear()
    with pytest.raises(SettingsError, match="PORTRAIT_MLFLOW_TRACKING_PASSWORD"):
        get_settings()
    monkeypatch.setenv("PORTRAIT_MLFLOW_TRACKING_PASSWORD", STRONG + "x")
    get_settings.cache_clear()
    env = get_settings().service_env()
    assert env["MLFLOW_TRACKING_USERNAME"] == "pipeline"
    assert production_problems(get_settings()) == []


def test_the_cli_refuses_to_start_with_a_clear_message(monkeypatch):
    from portrait.cli import app

    monkeypatch.setenv("PORTRAIT_ENV", "production")
    result = CliRunner().invoke(app, ["env"])
    assert result.exit_code == 2
    assert "PORTRAIT_WAREHOUSE_URL is not set" in result.output
    assert "Traceback" not in result.output
