"""`portrait dags test DAG_ID DATE`: one DAG run in-process with dag.test() (no scheduler)."""

from __future__ import annotations

import datetime as dt

import typer

app = typer.Typer(help="Run portrait's DAGs without a scheduler.", no_args_is_help=True)


@app.command("test")
def test(dag_id: str, run_date: str = typer.Argument(..., help="YYYY-MM-DD")) -> None:
    """Run DAG_ID for RUN_DATE with dag.test(); exit 1 unless the run succeeds."""
    from portrait.local.runner import dag_test

    state = dag_test(dag_id, dt.date.fromisoformat(run_date))
    typer.echo(f"{dag_id} finished: {state}")
    raise typer.Exit(0 if state == "success" else 1)
