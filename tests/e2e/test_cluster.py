"""portrait_daily on a distributed Airflow: the scheduler, DAG processor, triggerer and API
server with the CeleryExecutor on a real Redis broker (Debian's redis-server, installed by
`portrait setup system`), two Celery worker processes, Airflow's metadata and MLflow's store
in PostgreSQL databases of their own; then a landed batch's event (`portrait notify`)
triggers portrait_refresh through its asset watcher. Everything is started by the fixture
and stopped by its pids (portrait.local.cluster).

The deployment runs dbt in the "build" execution (a `dbt build` task per group, 16 tasks in
portrait_daily instead of 113): what this test is about is the scheduler, the broker and the
workers, and on this 2-core machine each Airflow task costs a few seconds of start-up, which
made the test 12 minutes long with a task per model. That the execution modes build the same
warehouse is tests/integration/test_dbt_execution.py's; the per-model tasks run under
`airflow dags test` in the pipeline world."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from portrait.local.cluster import Cluster, Driver
from portrait.local.runner import world_run_date, world_start_date
from portrait.settings import Settings

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.e2e


def held_back_batch(landing: Path) -> Path:
    """The newest CRM batch: landed only after the daily run, to be announced."""
    return sorted(p for p in (landing / "crm").iterdir() if p.is_dir())[-1]


@pytest.fixture(scope="module")
def deployment(pg_cluster, tiny_world, tmp_path_factory):
    from conftest import create_database

    local = tmp_path_factory.mktemp("cluster_local")
    landing = local / "data" / "landing"
    shutil.copytree(tiny_world / "landing", landing)
    held = held_back_batch(landing)
    parked = local / "parked" / held.name
    shutil.move(held, parked)
    dsn = create_database(pg_cluster, "e2e_cluster")
    run_date = world_run_date(landing)
    settings = Settings(
        local_dir=local,
        reports_dir=local / "reports",
        warehouse_url=dsn,
        start_date=world_start_date(landing),
        # No scheduled run: the history ends in the past; the test triggers its day.
        end_date=run_date + dt.timedelta(days=1),
    )
    cluster = Cluster.on_free_ports(
        settings,
        pg_cluster,
        workers=2,
        concurrency=2,
        extra_env={"PORTRAIT_TASK_RETRIES": "0", "PORTRAIT_DBT_EXECUTION": "build"},
    )
    driver = Driver(cluster)
    try:
        cluster.up()
        yield driver, dsn, run_date, parked, held
    finally:
        stopped = cluster.down()
        assert "redis" in stopped and "airflow-worker-2" in stopped, stopped
        assert not any(cluster.status().values())


@pytest.fixture(scope="module")
def daily_run(deployment):
    driver, _, run_date, _, _ = deployment
    driver.wait_dags(["portrait_daily", "portrait_refresh"])
    run_id = driver.trigger("portrait_daily", run_date)
    return driver.wait_run("portrait_daily", run_id, timeout=2400)


def test_the_daily_run_is_scheduled_and_run_by_celery_workers(deployment, daily_run):
    driver, dsn, _, _, _ = deployment
    assert daily_run == "success"
    runs = driver.meta("select run_type, state from dag_run where dag_id = 'portrait_daily'")
    assert runs == [("manual", "success")], "one triggered run, no scheduled one"
    states = dict(
        driver.meta(
            "select state, count(*) from task_instance where dag_id = 'portrait_daily'"
            " group by state"
        )
    )
    assert set(states) <= {"success", "skipped"}, states
    succeeded = {
        task_id
        for (task_id,) in driver.meta(
            "select task_id from task_instance where dag_id = 'portrait_daily'"
            " and state = 'success'"
        )
    }
    # everything but scoring, drift and the retrain signal (no champion on this world)
    stages = {"roles", "load", "coverage", "text", "segment", "published"}
    builds = {f"{group}.dbt_build" for group in ("staging", "transform", "marts")}
    assert stages | builds <= succeeded, succeeded
    # Celery ran them: its result backend in the metadata database holds a row per task, and
    # both worker processes executed some.
    (results,) = driver.meta("select count(*) from celery_taskmeta where status = 'SUCCESS'")[0]
    (executed,) = driver.meta(
        "select count(*) from task_instance where dag_id = 'portrait_daily'"
        " and state = 'success' and operator <> 'EmptyOperator'"  # the scheduler ends these
    )[0]
    assert results >= executed >= len(stages | builds), (results, executed, states)
    logs = driver.cluster.root / "logs"
    per_worker = {
        n: (logs / f"airflow-worker-{n}.log").read_text().count("Executing workload")
        for n in (1, 2)
    }
    assert all(per_worker.values()), per_worker
    with psycopg.connect(dsn) as conn:
        (profiles,) = conn.execute("select count(*) from marts.mart_customer_profile").fetchone()
    assert profiles > 0


def test_a_landed_batch_s_event_triggers_the_refresh(deployment, daily_run):
    driver, dsn, _, parked, held = deployment
    driver.airflow("dags", "unpause", "portrait_refresh")
    driver.wait_listening()
    assert driver.state("portrait_refresh") is None, "no run before the event"
    shutil.copytree(parked, held)
    landed = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "portrait.cli", "notify", str(held)],
        env=driver.env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and "to 1 listener" in proc.stdout, proc.stdout + proc.stderr
    driver.wait_for("the event's run", lambda: driver.state("portrait_refresh"), timeout=120)
    driver.wait_run("portrait_refresh", timeout=900)
    seconds = time.monotonic() - landed
    runs = driver.meta("select run_type from dag_run where dag_id = 'portrait_refresh'")
    assert runs == [("asset_triggered",)], runs
    with psycopg.connect(dsn) as conn:
        batches = [b for (b,) in conn.execute("select batch_id from raw._batches")]
    assert held.name in batches
    from conftest import SESSION_REPORT

    SESSION_REPORT.append(f"cluster: landed batch to refreshed marts in {seconds:.0f}s")
