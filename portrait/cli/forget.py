"""`portrait forget --contact <id|phone|email>`: erase a person's personal data on request
(PIPL art. 47) from raw through marts, keep the company's business facts, log the erasure."""

from __future__ import annotations

import getpass
import json

import typer

# A person's own id in the sources: the CRM contact.
CONTACT_ID = ("crm", "contacts", "contact_id")


def dbt_selectors(tables: list[str]) -> list[str]:
    """dbt selectors of everything downstream of the given raw tables (their sources)."""
    return [f"source:{t.split('__', 1)[0]}.{t}+" for t in sorted(tables)]


def _reread_texts(settings, contract, touched: list[str]) -> None:
    """When free text changed (an erased phone or e-mail written in it), the text stage reads
    the changed texts again (dropping the old versions from texts.*) and dbt rebuilds what
    reads them: features, tags, evidence, complaint clusters."""
    from portrait import db
    from portrait.local import runner
    from sources.contract import raw_table_name

    free_text = {
        raw_table_name(s.name, t.name) for s in contract.sources for t in s.tables
        if t.free_text_columns
    }  # fmt: skip
    if not free_text & set(touched):
        return
    with db.connect(settings.migration_dsn()) as conn:
        if not db.relation_exists(conn, "texts", "documents"):
            return  # the text stage never ran here
    from texts.stage import run as text_stage

    result = text_stage(settings.warehouse_dsn("ml"))
    typer.echo(
        f"text stage: {result.documents_new} texts read again, "
        f"{result.documents_deleted} old versions dropped; rebuilding what reads them:"
    )
    runner.run(
        [str(runner.BIN / "dbt"), "build", "--select", "source:texts+"],
        cwd=settings.dbt_project_dir,
    )


def forget(
    contact: str = typer.Option(..., help="The person: a CRM contact id, a phone or an e-mail"),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would change; change nothing"),
    rebuild: bool = typer.Option(
        True, help="Rebuild everything downstream of the changed raw tables with dbt"
    ),
) -> None:
    """Erase a person's names, phones and e-mails from raw (and from any later load), then
    rebuild downstream so they are gone through marts; orders, invoices, tickets stay."""
    from governance.erasure import (
        ErasureError,
        PersonalColumn,
        ensure_erasure_schema,
        find_person,
        finish_erasure,
        record_erasure,
    )
    from portrait import db
    from portrait.local import runner
    from portrait.local.services import ensure_warehouse
    from portrait.settings import get_settings
    from sources.contract import load_contract, raw_table_name
    from sources.loader import apply_erasures

    settings = get_settings()
    ensure_warehouse(settings)
    # erasing rewrites raw (the loader's) and writes governance's log: a data-protection task for
    # the migration login (the private cluster's bootstrap superuser, or
    # PORTRAIT_WAREHOUSE_URL_MIGRATION)
    dsn = settings.migration_dsn()
    contract = load_contract()
    columns = [PersonalColumn(c.raw_table, c.column, c.kind) for c in contract.pii_columns()]
    id_table = (raw_table_name(CONTACT_ID[0], CONTACT_ID[1]), CONTACT_ID[2])
    with db.connect(dsn) as conn:
        ensure_erasure_schema(conn)
        try:
            person = find_person(conn, contact, columns, id_table)
        except ErasureError as exc:
            typer.echo(f"failed: {exc}", err=True)
            raise typer.Exit(1) from None
        shown = json.dumps(person.shown(), ensure_ascii=False)
        typer.echo(f"person ({person.request_kind}): {person.count} identifiers {shown}")
        for table, n in sorted(person.rows.items()):
            typer.echo(f"  raw.{table}: {n} rows hold one")
        if dry_run:
            selectors = " ".join(dbt_selectors(list(person.rows)))
            typer.echo(f"dry run: nothing changed; would rebuild {selectors}")
            return
        erasure_id = record_erasure(conn, person, os_user=getpass.getuser())
        with conn.transaction():
            changed = apply_erasures(conn, contract)
        typer.echo(f"erasure {erasure_id}: {sum(changed.values())} raw rows changed")
        finish_erasure(conn, erasure_id, changed, rebuilt=False)
    touched = [t for t in changed if not t.startswith("_")]
    if not rebuild or not touched:
        return
    typer.echo("rebuilding downstream with dbt (progress below):")
    runner.apply_env(settings)
    runner.run(
        [str(runner.BIN / "dbt"), "build", "--select", *dbt_selectors(touched)],
        cwd=settings.dbt_project_dir,
    )
    _reread_texts(settings, contract, touched)
    with db.connect(dsn) as conn:
        finish_erasure(conn, erasure_id, changed, rebuilt=True)
    typer.echo(f"erasure {erasure_id}: done, downstream rebuilt")
