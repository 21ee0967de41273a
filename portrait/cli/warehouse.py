"""`portrait warehouse up|down`: the local PostgreSQL warehouse (.local/pg)."""

from __future__ import annotations

import typer

app = typer.Typer(help="The local PostgreSQL warehouse (.local/pg).", no_args_is_help=True)


@app.command("up")
def up() -> None:
    """Start the private cluster (or check PORTRAIT_WAREHOUSE_URL) and print how to connect."""
    from portrait.local.connect import connect_hint, without_password
    from portrait.local.services import ensure_warehouse
    from portrait.settings import get_settings

    settings = get_settings()
    dsn = ensure_warehouse(settings)
    typer.echo(f"{without_password(dsn)}\n  connect: {connect_hint(settings, dsn)}")


@app.command("down")
def down() -> None:
    """Stop the private cluster."""
    from portrait.local.services import local_cluster
    from portrait.settings import get_settings

    settings = get_settings()
    if settings.uses_private_cluster:
        local_cluster(settings).stop()
