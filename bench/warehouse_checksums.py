"""Fingerprint a warehouse: rows per table and, per column, the md5 of its sorted values.

Two runs of the pipeline on the same world must give the same fingerprint everywhere but the
columns that hold wall-clock times, run ids or paths (``VOLATILE``). Per-column sorted hashes
do not depend on row order, and a difference names the table and column it is in.

    python -m bench.warehouse_checksums snapshot DSN OUT.json
    python -m bench.warehouse_checksums diff BEFORE.json AFTER.json
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import typer
from psycopg import sql

SCHEMAS = ("raw", "staging", "identity", "features", "tags", "ml", "monitoring", "marts")
VOLATILE = frozenset(
    {
        "_loaded_at",
        "loaded_at",
        "first_loaded_at",
        "cid_assigned_at",
        "cid_changed_at",
        "run_id",
        "model_run_id",
        "scored_at",
        "computed_at",
        "report_path",
        "recorded_at",  # mart_customer_record_versions: now() of the build that found a version
    }
)

app = typer.Typer(help=__doc__.splitlines()[0], no_args_is_help=True)


def fingerprint(dsn: str) -> dict[str, dict]:
    """{"schema.table": {"rows": n, "columns": {column: md5 of its sorted values}}}."""
    out: dict[str, dict] = {}
    with psycopg.connect(dsn) as conn:
        rels = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema = any(%s) order by 1, 2",
            (list(SCHEMAS),),
        ).fetchall()
        for schema, table in rels:
            rel = sql.Identifier(schema, table)
            (rows,) = conn.execute(sql.SQL("select count(*) from {}").format(rel)).fetchone()
            columns = [
                name
                for (name,) in conn.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = %s and table_name = %s order by ordinal_position",
                    (schema, table),
                )
            ]
            sums = {}
            for name in columns:
                value = sql.SQL("coalesce(({})::text, '<null>')").format(sql.Identifier(name))
                query = sql.SQL(
                    "select md5(coalesce(string_agg({v}, '|' order by {v}), '')) from {r}"
                ).format(v=value, r=rel)
                (sums[name],) = conn.execute(query).fetchone()
            out[f"{schema}.{table}"] = {"rows": int(rows), "columns": sums}
    return out


def differences(before: dict, after: dict) -> list[str]:
    """One line per table whose rows or non-volatile columns differ."""
    lines = []
    for table in sorted(set(before) | set(after)):
        if table not in before or table not in after:
            lines.append(f"{table}: only {'after' if table in after else 'before'}")
            continue
        b, a = before[table], after[table]
        if b["rows"] != a["rows"]:
            lines.append(f"{table}: rows {b['rows']} -> {a['rows']}")
        cols = sorted(
            c
            for c in set(b["columns"]) | set(a["columns"])
            if c not in VOLATILE and b["columns"].get(c) != a["columns"].get(c)
        )
        if cols:
            lines.append(f"{table}: columns differ: {', '.join(cols)}")
    return lines


@app.command()
def snapshot(dsn: str, out: Path) -> None:
    """Write the warehouse's fingerprint to OUT."""
    out.write_text(json.dumps(fingerprint(dsn), indent=1))


@app.command()
def diff(before: Path, after: Path) -> None:
    """Compare two fingerprints; exit 1 when they differ outside the volatile columns."""
    b, a = json.loads(before.read_text()), json.loads(after.read_text())
    lines = differences(b, a)
    typer.echo("\n".join(lines) if lines else f"identical: {len(a)} tables")
    raise typer.Exit(1 if lines else 0)


if __name__ == "__main__":
    app()
