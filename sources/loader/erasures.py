"""Erasures on load: personal values of people who asked to be forgotten stay out of raw.

``portrait forget`` keeps the salted hashes of a person's identifiers in
``governance.erased_identifiers`` (governance/erasure.sql; the loader reads the salt and
those hashes, nothing else of governance); every load nulls, in the rows it
loads, each personal column (contract ``pii``) whose value hashes to one of them, and blanks
the quarantined lines and extra columns that hold one, and replaces the erased phone numbers
and e-mail addresses written in free text (contract ``free_text``; names are left: a name is
a word too). ``forget`` runs the same step over every row of raw. Nothing happens where no
erasure was ever recorded.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from sources.contract import RAW_SCHEMA, Contract, TableSpec, raw_table_name

# Kinds of personal value an erasure identifies a person by (addresses are the company's).
ERASED_KINDS = ("name", "phone", "email")
ERASED_LINE = "[erased on request]"
_HASH_FUNCTION = "governance.erasure_digest(text,text,text)"
_TEXT_FUNCTION = "governance.erased_in_text(text,text)"


def erasures_recorded(conn: psycopg.Connection) -> bool:
    """True if some erasure was recorded (then loads must apply them)."""
    present = conn.execute(
        "select to_regprocedure(%s) is not null and to_regclass(%s) is not null",
        (_HASH_FUNCTION, "governance.erased_identifiers"),
    ).fetchone()[0]
    if not present:
        return False
    return conn.execute("select exists (select from governance.erased_identifiers)").fetchone()[0]


def _erased(kind: sql.Composable, value: sql.Composable) -> sql.Composable:
    """True if ``value`` (of ``kind``) is an erased identifier (``_salt.salt`` in scope)."""
    # the value is hashed once, then looked up (a hashed subplan)
    return sql.SQL(
        "coalesce(governance.erasure_digest(_salt.salt, {k}, {v}) in "
        "(select e.hash from governance.erased_identifiers as e where e.kind = {k}), false)"
    ).format(k=kind, v=value)


def _erased_any_kind(value: sql.Composable) -> sql.Composable:
    """True if ``value`` is an erased identifier of any kind (for text of unknown meaning)."""
    return sql.SQL(" or ").join(_erased(sql.Literal(k), value) for k in ERASED_KINDS)


def _update(name: str, sets: list[sql.Composable], hits: list[sql.Composable],
            batch_id: str | None) -> sql.Composable:  # fmt: skip
    """UPDATE of one raw table (of one batch if ``batch_id``) setting ``sets`` in the rows
    where one of ``hits`` holds, with the erasure salt in scope as ``_salt``."""
    SQL = sql.SQL
    return SQL(
        "update {t} set {sets} from governance.erasure_salt as _salt where {batch} and ({any})"
    ).format(
        t=sql.Identifier(RAW_SCHEMA, name),
        sets=SQL(", ").join(sets),
        batch=SQL("_batch_id = {}").format(sql.Literal(batch_id)) if batch_id else SQL("true"),
        any=SQL(" or ").join(hits),
    )


def _erasure_statement(name: str, tab: TableSpec, batch_id: str | None) -> sql.Composable:
    """UPDATE nulling the erased values of one raw table (of one batch if ``batch_id``)."""
    Id, SQL = sql.Identifier, sql.SQL
    cols = [(c, k) for c, k in tab.pii_columns.items() if k in ERASED_KINDS]
    hit = {c: _erased(sql.Literal(k), Id(c)) for c, k in cols}
    extra_hit = SQL("exists (select from jsonb_each_text(_extra) as x where {})").format(
        _erased_any_kind(SQL("x.value"))
    )
    sets = [
        SQL("{c} = case when {h} then null else {c} end").format(c=Id(c), h=hit[c]) for c, _ in cols
    ]
    sets.append(
        SQL(
            "_extra = case when _extra is not null and {eh} then (select jsonb_object_agg(x.key, "
            "case when {one} then null else x.value end) from jsonb_each(_extra) as x) "
            "else _extra end"
        ).format(eh=extra_hit, one=_erased_any_kind(SQL("x.value #>> '{}'")))
    )
    extra = SQL("(_extra is not null and {})").format(extra_hit)
    return _update(name, sets, [*hit.values(), extra], batch_id)


def _free_text_statement(name: str, tab: TableSpec, batch_id: str | None) -> sql.Composable:
    """UPDATE replacing the erased phones and e-mails written in a raw table's free text."""
    Id, SQL = sql.Identifier, sql.SQL
    scrubbed = {c: SQL("governance.erased_in_text(_salt.salt, {})").format(Id(c))
                for c in tab.free_text_columns}  # fmt: skip
    sets = [SQL("{} = {}").format(Id(c), s) for c, s in scrubbed.items()]
    hits = [SQL("{} is distinct from {}").format(Id(c), s) for c, s in scrubbed.items()]
    return _update(name, sets, hits, batch_id)


def _exists(conn: psycopg.Connection, name: str) -> bool:
    (oid,) = conn.execute("select to_regclass(%s)", (f"{RAW_SCHEMA}.{name}",)).fetchone()
    return oid is not None


def apply_erasures(
    conn: psycopg.Connection,
    contract: Contract,
    source: str | None = None,
    batch_id: str | None = None,
) -> dict[str, int]:
    """Null the erased personal values in raw (only ``source``'s tables and ``batch_id``'s rows
    if given), blank the quarantined lines holding one and replace the erased phones and
    e-mails written in free text; row updates per raw table (a row changed in a personal
    column and in its free text counts twice).

    Rows are kept: only personal values change, so business facts and counts stay."""
    if not erasures_recorded(conn):
        return {}
    # JIT compiling these statements costs more than running them (measured: 1.5 s a table)
    conn.execute("select set_config('jit', 'off', true)")
    changed: dict[str, int] = {}
    query = "select to_regprocedure(%s) is not null"
    (in_text,) = conn.execute(query, (_TEXT_FUNCTION,)).fetchone()
    for src in contract.sources:
        if source is not None and src.name != source:
            continue
        for tab in src.tables:
            statements = []
            if any(k in ERASED_KINDS for k in tab.pii_columns.values()):
                statements.append(_erasure_statement)
            if tab.free_text_columns and in_text:
                statements.append(_free_text_statement)
            name = raw_table_name(src.name, tab.name)
            if not statements or not _exists(conn, name):
                continue
            for statement in statements:
                n = conn.execute(statement(name, tab, batch_id)).rowcount
                if n:
                    changed[name] = changed.get(name, 0) + n
    field = sql.SQL("btrim(f.v, '\"')")
    n = conn.execute(
        sql.SQL(
            "update raw._quarantine as q set raw_line = %(erased)s "
            "from governance.erasure_salt as _salt "
            "where raw_line is distinct from %(erased)s "
            "and (%(source)s::text is null or source = %(source)s) "
            "and (%(batch)s::text is null or batch_id = %(batch)s) "
            "and exists (select from regexp_split_to_table(q.raw_line, ',') as f (v) where {})"
        ).format(_erased_any_kind(field)),
        {"erased": ERASED_LINE, "source": source, "batch": batch_id},
    ).rowcount
    if n:
        changed["_quarantine"] = n
    return changed
