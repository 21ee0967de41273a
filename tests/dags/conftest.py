import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def dag_env(tmp_path_factory):
    """Service env pointing at a throwaway home; the dbt manifest Cosmos renders from."""
    from portrait.settings import Settings

    local = tmp_path_factory.mktemp("local")
    env = Settings(local_dir=local).service_env()
    os.environ.update(env)
    subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "parse", "--quiet"],
        cwd=REPO / "dbt_project", check=True, env={**os.environ, **env},
    )
    return env
