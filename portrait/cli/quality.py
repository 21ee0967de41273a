"""`portrait quality`: the demo world's CIDs and models against the simulator's truth."""

from __future__ import annotations

from pathlib import Path

import typer


def quality(
    truth: Path = typer.Option(None, help="Simulator truth folder; default .local/data/truth"),
    dsn: str = typer.Option(None, help="Warehouse DSN; default from the settings"),
    reports: Path = typer.Option(None, help="Reports folder; default reports/"),
    worlds: bool = typer.Option(
        False,
        help="Also build the quality worlds in scratch databases beside the warehouse's "
        "(`make quality` does): the placeholder and foreign identity worlds (about 2 min) and "
        "the three model worlds of 1,000 companies (default, noisy, short: about 4 min each "
        "the first time, reused while the dbt project and sources are unchanged), and report "
        "their figures",
    ),
) -> None:
    """Pairwise and B-cubed identity figures (Splink beside ours) on the demo world, the
    contacts and the quality worlds (placeholder, foreign), and each model against the
    oracle (on the model worlds with --worlds, every policy beside LightGBM), into
    reports/quality.json and .md (simulated worlds only: real data has no truth). A target
    that cannot train is listed with the reason; missing tables are named (exit 1; with
    --worlds only the demo's figures are then missing)."""
    from portrait.scorecards import WarehouseNotBuiltError, run
    from portrait.settings import get_settings

    settings = get_settings()
    if worlds and dsn is None:
        from portrait.local.services import ensure_warehouse

        ensure_warehouse(settings)  # the worlds need the server, not a demo run
    try:
        run(
            truth or settings.truth_dir,
            # the quality worlds are scratch databases it creates: the migration's login
            dsn or settings.migration_dsn(),
            reports or settings.reports_dir,
            worlds=settings if worlds else None,
        )
    except WarehouseNotBuiltError as exc:
        typer.echo(f"portrait quality: {exc}", err=True)
        raise typer.Exit(1) from None
