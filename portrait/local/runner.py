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


def world_extraction_days(landing_dir: Path) -> tuple[dt.date, dt.date]:
    """The first and the newest batch's extraction day (in the offset the batch states):
    the data's coverage, from which the demo takes the DAGs' start date and its run date."""
    days = [
        dt.datetime.fromisoformat(json.loads(m.read_text())["extracted_at"]).date()
        for m in landing_dir.glob("*/*/_batch.json")
    ]
    if not days:
        raise SystemExit(f"No batches with a _batch.json under {landing_dir}: nothing to run.")
    return min(days), max(days)


def world_run_date(landing_dir: Path) -> dt.date:
    """The logical date to run the DAGs for: the newest batch's extraction day (its as_of
    date, the day before, is the last one the data covers)."""
    return world_extraction_days(landing_dir)[1]


def world_start_date(landing_dir: Path) -> dt.date:
    """The DAGs' start date for this data: the first batch's extraction day (a run for it
    describes the day before, the first one any record is known at)."""
    return world_extraction_days(landing_dir)[0]


def refuse_before_start(dag_id: str, run_date: dt.date, start: dt.date | None) -> None:
    """Airflow creates no task for a date before a DAG's start_date and calls that run a
    success: refuse such a date here, saying so, instead of reporting nothing done."""
    if start is not None and run_date < start:
        raise SystemExit(
            f"{dag_id}: {run_date} is before the DAGs' start date {start} (PORTRAIT_START_DATE):"
            " Airflow would create no task and mark the run successful. Run for a date on or "
            "after it, or lower PORTRAIT_START_DATE to where the history starts."
        )


def dags_test(dag_id: str, run_date: dt.date, settings: Settings) -> None:
    refuse_before_start(dag_id, run_date, settings.start_date)
    log = settings.local_dir / "logs" / f"{dag_id}_{run_date}.log"
    print(f"- airflow dags test {dag_id} {run_date}  (log: {log})")
    run([str(BIN / "airflow"), "dags", "test", dag_id, run_date.isoformat()], log=log, quiet=True)


def backfill_dates(first: dt.date, last: dt.date, every: str = "month") -> list[dt.date]:
    """The run dates of a backfill from `first` to `last` (both included): every day, or the
    first of every month (each run then describes a month-end, the snapshots' cadence)."""
    if every not in ("day", "month"):
        raise ValueError(f"every must be 'day' or 'month', not {every!r}")
    if every == "day":
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    day = first if first.day == 1 else (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    out = []
    while day <= last:
        out.append(day)
        day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out


def _dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    settings = get_settings()
    bag = DagBag(dag_folder=str(settings.project_dir / "dags"))
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    return bag.get_dag(dag_id)


def dag_test(dag_id: str, run_date: dt.date, dag=None) -> str:
    """Run one DAG in-process with dag.test() (no scheduler); return the run's final state."""
    import pendulum

    dag = dag or _dag(dag_id)
    logical = pendulum.datetime(run_date.year, run_date.month, run_date.day, tz="UTC")
    if dag.start_date is not None and logical < dag.start_date:
        refuse_before_start(dag_id, run_date, dag.start_date.date())
    run = dag.test(logical_date=logical)
    return str(run.state)


def dag_backfill(dag_id: str, first: dt.date, last: dt.date, every: str = "month") -> dict:
    """Run the DAG with dag.test() for each backfill date in turn, oldest first, and stop at
    the first run that does not succeed; return each date's state. Without a scheduler this
    is what `airflow backfill create` does with one."""
    dag = _dag(dag_id)
    states: dict[str, str] = {}
    for day in backfill_dates(first, last, every):
        states[day.isoformat()] = state = dag_test(dag_id, day, dag)
        print(f"{dag_id} {day}: {state}")
        if state != "success":
            break
    return states
