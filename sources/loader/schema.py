"""The raw schema: the bookkeeping DDL (``schema.sql``) and one typed table per contract table.

The raw tables' bookkeeping columns, their defaults and the row slots that let batches COPY
into one table at the same time are defined here; the loader's other modules read them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg
from psycopg import sql

from sources.contract import RAW_SCHEMA, Contract, TableSpec, load_contract, raw_table_name

META_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_batch_id", "text"),
    ("_file", "text"),
    ("_row_number", "bigint"),
    ("_loaded_at", "timestamptz"),
    ("_extracted_at", "timestamptz"),
    ("_extra", "jsonb"),
)

# Defaults of the bookkeeping columns, which the direct COPY leaves to the table. They read
# transaction-local settings the loader sets per batch and per file (set_config(..., true));
# _row_number comes from a per-table sequence reset to 1 before each file. Batches may load
# concurrently (also batches of one source, into the same tables), so each table has
# ROW_SLOTS sequences: a batch claims a free slot with an advisory lock for its transaction
# and its direct COPYs number their rows from that slot's sequence (see _row_number_default).
META_DEFAULTS: dict[str, str] = {
    "_batch_id": "raw._setting('portrait.batch_id')",
    "_file": "raw._setting('portrait.file')",
    "_loaded_at": "now()",
    "_extracted_at": "raw._setting_ts('portrait.extracted_at')",
}
DIRECT_TRIGGER = "_portrait_check_direct_load"
ROW_SLOTS = 4  # batches that can COPY into one raw table at the same time
ROW_SLOT_LOCK = "portrait.raw.row_slot"  # advisory lock (hashtext(this), slot) of a batch


def _row_seq(table: str, slot: int = 0) -> str:
    """Name (in schema raw) of the sequence numbering a raw table's rows within a file, for
    the batches holding row slot ``slot``."""
    return f"{table}__row_number_seq" + (f"_{slot}" if slot else "")


def _row_number_default(table: str) -> sql.Composable:
    """The _row_number default: nextval of the sequence of the batch's row slot. The setting
    is read by an immutable function, so the CASE folds to one nextval when COPY plans its
    defaults; outside a load (no setting) it is slot 0's sequence."""
    arms = sql.SQL(" ").join(
        sql.SQL("when {} then nextval({})").format(
            sql.Literal(str(slot)), sql.Literal(f"{RAW_SCHEMA}.{_row_seq(table, slot)}")
        )
        for slot in range(1, ROW_SLOTS)
    )
    return sql.SQL("case raw._setting('portrait.row_slot') {} else nextval({}) end").format(
        arms, sql.Literal(f"{RAW_SCHEMA}.{_row_seq(table)}")
    )


_BOOKKEEPING_DDL = (Path(__file__).resolve().parent / "schema.sql").read_text(encoding="utf-8")


def ensure_raw_schema(conn: psycopg.Connection, contract: Contract | None = None) -> None:
    """Create schema raw, the bookkeeping tables and one table per contract table.

    Columns the contract gained since the table was created are added (never dropped).
    The schema's comment records a fingerprint of what was ensured last; when it matches
    and every table is there, nothing is done (one catalogue query instead of the DDL).
    """
    contract = contract or load_contract()
    names = [
        f"{RAW_SCHEMA}.{raw_table_name(src.name, tab.name)}"
        for src in contract.sources
        for tab in src.tables
    ]
    fingerprint = (
        "portrait raw schema "
        + hashlib.sha256(
            repr(
                (
                    _BOOKKEEPING_DDL,
                    META_COLUMNS,
                    META_DEFAULTS,
                    DIRECT_TRIGGER,
                    ROW_SLOTS,
                    contract.sources,
                )
            ).encode()
        ).hexdigest()[:16]
    )
    with conn.transaction():
        current = conn.execute(
            "select obj_description(n.oid, 'pg_namespace') = %s "
            "and not exists (select from unnest(%s::text[]) t where to_regclass(t) is null) "
            "from pg_namespace n where n.nspname = %s",
            (fingerprint, names, RAW_SCHEMA),
        ).fetchone()
    if current and current[0]:
        return
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('portrait.raw.ddl'))")
        conn.execute(_BOOKKEEPING_DDL)
        conn.execute(
            sql.SQL("comment on schema {} is {}").format(
                sql.Identifier(RAW_SCHEMA), sql.Literal(fingerprint)
            )
        )
        existing: dict[str, dict[str, str | None]] = {}
        for tname, cname, default in conn.execute(
            "select table_name, column_name, column_default from information_schema.columns "
            "where table_schema = %s",
            (RAW_SCHEMA,),
        ).fetchall():
            existing.setdefault(tname, {})[cname] = default
        triggers = {
            r[0]
            for r in conn.execute(
                "select c.relname from pg_trigger t join pg_class c on c.oid = t.tgrelid "
                "join pg_namespace n on n.oid = c.relnamespace "
                "where n.nspname = %s and t.tgname = %s",
                (RAW_SCHEMA, DIRECT_TRIGGER),
            ).fetchall()
        }
        for src in contract.sources:
            for tab in src.tables:
                _ensure_raw_table(conn, raw_table_name(src.name, tab.name), tab, existing, triggers)


def _ensure_raw_table(
    conn: psycopg.Connection,
    name: str,
    tab: TableSpec,
    existing: dict[str, dict[str, str | None]],
    triggers: set[str],
) -> None:
    """Create one raw table, or add the columns, defaults and trigger it lacks."""
    Id, SQL = sql.Identifier, sql.SQL
    cols = [(c.name, c.pg_type) for c in tab.columns] + list(META_COLUMNS)
    ident = Id(RAW_SCHEMA, name)
    have = existing.get(name)
    if have is None:
        conn.execute(
            SQL("create table {} ({})").format(
                ident, SQL(", ").join(SQL("{} {}").format(Id(c), SQL(t)) for c, t in cols)
            )
        )
        have = {}
    for c, t in cols:
        if c not in have:
            if name in existing:
                conn.execute(SQL("alter table {} add column {} {}").format(ident, Id(c), SQL(t)))
            have[c] = None
    for c, expr in META_DEFAULTS.items():
        if have.get(c) is None:
            conn.execute(
                SQL("alter table {} alter column {} set default {}").format(ident, Id(c), SQL(expr))
            )
    if "portrait.row_slot" not in (have.get("_row_number") or ""):
        # New table, or one from before row slots (its slot 0 sequence is kept).
        for slot in range(ROW_SLOTS):
            conn.execute(
                SQL("create sequence if not exists {} cache 1000 owned by {}.{}").format(
                    Id(RAW_SCHEMA, _row_seq(name, slot)), ident, Id("_row_number")
                )
            )
        conn.execute(
            SQL("alter table {} alter column _row_number set default {}").format(
                ident, _row_number_default(name)
            )
        )
    if name not in triggers:
        conn.execute(
            SQL(
                "create trigger {} after insert on {} referencing new table as new_rows "
                "for each statement execute function raw._check_direct_load()"
            ).format(Id(DIRECT_TRIGGER), ident)
        )
