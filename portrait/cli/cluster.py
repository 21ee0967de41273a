"""`portrait cluster up|down|status` (make cluster / make cluster-down) and `portrait notify`:
the DAGs on Airflow's CeleryExecutor with a Redis broker and two workers on this machine, and
the event an export job sends when it has landed a batch (docs/scaling.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

app = typer.Typer(
    help="A distributed Airflow on this machine (Celery workers, Redis, Postgres metadata).",
    no_args_is_help=True,
)


def _cluster():
    from portrait.local.cluster import Cluster
    from portrait.settings import get_settings

    return Cluster(get_settings())


@app.command("up")
def up() -> None:
    """Start the private PostgreSQL (if needed), Redis, MLflow, Airflow's API server,
    scheduler, DAG processor and triggerer, and the Celery workers; print the URLs."""
    typer.echo(_cluster().up())


@app.command("down")
def down() -> None:
    """Stop every process `portrait cluster up` started, by the pids it recorded."""
    stopped = _cluster().down()
    typer.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@app.command("status")
def status() -> None:
    """Each process `up` started and whether it is alive."""
    states = _cluster().status()
    if not states:
        typer.echo("not started (make cluster)")
    for name, alive in states.items():
        typer.echo(f"{name:<24} {'running' if alive else 'stopped'}")
    if states and not all(states.values()):
        raise typer.Exit(1)


def notify(
    batch: Path = typer.Argument(..., help="The landed batch folder (landing/<source>/<batch>)."),
    broker_url: str = typer.Option(
        None, envvar="AIRFLOW_CONN_PORTRAIT_BROKER", help="redis://:password@host:port/0"
    ),
) -> None:
    """Tell portrait a batch has landed: publish it on the broker's `portrait.landing` channel,
    which portrait_refresh's asset watcher listens to (the daily run loads it regardless)."""
    from portrait.local.cluster import publish_landing

    url = broker_url or _cluster().broker_url
    batch = batch.resolve()
    if not batch.is_dir():
        raise typer.BadParameter(f"{batch} is not a folder", param_hint="BATCH")
    message = {
        "source": batch.parent.name,
        "batch": batch.name,
        "path": str(batch),
        "landed_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    listeners = publish_landing(url, message)
    typer.echo(f"published {batch.parent.name}/{batch.name} to {listeners} listener(s)")
    if listeners == 0:
        typer.echo("nobody listened: is the cluster up with portrait_refresh unpaused?", err=True)
