"""`portrait ui up|down`: Airflow UI, MLflow UI and dbt docs on localhost."""

from __future__ import annotations

import typer

app = typer.Typer(help="Airflow UI, MLflow UI and dbt docs on localhost.", no_args_is_help=True)


@app.command("up")
def up() -> None:
    """Start the three UIs in the background and print their URLs and where
    the admin password is kept (a file only you can read)."""
    from portrait.local import runner, ui
    from portrait.local.services import ensure_warehouse
    from portrait.settings import get_settings

    settings = get_settings()
    runner.apply_env(settings)
    ensure_warehouse(settings)
    runner.dbt_parse(settings)
    runner.airflow_migrate(settings)
    typer.echo(ui.up(settings))


@app.command("down")
def down() -> None:
    """Stop the UIs."""
    from portrait.local import ui
    from portrait.settings import get_settings

    typer.echo(f"stopped: {', '.join(ui.down(get_settings())) or 'nothing running'}")
