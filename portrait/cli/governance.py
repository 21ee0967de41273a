"""`portrait governance catalog` (the PII catalogue of docs/governance.md) and `portrait audit`
(who read clear personal data: pgaudit's log and the service's access rows)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

app = typer.Typer(help="Personal data: classification and its catalogue.", no_args_is_help=True)

DOC = Path("docs") / "governance.md"


@app.command("catalog")
def catalog(
    check: bool = typer.Option(False, help="Fail if the document is not current; write nothing"),
    doc: Path = typer.Option(None, help="The document to update (default docs/governance.md)"),
) -> None:
    """Write the PII catalogue (every column with `meta: {pii: <kind>}` in the dbt YAML) into
    docs/governance.md between its markers."""
    from governance import pii
    from portrait.settings import get_settings

    settings = get_settings()
    path = doc or settings.project_dir / DOC
    columns = pii.documented_columns(settings.dbt_project_dir)
    unclassified = pii.unclassified_by_name(columns)
    if unclassified:
        typer.echo("columns that look personal but carry no meta.pii:", err=True)
        for line in unclassified:
            typer.echo(f"  {line}", err=True)
        raise typer.Exit(1)
    current = path.read_text()
    updated = pii.with_catalogue(current, pii.catalogue_markdown(columns))
    if check:
        if updated != current:
            typer.echo(f"{path} is not current: run `portrait governance catalog`", err=True)
            raise typer.Exit(1)
        typer.echo(f"{path} is current")
        return
    path.write_text(updated)
    typer.echo(f"wrote the catalogue ({len(pii.catalogue(columns))} columns) into {path}")


def _parse_since(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if value[:-1].isdigit() and value[-1] in units:
        return dt.datetime.now(dt.UTC) - dt.timedelta(**{units[value[-1]]: int(value[:-1])})
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as err:
        raise typer.BadParameter(f"{value!r}: give 30m, 12h, 7d or an ISO time") from err
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def audit(
    since: str = typer.Option("7d", help="How far back: 30m, 12h, 7d or an ISO time"),
    user: str = typer.Option(None, help="Only this login"),
    log: Path = typer.Option(
        None,
        help="The server's CSV log (default: the local cluster's .local/pg/log/postgresql.csv)",
    ),
    all_classes: bool = typer.Option(False, "--all", help="Also DDL and role changes"),
) -> None:
    """List recent access to clear personal data: who, when, which relation and columns, the
    statement and the client (pgaudit), and the profile service's access rows."""
    import psycopg

    from governance import audit as audit_log
    from governance import pii
    from portrait.local.services import local_cluster
    from portrait.settings import get_settings

    settings = get_settings()
    if log is None and settings.uses_private_cluster:
        log = local_cluster(settings).audit_log
    personal: dict[str, tuple[str, ...]] = {}
    for c in pii.catalogue(pii.documented_columns(settings.dbt_project_dir)):
        personal.setdefault(c.relation, ())
        personal[c.relation] += (c.column,)
    # portrait_admin is a steward: it reads audit.access_log
    with psycopg.connect(settings.warehouse_dsn("admin")) as conn:
        found = audit_log.recent_access(
            log, conn, since=_parse_since(since), user=user, personal_columns=personal,
            reads_only=not all_classes,
        )  # fmt: skip
    if not found:
        typer.echo("no recorded access" + ("" if log and log.exists() else f" (no log at {log})"))
        return
    for a in found:
        what = a.relation + (f" ({', '.join(a.columns)})" if a.columns else "")
        cids = f" cids={','.join(a.cids)}" if a.cids else ""
        statement = " ".join(a.statement.split())
        typer.echo(
            f"{a.at:%Y-%m-%d %H:%M:%S%z}  {a.login:<20} {a.action:<12} {what}{cids}"
            f"  [{a.client}]  {statement[:160]}"
        )
