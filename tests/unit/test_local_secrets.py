"""Local mode's passwords: generated once into .local/secrets (0600 in a 0700 folder), one
per login, and each component's DSN uses its own login."""

import stat

import pytest

from portrait.secrets import local_secret
from portrait.settings import COMPONENT_LOGINS, Settings


def test_a_secret_is_generated_once_and_kept_private(tmp_path):
    folder = tmp_path / "secrets"
    first = local_secret(folder, "portrait_loader")
    assert len(first) >= 24 and local_secret(folder, "portrait_loader") == first
    assert local_secret(folder, "portrait_ml") != first
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "portrait_loader").stat().st_mode) == 0o600


@pytest.mark.parametrize("name", ["../etc/passwd", "a b", "", "Robert'); drop"])
def test_a_secret_name_must_be_a_login_name(tmp_path, name):
    with pytest.raises(ValueError, match="not a login name"):
        local_secret(tmp_path, name)


def test_each_component_logs_in_as_its_own_login_with_the_generated_password(tmp_path):
    s = Settings(local_dir=tmp_path)
    for component, login in COMPONENT_LOGINS.items():
        parts = s.warehouse_parts(component)
        assert parts["user"] == login
        assert parts["password"] == (tmp_path / "secrets" / login).read_text().strip()
    assert s.migration_dsn().startswith("postgresql://postgres:")
    assert set(s.login_passwords()) == set(COMPONENT_LOGINS.values())
    env = s.service_env()
    assert env["PORTRAIT_DBT_USER"] == "portrait_transformer"
    assert "portrait_loader" in env["AIRFLOW_CONN_PORTRAIT_WAREHOUSE_LOADER"]
    assert env["AIRFLOW_CONN_PORTRAIT_WAREHOUSE_MIGRATION"] == s.migration_dsn()


def test_an_external_warehouse_takes_per_component_urls(monkeypatch):
    boss = "postgresql://boss:pw@db.example:5432/wh"  # pragma: allowlist secret
    monkeypatch.setenv("PORTRAIT_WAREHOUSE_URL", boss)
    monkeypatch.setenv(
        "PORTRAIT_WAREHOUSE_URL_LOADER",
        "postgresql://portrait_loader:l%40d@db.example:5432/wh",  # pragma: allowlist secret
    )
    s = Settings()
    assert s.warehouse_parts("loader")["password"] == "l@d"  # pragma: allowlist secret
    assert s.warehouse_parts("ml")["user"] == "boss"
    assert s.migration_dsn() == boss
    passwords = s.login_passwords()
    assert passwords["portrait_loader"] == "l@d" and passwords["portrait_ml"] is None
