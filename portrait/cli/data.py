"""`portrait simulate` and `portrait load`: the source side without Airflow (the CLI shell
starts the warehouse; `sources` only loads into the DSN it is given)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer


def simulate(
    out: Path = typer.Option(
        None, help="Output folder (landing/ and truth/ go inside); default .local/data"
    ),
    scale: float = typer.Option(
        None, help="Scale factor: 1 ≈ 100 companies; default PORTRAIT_SCALE"
    ),
    seed: int = typer.Option(None, help="Random seed; same seed, same bytes"),
    identity_noise: float = typer.Option(0.15, help="Share of messy identity variants (0 = clean)"),
    months: int = typer.Option(36, help="Months of history"),
    start: str = typer.Option("2023-07-01", help="First day of history (YYYY-MM-DD)"),
    source: list[str] = typer.Option(
        None, help="Only these sources (repeatable), e.g. --source erp"
    ),
    oracle_replays: int = typer.Option(
        None, help="Replicas of the future behind each oracle probability; default 256"
    ),
    placeholder_share: float = typer.Option(
        0.0, help="Share of identity records with a shared placeholder phone, address or e-mail"
    ),
    foreign_share: float = typer.Option(0.0, help="Share of companies abroad (0 = none)"),
    free_text: bool = typer.Option(
        True,
        help="Write the free-text columns (notes, ticket descriptions, feedback); "
        "--no-free-text leaves them empty, every other byte the same",
    ),
    marketing: bool = typer.Option(
        False,
        help="Run marketing campaigns with a known effect on the orders and write the "
        "marketing source (off: no marketing folder, every other byte the same)",
    ),
    progress: bool = typer.Option(True, help="Show a progress bar"),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON line"),
) -> None:
    """Simulate an advanced-materials company's source exports, with the ground truth."""
    from portrait.settings import get_settings
    from sources.simulator import simulate as run_simulation

    settings = get_settings()
    summary = run_simulation(
        out or settings.data_dir,
        scale=settings.scale if scale is None else scale,
        seed=settings.seed if seed is None else seed,
        identity_noise=identity_noise,
        months=months,
        start=dt.date.fromisoformat(start),
        sources=source or None,
        progress=progress,
        placeholder_share=placeholder_share,
        foreign_share=foreign_share,
        free_text=free_text,
        marketing=marketing,
        **({} if oracle_replays is None else {"oracle_replays": oracle_replays}),
    )
    typer.echo(json.dumps(summary, ensure_ascii=False) if as_json else summary)


def load(
    landing: Path = typer.Option(None, help="Landing root; default .local/data/landing"),
    source: list[str] = typer.Option(None, help="Only these sources (repeatable)"),
    batch: list[str] = typer.Option(None, help="Only these batch ids (repeatable)"),
) -> None:
    """Load landing batches into raw.* (one transaction per batch; bad rows quarantined).

    Exits with 1 when a batch failed: the report first, then one line per failed batch.
    """
    from portrait.local.services import ensure_warehouse
    from portrait.settings import get_settings
    from sources.loader import LoadError, load_landing

    settings = get_settings()
    dsn = ensure_warehouse(settings, "loader")
    try:
        report = load_landing(
            dsn, landing or settings.landing_dir, sources=source or None, batches=batch or None
        )
    except LoadError as exc:
        if exc.report is None:  # nothing was loaded (no landing root, unknown source, ...)
            typer.echo(f"failed: {' '.join(str(exc).split())}", err=True)
            raise typer.Exit(1) from None
        typer.echo(exc.report.summary())
        for line in exc.report.failures():
            typer.echo(line)
        raise typer.Exit(1) from None
    typer.echo(report.summary())
