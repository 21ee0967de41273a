"""`portrait warehouse up|down`: the local PostgreSQL warehouse (.local/pg)."""

from __future__ import annotations

import typer

app = typer.Typer(help="The local PostgreSQL warehouse (.local/pg).", no_args_is_help=True)


@app.command("up")
def up() -> None:
    """Start the private cluster (or check PORTRAIT_WAREHOUSE_URL), run the role migration
    and say how to connect (never the password)."""
    from portrait.local.connect import connect_hint
    from portrait.local.services import ensure_warehouse
    from portrait.settings import COMPONENT_LOGINS, get_settings

    settings = get_settings()
    ensure_warehouse(settings)
    parts = settings.warehouse_parts("analyst")
    typer.echo(
        f"warehouse up: host {parts['host']} port {parts['port']} database {parts['dbname']}, "
        "roles and grants in place"
    )
    typer.echo(f"connect: {connect_hint(settings)}  (the analyst's login)")
    if settings.uses_private_cluster:
        typer.echo(
            f"logins: {', '.join(COMPONENT_LOGINS.values())} (service portrait_<component>; "
            f"passwords in {settings.secrets_dir}/<login>, mode 0600)"
        )


@app.command("down")
def down() -> None:
    """Stop the private cluster."""
    from portrait.local.services import local_cluster
    from portrait.settings import get_settings

    settings = get_settings()
    if settings.uses_private_cluster:
        local_cluster(settings).stop()
