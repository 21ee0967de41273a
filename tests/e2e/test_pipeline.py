"""portrait_train then portrait_daily, run by Airflow (dag.test) on the demo's small world."""

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from conftest import create_database, service_env_for

from models_ml.tasks import TASKS
from portrait.local.runner import world_run_date

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.e2e


def run(cmd, env, log: Path):
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    log.write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed; log {log}:\n" + (proc.stdout + proc.stderr)[-6000:]
    )


@pytest.fixture(scope="module")
def pipeline(pg_cluster, default_world, tmp_path_factory):
    dsn = create_database(pg_cluster, "e2e_pipeline")
    local = tmp_path_factory.mktemp("e2e_local")
    shutil.copytree(default_world / "landing", local / "data" / "landing")
    env = service_env_for(dsn, local)
    logs = local / "logs"
    logs.mkdir()
    subprocess.run([BIN / "dbt", "parse", "--quiet"], cwd=REPO / "dbt_project", env=env, check=True)
    run([BIN / "airflow", "db", "migrate"], env, logs / "migrate.log")
    run_date = world_run_date(local / "data" / "landing")
    for dag_id in ("portrait_train", "portrait_daily"):
        run(
            [sys.executable, "-m", "portrait.cli", "dags", "test", dag_id, run_date.isoformat()],
            env,
            logs / f"{dag_id}.log",
        )
    return dsn, run_date, env, logs


def test_every_customer_of_the_snapshot_is_scored_once_per_task(pipeline):
    dsn, run_date, *_ = pipeline
    with psycopg.connect(dsn) as conn:
        (as_of,) = conn.execute("select max(as_of_date) from ml.customer_scores").fetchone()
        assert as_of == run_date - dt.timedelta(days=1), "scores are for the day before the run"
        (customers,) = conn.execute(
            "select count(*) from features.customer_features where as_of_date = %s", (as_of,)
        ).fetchone()
        per_task = dict(
            conn.execute(
                "select task, count(*) from ml.customer_scores where as_of_date = %s group by 1",
                (as_of,),
            ).fetchall()
        )
        (dupes,) = conn.execute(
            "select count(*) from (select 1 from ml.customer_scores "
            "group by cid, as_of_date, task having count(*) > 1) as d"
        ).fetchone()
        aliases = {
            r[0] for r in conn.execute("select distinct model_alias from ml.customer_scores")
        }
    assert customers > 0
    assert per_task == dict.fromkeys(TASKS, customers)
    assert dupes == 0
    assert aliases == {"champion"}


def test_drift_figures_are_stored_with_a_report(pipeline):
    dsn, _, env, _ = pipeline
    with psycopg.connect(dsn) as conn:
        runs = conn.execute(
            "select task, drifted_feature_share, report_path from monitoring.drift_runs"
        ).fetchall()
        (metrics,) = conn.execute("select count(*) from monitoring.drift_metrics").fetchone()
    assert {r[0] for r in runs} == set(TASKS)
    assert metrics > 0
    for _, share, path in runs:
        assert 0.0 <= share <= 1.0
        html = Path(path).read_text()
        assert path.startswith(env["PORTRAIT_REPORTS_DIR"]), "reports go to the configured folder"
        assert "days_since_last_order" in html and "drift" in html.lower()


def test_customers_are_segmented_for_the_tag_layer(pipeline):
    dsn, run_date, *_ = pipeline
    with psycopg.connect(dsn) as conn:
        (segmented,) = conn.execute(
            "select count(*) from ml.customer_segments where as_of_date = %s",
            (run_date - dt.timedelta(days=1),),
        ).fetchone()
        (tagged,) = conn.execute(
            "select count(*) from marts.mart_customer_tags "
            "where tag_code = 'model_segment' and is_current and tag_value is not null"
        ).fetchone()
    assert segmented > 0
    assert tagged == segmented, "every segmented customer carries its segment as a current tag"


def test_marts_show_the_scores(pipeline):
    dsn, *_ = pipeline
    with psycopg.connect(dsn) as conn:
        (scored,) = conn.execute(
            "select count(*) from marts.mart_customer_profile where churn_score is not null"
        ).fetchone()
    assert scored > 0


def test_rerunning_the_day_replaces_rather_than_duplicates(pipeline):
    dsn, run_date, env, logs = pipeline
    with psycopg.connect(dsn) as conn:
        before = conn.execute(
            "select task, count(*) from ml.customer_scores group by 1 order by 1"
        ).fetchall()
    run(
        [
            sys.executable,
            "-m",
            "portrait.cli",
            "dags",
            "test",
            "portrait_daily",
            run_date.isoformat(),
        ],
        env,
        logs / "portrait_daily_rerun.log",
    )
    with psycopg.connect(dsn) as conn:
        after = conn.execute(
            "select task, count(*) from ml.customer_scores group by 1 order by 1"
        ).fetchall()
    assert after == before
