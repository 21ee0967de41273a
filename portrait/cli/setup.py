"""`portrait setup system`: the system packages the warehouse needs (run by `make install`)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Set up what portrait needs from the machine.", no_args_is_help=True)


@app.command("system")
def system() -> None:
    """Install PostgreSQL's pgaudit extension (Debian postgresql-<v>-pgaudit) when missing; a
    fast no-op when it is there."""
    from portrait.local.services import ServiceError, find_pg_bin_dir
    from portrait.local.system import ensure_pgaudit
    from portrait.settings import get_settings

    try:
        bin_dir = find_pg_bin_dir(get_settings().pg_bin_dir)
    except ServiceError as err:
        typer.echo(f"pgaudit: skipped ({err})")
        return
    typer.echo(ensure_pgaudit(bin_dir))
