"""`portrait models ...`: every ML step without Airflow."""

from __future__ import annotations

import datetime as dt
import json

import typer

app = typer.Typer(
    help="Train, promote, roll back, score, segment and watch the customer models.",
    no_args_is_help=True,
)


def _echo(obj) -> None:
    typer.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise typer.BadParameter(
            f"{shown!r} is not a date (YYYY-MM-DD)", param_hint="--as-of-date"
        ) from None


@app.command()
def train(task: str, seed: int = 42) -> None:
    """Train TASK on the feature snapshots and register the served policy as challenger:
    LightGBM when it beats every baseline on the test window, else the best baseline."""
    from models_ml.train import UntrainableTargetError, train_task

    try:
        _echo(train_task(task, seed=seed).to_dict())
    except UntrainableTargetError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


@app.command()
def promote(task: str) -> None:
    """Promote TASK's challenger to champion if it passes the gate."""
    from models_ml.register import promote as do_promote

    _echo(do_promote(task).to_dict())


@app.command()
def rollback(task: str) -> None:
    """Make TASK's previous champion the champion again."""
    from models_ml.register import rollback as do_rollback

    _echo(do_rollback(task).to_dict())


@app.command()
def score(
    task: str, as_of_date: str = typer.Option(None, help="YYYY-MM-DD; default: latest snapshot")
) -> None:
    """Score every customer of a snapshot with TASK's champion."""
    from models_ml.score import score_task

    _echo(score_task(task, _date(as_of_date)).to_dict())


@app.command()
def drift(
    task: str, as_of_date: str = typer.Option(None, help="YYYY-MM-DD; default: latest snapshot")
) -> None:
    """Check feature and score drift of a snapshot against TASK's champion test window."""
    from models_ml.monitor import check_drift

    _echo(check_drift(task, _date(as_of_date)).to_dict())


@app.command()
def segment(
    as_of_date: str = typer.Option(None, help="YYYY-MM-DD; default: latest snapshot"),
    seed: int = 42,
) -> None:
    """Segment a snapshot's customers by behaviour (K-means) into ml.customer_segments."""
    from models_ml.segment import segment_customers

    _echo(segment_customers(_date(as_of_date), seed=seed).to_dict())
