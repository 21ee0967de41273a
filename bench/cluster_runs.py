"""Shared by bench_cluster and bench_freshness: a world, and portrait_daily run on a started
deployment (portrait.local.cluster) by its scheduler, timed from its metadata database."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# The world both benches run on: the e2e test's small world (scale 0.4, seed 7, 36 months),
# PORTRAIT_BENCH_CLUSTER_SCALE to change it.
SCALE = float(os.environ.get("PORTRAIT_BENCH_CLUSTER_SCALE", "0.4"))


def world(work: Path) -> Path:
    from sources.simulator import simulate

    out = work / "world"
    if not out.exists():
        simulate(out, scale=SCALE, seed=7, months=36, progress=False)
    return out / "landing"


def machine_cpu_seconds() -> float:
    """User + system CPU seconds of the whole machine so far (/proc/stat): every process of a
    deployment (scheduler, workers, their task processes, PostgreSQL) is counted."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system = (int(v) for v in fields[:3])
    return (user + nice + system) / os.sysconf("SC_CLK_TCK")


@dataclass
class Deployment:
    cluster: object
    driver: object
    warehouse_dsn: str
    pg: object
    landing: Path


def deploy(
    work: Path,
    landing: Path,
    *,
    workers: int,
    executor: str = "CeleryExecutor",
    env: dict[str, str] | None = None,
):
    """A private PostgreSQL (warehouse and metadata), a copy of the landing area and a
    deployment with `workers` Celery workers (0 with the LocalExecutor) and the settings
    `env` (e.g. PORTRAIT_DBT_EXECUTION), started."""
    from portrait.local.cluster import Cluster, Driver
    from portrait.local.runner import world_run_date, world_start_date
    from portrait.local.services import PgCluster, free_port
    from portrait.settings import Settings

    pg = PgCluster(root=work / "pg", port=free_port(), database="warehouse")
    pg.start()
    pg.migrate()
    local = work / "local"
    shutil.copytree(landing, local / "data" / "landing", dirs_exist_ok=True)
    first = world_start_date(landing)
    settings = Settings(
        local_dir=local,
        reports_dir=local / "reports",
        warehouse_url=pg.dsn,
        start_date=first,
        # no scheduled run: the world's history ends in the past; the bench triggers its day
        end_date=world_run_date(landing) + dt.timedelta(days=1),
    )
    extra = {"PORTRAIT_TASK_RETRIES": "0", **(env or {})}
    if executor != "CeleryExecutor":
        extra["AIRFLOW__CORE__EXECUTOR"] = executor
    cluster = Cluster.on_free_ports(
        settings,
        pg,
        workers=workers,
        concurrency=2,
        extra_env=extra,
    )
    driver = Driver(cluster)
    cluster.up()
    driver.wait_dags(["portrait_daily", "portrait_refresh"])
    return Deployment(cluster, driver, pg.dsn, pg, local / "data" / "landing")


def teardown(dep: Deployment) -> None:
    dep.cluster.down()
    dep.pg.destroy()


def daily(dep: Deployment, run_date: dt.date) -> dict:
    """portrait_daily for run_date, triggered and waited for; wall, task and CPU seconds."""
    cpu = machine_cpu_seconds()
    run_id = dep.driver.trigger("portrait_daily", run_date)
    dep.driver.wait_run("portrait_daily", run_id, timeout=7200)
    times = dep.driver.run_times("portrait_daily", run_id)
    return {
        "wall_s": round(times["wall_s"], 1),
        "task_s": round(sum(times["tasks"].values()), 1),
        "cpu_s": round(machine_cpu_seconds() - cpu, 1),
        "tasks": len(times["tasks"]),
    }
