"""Erasure on request (PIPL art. 47): find a person by contact id, phone or e-mail in raw's
personal columns, and log the erasure as salted hashes of their identifiers.

The loader nulls every value whose hash is logged, in raw now (``portrait forget`` runs it
over all of raw) and in every later load (``sources.loader.apply_erasures``); dbt rebuilds
the rest from raw. Which columns are personal comes from the caller (the landing contract's
``pii`` columns): this module reads nothing but the warehouse.

Who a person is: the seed identifier, plus the names, phones and e-mails on the records that
describe that person (a CRM contact, a sample request, a service ticket, a campaign's
audience member) and hold the seed. Records that describe a company (they carry an address:
a CRM account, an ERP customer) never add identifiers; their values that are the person's
are erased all the same. Names are matched as written (blanks collapsed, case folded)
wherever they occur, so a namesake's name goes too: ``--dry-run`` shows how many rows each
table would change.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

SCHEMA = "governance"
RAW_SCHEMA = "raw"
# Kinds of personal value that identify a person (addresses are the company's).
IDENTIFYING_KINDS = ("name", "phone", "email")
# What a phone number is written with: digits, +, blanks, - ( ) . /
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()./-]{5,30}$")
_DDL = (Path(__file__).resolve().parent / "erasure.sql").read_text(encoding="utf-8")


class ErasureError(ValueError):
    """The request does not name a person the warehouse holds."""


@dataclass(frozen=True)
class PersonalColumn:
    """A personal column of a raw table: ``kind`` is name, phone, email, address, ..."""

    table: str  # in schema raw
    column: str
    kind: str


@dataclass
class Person:
    """Whom a request names: their normalised identifiers and the rows holding one."""

    request: str
    request_kind: str  # contact_id | phone | email
    identifiers: dict[str, set[str]] = field(default_factory=dict)  # kind -> values
    rows: dict[str, int] = field(default_factory=dict)  # raw table -> rows holding one

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.identifiers.values())

    def shown(self) -> dict[str, list[str]]:
        """The identifiers masked, for a console that should not print them."""
        return {k: sorted(mask(k, v) for v in vals) for k, vals in self.identifiers.items()}


def mask(kind: str, value: str) -> str:
    """A value shown on the console: 139****5844, m***@example.com, 马*."""
    if kind == "phone":
        return value[:3] + "****" + value[-4:] if len(value) > 7 else "****"
    if kind == "email":
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    return value[:1] + "*"


def ensure_erasure_schema(conn: psycopg.Connection) -> None:
    """Create the governance erasure tables and functions, and the installation's salt."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('portrait.governance.erasure'))")
        conn.execute(_DDL)
        conn.execute(
            "insert into governance.erasure_salt (salt) values (%s) on conflict do nothing",
            (secrets.token_hex(32),),
        )


def _tables(columns: Iterable[PersonalColumn]) -> dict[str, list[PersonalColumn]]:
    out: dict[str, list[PersonalColumn]] = {}
    for col in columns:
        if col.kind in IDENTIFYING_KINDS or col.kind == "address":
            out.setdefault(col.table, []).append(col)
    return out


def _holds(cols: list[PersonalColumn], ids: dict[str, set[str]]) -> tuple[sql.Composable, dict]:
    """A condition: some identifying column of the row holds one of ``ids``."""
    parts, params = [], {}
    for i, col in enumerate(c for c in cols if c.kind in IDENTIFYING_KINDS):
        params[f"v{i}"] = sorted(ids.get(col.kind, ()))
        parts.append(
            sql.SQL("governance.erasure_normalized({k}, {c}) = any({p})").format(
                k=sql.Literal(col.kind), c=sql.Identifier(col.column), p=sql.Placeholder(f"v{i}")
            )
        )
    return (sql.SQL(" or ").join(parts) if parts else sql.SQL("false")), params


def _existing(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute(
        "select to_regclass(%s) is not null", (f"{RAW_SCHEMA}.{table}",)
    ).fetchone()[0]


def _collect(
    conn: psycopg.Connection, table: str, cols: list[PersonalColumn], where: sql.Composable, params
) -> dict[str, set[str]]:
    """The normalised identifying values of the rows of ``table`` matching ``where``."""
    ident = [c for c in cols if c.kind in IDENTIFYING_KINDS]
    stmt = sql.SQL("select {vals} from {t} where {w}").format(
        vals=sql.SQL(", ").join(
            sql.SQL("governance.erasure_normalized({k}, {c})").format(
                k=sql.Literal(c.kind), c=sql.Identifier(c.column)
            )
            for c in ident
        ),
        t=sql.Identifier(RAW_SCHEMA, table),
        w=where,
    )
    found: dict[str, set[str]] = {}
    for row in conn.execute(stmt, params).fetchall():
        for col, value in zip(ident, row, strict=True):
            if value:
                found.setdefault(col.kind, set()).add(value)
    return found


def find_person(
    conn: psycopg.Connection,
    request: str,
    columns: Iterable[PersonalColumn],
    contact_id: tuple[str, str],
) -> Person:
    """The person ``request`` names: a contact id (``contact_id``: its raw table and column),
    a phone number or an e-mail address; ErasureError if no raw row holds it."""
    request = request.strip()
    if not request or len(request) > 320 or "\x00" in request:
        raise ErasureError("give a contact id, a phone number or an e-mail address")
    tables = {t: cols for t, cols in _tables(columns).items() if _existing(conn, t)}
    id_table, id_column = contact_id
    seeds: dict[str, set[str]] = {}
    by_id = sql.SQL("false")
    if "@" in request:
        kind = "email"
    elif (
        id_table in tables
        and conn.execute(
            sql.SQL("select exists (select from {} where {} = %s)").format(
                sql.Identifier(RAW_SCHEMA, id_table), sql.Identifier(id_column)
            ),
            (request,),
        ).fetchone()[0]
    ):
        kind = "contact_id"
        by_id = sql.SQL("{} = %(request)s").format(sql.Identifier(id_column))
    else:
        kind = "phone"
    if kind != "contact_id":
        (norm,) = conn.execute(
            "select governance.erasure_normalized(%s, %s)", (kind, request)
        ).fetchone()
        if not norm or (kind == "phone" and not (_PHONE_RE.match(request) and len(norm) >= 7)):
            raise ErasureError(
                f"{request[:80]!r} is not a contact id in raw.{id_table}, a phone number or "
                "an e-mail address"
            )
        seeds[kind] = {norm}
    else:
        seeds = _collect(conn, id_table, tables[id_table], by_id, {"request": request})
    person = Person(request=request, request_kind=kind)
    # One step out from the seed: the identifiers on the person's own records.
    ids: dict[str, set[str]] = {k: set(v) for k, v in seeds.items()}
    for table, cols in tables.items():
        if any(c.kind == "address" for c in cols):
            continue  # a company's record
        where, params = _holds(cols, seeds)
        for k, vals in _collect(conn, table, cols, where, params).items():
            ids.setdefault(k, set()).update(vals)
    if not any(ids.values()):
        raise ErasureError(f"no raw record holds {request[:80]!r}")
    person.identifiers = {k: v for k, v in ids.items() if v}
    for table, cols in tables.items():
        where, params = _holds(cols, person.identifiers)
        (n,) = conn.execute(
            sql.SQL("select count(*) from {} where {}").format(
                sql.Identifier(RAW_SCHEMA, table), where
            ),
            params,
        ).fetchone()
        if n:
            person.rows[table] = n
    if not person.rows:
        raise ErasureError(f"no raw record holds {request[:80]!r}")
    return person


def record_erasure(conn: psycopg.Connection, person: Person, os_user: str | None = None) -> int:
    """Log the erasure and the salted hashes of the person's identifiers; its id."""
    with conn.transaction():
        (erasure_id,) = conn.execute(
            "insert into governance.erasures (os_user, request_kind, request_hash, identifiers) "
            "values (%s, %s, governance.erasure_hash(%s, %s), %s) returning erasure_id",
            (os_user, person.request_kind, person.request_kind, person.request, person.count),
        ).fetchone()
        with conn.cursor() as cur:
            cur.executemany(
                "insert into governance.erased_identifiers (kind, hash, erasure_id) "
                "values (%s, governance.erasure_hash(%s, %s), %s) on conflict do nothing",
                [
                    (kind, kind, value, erasure_id)
                    for kind, values in sorted(person.identifiers.items())
                    for value in sorted(values)
                ],
            )
    return erasure_id


def finish_erasure(
    conn: psycopg.Connection, erasure_id: int, rows_changed: dict[str, int], rebuilt: bool
) -> None:
    """Note what the erasure changed in raw, and whether downstream was rebuilt."""
    with conn.transaction():
        conn.execute(
            "update governance.erasures set rows_changed = %s, "
            "rebuilt_at = case when %s then now() end where erasure_id = %s",
            (Jsonb(rows_changed), rebuilt, erasure_id),
        )
