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
        help="Also build the placeholder and foreign quality worlds in scratch databases "
        "beside the warehouse's (about 2 minutes; `make quality` does) and report their "
        "identity figures",
    ),
) -> None:
    """Pairwise and B-cubed identity figures (Splink beside ours) on the demo world, the
    contacts and the quality worlds (placeholder, foreign), and each model against the
    oracle, into reports/quality.json and .md (simulated worlds only: real data has no truth).
    A target that cannot train is listed with the reason; missing tables are named (exit 1)."""
    from portrait.scorecards import WarehouseNotBuiltError, run
    from portrait.settings import get_settings

    settings = get_settings()
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
