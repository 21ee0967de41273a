"""The "build" dbt execution (PORTRAIT_DBT_EXECUTION=build): its one task's failure names
the failed model, since the Airflow UI has no task per model to show it."""

from pathlib import Path
from unittest import mock

import pytest
from conftest import service_env_for

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def test_a_failed_model_is_named_in_the_build_tasks_error(fresh_db, tmp_path, monkeypatch):
    """dbt build over a staging model whose source table was never loaded (an empty
    warehouse): the task (the operator "build" mode renders, run as Airflow would) raises,
    naming the model and dbt's reason."""
    from cosmos import ProfileConfig

    from portrait.dbt_build import DbtBuildFailed, DbtBuildNamingFailures
    from portrait.orchestration import BUILDABLE

    env = service_env_for(fresh_db, tmp_path / "local")
    # dbt_project/profiles.yml reads the warehouse from PORTRAIT_DBT_*
    for key, value in env.items():
        if key.startswith("PORTRAIT_DBT_") or key == "AIRFLOW__COSMOS__CACHE_DIR":
            monkeypatch.setenv(key, value)
    from cosmos.constants import InvocationMode

    task = DbtBuildNamingFailures(
        task_id="dbt_build",
        project_dir=REPO / "dbt_project",
        profile_config=ProfileConfig(
            profile_name="portrait",
            target_name="local",
            profiles_yml_filepath=REPO / "dbt_project" / "profiles.yml",
        ),
        invocation_mode=InvocationMode.DBT_RUNNER,
        select=["stg_erp__orders"],
        vars={"business_timezone": "Asia/Shanghai", "as_of_date": "2024-06-30"},
        indirect_selection=BUILDABLE,
        install_deps=False,
        emit_datasets=False,
        should_store_compiled_sql=False,
    )
    context = {"run_id": "test", "ti": mock.MagicMock(), "task_instance": mock.MagicMock()}
    with pytest.raises(DbtBuildFailed) as failed:
        task.execute(context)
    message = str(failed.value)
    assert message.startswith("dbt build failed in model(s): stg_erp__orders"), message
    # its unit test fails first (dbt then skips the model): the failure says on which model,
    # and dbt's reason, the missing source table
    failure = message.splitlines()[1]
    assert "on stg_erp__orders (error: " in failure or "model stg_erp__orders (error: " in failure
    assert '"raw"."erp__orders"' in failure and "exist" in failure, failure
