"""`portrait`: the command line of every step, usable without Airflow."""

from __future__ import annotations

import shlex
import time

import typer

from models_ml.cli import app as models_app
from sources.cli import load, simulate

app = typer.Typer(
    help="portrait — customer portraits for B2B advanced-materials companies.", no_args_is_help=True
)
app.command()(simulate)
app.command()(load)
app.add_typer(models_app, name="models")

warehouse_app = typer.Typer(
    help="The local PostgreSQL warehouse (.local/pg).", no_args_is_help=True
)
ui_app = typer.Typer(help="Airflow UI, MLflow UI and dbt docs on localhost.", no_args_is_help=True)
app.add_typer(warehouse_app, name="warehouse")
app.add_typer(ui_app, name="ui")


@app.command()
def env() -> None:
    """Print the environment derived from the settings (eval "$(portrait env)")."""
    from portrait.settings import get_settings

    for key, value in get_settings().service_env().items():
        typer.echo(f"export {key}={shlex.quote(value)}")


@warehouse_app.command("up")
def warehouse_up() -> None:
    """Start the private cluster (or check PORTRAIT_WAREHOUSE_URL) and print its URL."""
    from portrait.services import ensure_warehouse
    from portrait.settings import get_settings

    typer.echo(ensure_warehouse(get_settings()))


@warehouse_app.command("down")
def warehouse_down() -> None:
    """Stop the private cluster."""
    from portrait.services import local_cluster
    from portrait.settings import get_settings

    settings = get_settings()
    if settings.uses_private_cluster:
        local_cluster(settings).stop()


@ui_app.command("up")
def ui_up() -> None:
    """Start the three UIs in the background and print their URLs and the admin password."""
    from portrait import runner, ui
    from portrait.services import ensure_warehouse
    from portrait.settings import get_settings

    settings = get_settings()
    runner.apply_env(settings)
    ensure_warehouse(settings)
    runner.dbt_parse(settings)
    runner.airflow_migrate(settings)
    typer.echo(ui.up(settings))


@ui_app.command("down")
def ui_down() -> None:
    """Stop the UIs."""
    from portrait import ui
    from portrait.settings import get_settings

    typer.echo(f"stopped: {', '.join(ui.down(get_settings())) or 'nothing running'}")


@app.command()
def summary() -> None:
    """Rows per schema, model metrics, drift verdict, where to look next."""
    from portrait import runner
    from portrait.services import ensure_warehouse
    from portrait.settings import get_settings
    from portrait.summary import render

    settings = get_settings()
    runner.apply_env(settings)
    typer.echo(render(settings, ensure_warehouse(settings)))


@app.command()
def demo(
    scale: float = typer.Option(
        None, help="World scale (default PORTRAIT_SCALE, 1 ≈ 100 companies)"
    ),
    seed: int = typer.Option(None, help="World seed (default PORTRAIT_SEED)"),
) -> None:
    """Start the warehouse, simulate a company, run portrait_train then portrait_daily with
    `airflow dags test`, and print the summary."""
    from portrait import runner
    from portrait.services import ensure_warehouse
    from portrait.settings import get_settings
    from portrait.summary import render
    from sources.simulator import simulate as run_simulation

    started = time.monotonic()
    settings = get_settings()
    runner.apply_env(settings)
    typer.echo("- warehouse")
    dsn = ensure_warehouse(settings)
    typer.echo(f"- simulate the world into {settings.data_dir}")
    run_simulation(
        settings.data_dir,
        scale=settings.scale if scale is None else scale,
        seed=settings.seed if seed is None else seed,
        progress=True,
    )
    typer.echo("- dbt parse (manifest for Cosmos) and airflow db migrate")
    runner.dbt_parse(settings)
    runner.airflow_migrate(settings)
    run_date = runner.world_run_date(settings.landing_dir)
    runner.dags_test("portrait_train", run_date, settings)
    runner.dags_test("portrait_daily", run_date, settings)
    typer.echo(render(settings, dsn))
    typer.echo(f"demo finished in {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    app()
