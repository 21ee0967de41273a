"""Benchmark: portrait_daily on a distributed Airflow (scheduler, Redis broker, Celery workers,
Postgres metadata) with 1 and 2 workers against the LocalExecutor, on the same world, each in
a deployment of its own started from scratch (portrait.local.cluster): wall seconds, the
tasks' own seconds, the machine's CPU seconds, and the warehouse checksums of the three
(bench/warehouse_checksums.py), which must be identical.

No model is trained (the world is small and the comparison is of orchestration): the score
tasks skip with their reason in all three, and the warehouses are compared everywhere else.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.cluster_runs import SCALE, daily, deploy, teardown, world
from bench.warehouse_checksums import differences, fingerprint

# portrait_daily's dbt execution in all three deployments (PORTRAIT_DBT_EXECUTION): the kept
# "tasks" by default; "build" (16 tasks instead of 113) when the ≈ 35 min of three per-model
# runs on two cores do not fit.
EXECUTION = os.environ.get("PORTRAIT_BENCH_CLUSTER_EXECUTION", "tasks")

CONFIGS = {"local": ("LocalExecutor", 0), "celery_1": ("CeleryExecutor", 1)}
CONFIGS["celery_2"] = ("CeleryExecutor", 2)


def run(work: Path) -> dict:
    from portrait.local.runner import world_run_date

    landing = world(work)
    run_date = world_run_date(landing)
    results, prints = {}, {}
    for name, (executor, workers) in CONFIGS.items():
        folder = work / name
        dep = deploy(
            folder,
            landing,
            workers=workers,
            executor=executor,
            env={"PORTRAIT_DBT_EXECUTION": EXECUTION},
        )
        try:
            results[name] = daily(dep, run_date)
            prints[name] = fingerprint(dep.warehouse_dsn)
        finally:
            teardown(dep)
    diffs = {n: differences(prints["local"], prints[n]) for n in prints if n != "local"}
    wall = {name: figures["wall_s"] for name, figures in results.items()}
    return {
        "scale": SCALE,
        "dbt_execution": EXECUTION,
        "run_date": str(run_date),
        **results,
        "speedup_2_vs_1_workers": round(wall["celery_1"] / wall["celery_2"], 3),
        "celery_2_vs_local_wall": round(wall["celery_2"] / wall["local"], 3),
        "checksums_equal": not any(diffs.values()),
        "differences": {n: d[:10] for n, d in diffs.items() if d},
    }
