"""`portrait contract doc`: keep docs/landing-contract.md's tables in sync with the contract."""

from __future__ import annotations

import typer

app = typer.Typer(help="The landing contract (sources/contract.yml).", no_args_is_help=True)


@app.command("doc")
def doc() -> None:
    """Regenerate the contract tables in docs/landing-contract.md."""
    from sources.contract import DOC_PATH, write_doc

    typer.echo(f"{DOC_PATH}: {'updated' if write_doc() else 'already in sync'}")
