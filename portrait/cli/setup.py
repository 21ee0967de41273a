"""`portrait setup system`: the system packages the warehouse needs (run by `make install`)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Set up what portrait needs from the machine.", no_args_is_help=True)


@app.command("system")
def system() -> None:
    """Install PostgreSQL's server and contrib (Debian postgresql, postgresql-contrib) and its
    pgaudit extension (postgresql-<v>-pgaudit), Redis (redis-server, the cluster's broker),
    Debian's Chromium (the panel's browser tests) and ECharts (the panel's charts) when missing;
    a fast no-op when they are there."""
    from portrait.local.services import ServiceError, find_pg_bin_dir
    from portrait.local.system import (
        ensure_chromium,
        ensure_echarts,
        ensure_pgaudit,
        ensure_postgres,
        ensure_redis,
    )
    from portrait.settings import get_settings

    settings = get_settings()
    if settings.pg_bin_dir is None:
        typer.echo(ensure_postgres())
    try:
        typer.echo(ensure_pgaudit(find_pg_bin_dir(settings.pg_bin_dir)))
    except ServiceError as err:
        typer.echo(f"pgaudit: skipped ({err})")
    typer.echo(ensure_redis())
    typer.echo(ensure_chromium())
    typer.echo(ensure_echarts(settings.local_dir / "static"))
