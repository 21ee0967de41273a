"""`portrait warehouse up|down`: the local PostgreSQL warehouse (.local/pg)."""

from __future__ import annotations

import typer

app = typer.Typer(help="The local PostgreSQL warehouse (.local/pg).", no_args_is_help=True)


@app.command("up")
def up() -> None:
    """Start the private cluster (or check PORTRAIT_WAREHOUSE_URL) and print its URL."""
    from portrait.local.services import ensure_warehouse
    from portrait.settings import get_settings

    typer.echo(ensure_warehouse(get_settings()))


@app.command("down")
def down() -> None:
    """Stop the private cluster."""
    from portrait.local.services import local_cluster
    from portrait.settings import get_settings

    settings = get_settings()
    if settings.uses_private_cluster:
        local_cluster(settings).stop()
