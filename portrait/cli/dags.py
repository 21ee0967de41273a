"""`portrait dags test DAG_ID DATE`: one DAG run in-process with dag.test() (no scheduler);
`portrait dags backfill DAG_ID FROM TO`: one such run per date of a range."""

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


@app.command("backfill")
def backfill(
    dag_id: str,
    first: str = typer.Argument(..., help="First run date, YYYY-MM-DD"),
    last: str = typer.Argument(..., help="Last run date, YYYY-MM-DD"),
    every: str = typer.Option("month", help="'month' (the first of each month) or 'day'"),
) -> None:
    """Run DAG_ID with dag.test() for every date from FIRST to LAST, oldest first; stop and
    exit 1 at the first run that does not succeed (a day the data does not cover says why)."""
    from portrait.local.runner import dag_backfill

    states = dag_backfill(dag_id, dt.date.fromisoformat(first), dt.date.fromisoformat(last), every)
    ok = bool(states) and all(state == "success" for state in states.values())
    typer.echo(f"{dag_id} backfill: {len(states)} run(s), {'all succeeded' if ok else 'stopped'}")
    raise typer.Exit(0 if ok else 1)
