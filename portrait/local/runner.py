"""Run portrait end to end on this machine (what `make demo` does) and summarise the result."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from portrait.settings import Settings, get_settings

BIN = Path(sys.executable).parent


def apply_env(settings: Settings | None = None) -> dict[str, str]:
    """Put the derived service environment into this process (children inherit it)."""
    env = (settings or get_settings()).service_env()
    os.environ.update(env)
    return env


def run(
    cmd: list[str], *, cwd: Path | None = None, log: Path | None = None, quiet: bool = False
) -> None:
    """Run a command; on failure show its tail and the full log's path."""
    started = time.monotonic()
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as fh:
            proc = subprocess.run(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT)
    else:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=quiet, text=True)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-4000:] if log else (proc.stdout or "")[-4000:]
        raise SystemExit(
            f"`{' '.join(cmd)}` failed (exit {proc.returncode}).\n{tail}\n"
            + (f"Full log: {log}" if log else "")
        )
    if not quiet:
        print(
            f"  done in {time.monotonic() - started:.0f}s: {Path(cmd[0]).name} {' '.join(cmd[1:4])}"
        )


def dbt_parse(settings: Settings) -> None:
    """Write dbt_project/target/manifest.json, which Cosmos renders the DAGs from."""
    run(
        [str(BIN / "dbt"), "parse", "--quiet"],
        cwd=settings.dbt_project_dir,
        log=settings.local_dir / "logs" / "dbt_parse.log",
        quiet=True,
    )


def airflow_migrate(settings: Settings) -> None:
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    run(
        [str(BIN / "airflow"), "db", "migrate"],
        log=settings.local_dir / "logs" / "airflow_migrate.log",
        quiet=True,
    )


def world_run_date(landing_dir: Path) -> dt.date:
    """The logical date to run the DAGs for: the newest batch's extraction day."""
    newest = None
    for manifest in landing_dir.glob("*/*/_batch.json"):
        extracted = json.loads(manifest.read_text())["extracted_at"]
        day = dt.datetime.fromisoformat(extracted).date()
        newest = day if newest is None or day > newest else newest
    if newest is None:
        raise SystemExit(f"No batches with a _batch.json under {landing_dir}: nothing to run.")
    return newest


def dags_test(dag_id: str, run_date: dt.date, settings: Settings) -> None:
    log = settings.local_dir / "logs" / f"{dag_id}_{run_date}.log"
    print(f"- airflow dags test {dag_id} {run_date}  (log: {log})")
    run([str(BIN / "airflow"), "dags", "test", dag_id, run_date.isoformat()], log=log, quiet=True)


def dag_test(dag_id: str, run_date: dt.date) -> str:
    """Run one DAG in-process with dag.test() (no scheduler); return the run's final state."""
    import pendulum
    from airflow.dag_processing.dagbag import DagBag

    settings = get_settings()
    bag = DagBag(dag_folder=str(settings.project_dir / "dags"))
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    dag = bag.get_dag(dag_id)
    logical = pendulum.datetime(run_date.year, run_date.month, run_date.day, tz="UTC")
    run = dag.test(logical_date=logical)
    return str(run.state)
