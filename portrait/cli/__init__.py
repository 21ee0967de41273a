"""`portrait`: the command line of every step, usable without Airflow (one Typer group per file)."""

from __future__ import annotations

import typer

from portrait.cli import (
    audience,
    cluster,
    contract,
    dags,
    data,
    demo,
    forget,
    governance,
    identity,
    models,
    quality,
    service,
    setup,
    ui,
    warehouse,
)

app = typer.Typer(
    help="portrait — customer portraits for B2B advanced-materials companies.", no_args_is_help=True
)


@app.callback()
def _settings_first() -> None:
    """Refuse to start on settings that cannot run (e.g. production without its secrets)."""
    from portrait.settings import SettingsError, get_settings

    try:
        get_settings()
    except SettingsError as err:
        typer.echo(f"portrait: {err}", err=True)
        raise typer.Exit(2) from None


app.command()(data.simulate)
app.command()(data.load)
app.command()(demo.demo)
app.command()(demo.summary)
app.command()(demo.env)
app.command()(quality.quality)
app.command()(governance.audit)
app.command()(forget.forget)
app.command()(service.serve)
app.add_typer(models.app, name="models")
app.add_typer(warehouse.app, name="warehouse")
app.add_typer(ui.app, name="ui")
app.add_typer(dags.app, name="dags")
app.add_typer(contract.app, name="contract")
app.add_typer(identity.app, name="identity")
app.add_typer(governance.app, name="governance")
app.add_typer(setup.app, name="setup")
app.add_typer(service.users, name="user")
app.add_typer(service.tokens, name="token")
app.add_typer(audience.app, name="audience")
app.add_typer(cluster.app, name="cluster")
app.command()(cluster.notify)
