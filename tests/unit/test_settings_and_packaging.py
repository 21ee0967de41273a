"""Settings feed every service; the pinned requirements.txt matches uv.lock."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from portrait.local.services import POSTGRES_PACKAGE_HINT, ServiceError, find_pg_bin_dir
from portrait.settings import Settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_portrait_env(monkeypatch):
    for key in [k for k in os.environ if k.startswith("PORTRAIT_")]:
        monkeypatch.delenv(key)


def test_service_env_derives_everything_from_the_settings(tmp_path):
    s = Settings(project_dir=tmp_path, pg_port=6543)
    env = s.service_env()
    assert env["AIRFLOW_HOME"] == str(tmp_path / ".local" / "airflow")
    assert env["AIRFLOW_CONN_PORTRAIT_WAREHOUSE"].endswith("@127.0.0.1:6543/portrait")
    assert env["PORTRAIT_DBT_PORT"] == "6543"
    assert env["MLFLOW_TRACKING_URI"] == f"sqlite:///{tmp_path / '.local' / 'mlflow' / 'mlflow.db'}"
    assert env["DBT_PROFILES_DIR"] == str(tmp_path / "dbt_project")


def test_an_external_warehouse_url_wins_over_the_private_cluster(monkeypatch):
    # pragma: allowlist nextline secret
    monkeypatch.setenv("PORTRAIT_WAREHOUSE_URL", "postgresql://ana:s%40cret@db.example:5433/wh")
    s = Settings()
    assert not s.uses_private_cluster
    parts = s.warehouse_parts()
    assert parts == {
        "host": "db.example",
        "port": "5433",
        "user": "ana",
        "password": "s@cret",  # pragma: allowlist secret
        "dbname": "wh",
    }
    assert s.service_env()["PORTRAIT_DBT_HOST"] == "db.example"


def test_missing_postgres_binaries_name_the_package(tmp_path):
    with pytest.raises(ServiceError) as err:
        find_pg_bin_dir(tmp_path)
    assert "apt-get install postgresql" in str(err.value)
    assert "PORTRAIT_WAREHOUSE_URL" in POSTGRES_PACKAGE_HINT


def test_requirements_txt_is_exported_from_the_lock(tmp_path):
    out = tmp_path / "requirements.txt"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "uv",
            "export",
            "--frozen",
            "--no-hashes",
            "--no-dev",
            "--no-emit-project",
            "-o",
            str(out),
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
    )

    def pins(text):
        return sorted(
            line for line in text.splitlines() if line and not line.lstrip().startswith("#")
        )

    assert pins(out.read_text()) == pins((REPO / "requirements.txt").read_text()), (
        "requirements.txt is out of date with uv.lock: run `make requirements`"
    )


def test_the_business_timezone_has_one_source():
    """dbt's var falls back to the settings' default; the DAGs and dbt get the setting."""
    import yaml

    from portrait.settings import DEFAULT_BUSINESS_TIMEZONE
    from sources.contract import DEFAULT_TIMEZONE

    project = yaml.safe_load((REPO / "dbt_project" / "dbt_project.yml").read_text())
    var = project["vars"]["business_timezone"]
    assert var == (
        f"{{{{ env_var('PORTRAIT_BUSINESS_TIMEZONE', '{DEFAULT_BUSINESS_TIMEZONE}') }}}}"
    )
    assert DEFAULT_TIMEZONE == DEFAULT_BUSINESS_TIMEZONE
    env = Settings(business_timezone="Europe/Berlin").service_env()
    assert env["PORTRAIT_BUSINESS_TIMEZONE"] == "Europe/Berlin"


def test_identity_settings_reach_the_dags_dbt_vars(monkeypatch):
    """PORTRAIT_IDENTITY (JSON) becomes the `identity` dbt var of every DAG dbt task group."""
    monkeypatch.setenv("PORTRAIT_IDENTITY", '{"match_threshold": 9, "mode": "link_only"}')
    assert Settings().identity == {"match_threshold": 9, "mode": "link_only"}
    monkeypatch.delenv("PORTRAIT_IDENTITY")
    assert Settings().identity is None
