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


UPLIFT = "uplift"  # models_ml.uplift_task: who to target next (docs/marketing.md)


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
    LightGBM when it beats every baseline on the test window, else the best baseline.
    TASK `uplift`: the uplift model on the closed campaigns, registered only if it beats
    targeting everyone and by purchase score."""
    from models_ml.train import UntrainableTargetError, train_task

    try:
        if task == UPLIFT:
            from models_ml.uplift_task import train_uplift

            _echo(train_uplift(seed=seed))
            return
        _echo(train_task(task, seed=seed).to_dict())
    except UntrainableTargetError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


@app.command()
def promote(task: str) -> None:
    """Promote TASK's challenger to champion if it passes the gate."""
    from models_ml.register import promote as do_promote
    from models_ml.uplift_task import promote_uplift

    _echo((promote_uplift() if task == UPLIFT else do_promote(task)).to_dict())


@app.command()
def rollback(task: str) -> None:
    """Make TASK's previous champion the champion again."""
    from models_ml.register import rollback as do_rollback
    from models_ml.register import rollback_model
    from models_ml.uplift_task import MODEL_NAME

    decision = rollback_model(MODEL_NAME, UPLIFT) if task == UPLIFT else do_rollback(task)
    _echo(decision.to_dict())


@app.command()
def score(
    task: str, as_of_date: str = typer.Option(None, help="YYYY-MM-DD; default: latest snapshot")
) -> None:
    """Score every customer of a snapshot with TASK's champion (`uplift`: once per campaign
    goal, into ml.uplift_scores)."""
    from models_ml.score import score_task

    if task == UPLIFT:
        from models_ml.uplift_task import score_uplift

        _echo(score_uplift(_date(as_of_date)))
        return
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
