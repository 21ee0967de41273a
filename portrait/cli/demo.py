"""`portrait demo`, `portrait summary` and `portrait env`: the single-machine path."""

from __future__ import annotations

import datetime as dt
import shlex
import time

import typer


def env() -> None:
    """Print the environment derived from the settings (eval "$(portrait env)"); passwords stay
    in the pgpass file it names (PGPASSFILE), never on screen."""
    from portrait.local.connect import printable_env
    from portrait.settings import get_settings

    for key, value in printable_env(get_settings()).items():
        typer.echo(f"export {key}={shlex.quote(value)}")


def summary() -> None:
    """Rows per schema, model metrics, drift verdict, where to look next."""
    from portrait.local import runner
    from portrait.local.services import ensure_warehouse
    from portrait.local.summary import render
    from portrait.settings import get_settings

    settings = get_settings()
    runner.apply_env(settings)
    typer.echo(render(settings, ensure_warehouse(settings)))


def demo(
    scale: float = typer.Option(
        None, help="World scale (default PORTRAIT_SCALE, 1 ≈ 100 companies)"
    ),
    seed: int = typer.Option(None, help="World seed (default PORTRAIT_SEED)"),
    start: str = typer.Option(
        None, help="First day of the world's history (YYYY-MM-DD); default the simulator's"
    ),
    months: int = typer.Option(None, help="Months of history; default the simulator's"),
    marketing: bool = typer.Option(
        False,
        help="Simulate campaigns with holdouts too (a marketing export), and run the campaign "
        "evaluation (A/B reports, the uplift model) between two portrait_campaigns runs",
    ),
) -> None:
    """Start the warehouse, simulate a company, run portrait_train, portrait_daily and
    portrait_campaigns with `airflow dags test` for the last day the data covers (the DAGs'
    start date is the first batch's, unless PORTRAIT_START_DATE says otherwise), and print the
    summary."""
    from portrait.local import runner
    from portrait.local.services import ensure_warehouse
    from portrait.local.summary import render
    from portrait.settings import get_settings
    from sources.simulator import simulate as run_simulation

    started = time.monotonic()
    settings = get_settings()
    runner.apply_env(settings)
    typer.echo("- warehouse")
    dsn = ensure_warehouse(settings)
    typer.echo(f"- simulate the world into {settings.data_dir}")
    history = {"start": dt.date.fromisoformat(start)} if start else {}
    run_simulation(
        settings.data_dir,
        scale=settings.scale if scale is None else scale,
        seed=settings.seed if seed is None else seed,
        progress=True,
        **history,
        **({"months": months} if months else {}),
        marketing=marketing,
    )
    first, run_date = runner.world_extraction_days(settings.landing_dir)
    if settings.start_date is None:
        settings = settings.model_copy(update={"start_date": first})
        runner.apply_env(settings)
    typer.echo(
        f"- batches extracted {first}..{run_date}: DAG start date {settings.start_date}, "
        f"run date {run_date}"
    )
    typer.echo("- dbt parse (manifest for Cosmos) and airflow db migrate")
    runner.dbt_parse(settings)
    runner.airflow_migrate(settings)
    runner.dags_test("portrait_train", run_date, settings)
    runner.dags_test("portrait_daily", run_date, settings)
    # what portrait_daily's published marts schedule (dags test does not follow assets)
    runner.dags_test("portrait_campaigns", run_date, settings)
    if marketing:
        runner.dags_test("portrait_campaign_evaluation", run_date, settings)
        runner.dags_test("portrait_campaigns", run_date, settings)
    typer.echo(render(settings, dsn))
    typer.echo(f"demo finished in {time.monotonic() - started:.0f}s")
