"""The role migration: portrait's logins, group roles and schemas, created idempotently.

Run by `portrait warehouse up` / `make demo`, the DAGs' first task and the test fixtures, as
the private cluster's bootstrap superuser (or, on an external warehouse, a role that may
create roles and schemas). A second run changes nothing: roles are created or altered only
where they differ, a password is set only when the stored verifier does not match it (and
is sent as a SCRAM verifier, never in clear), and roles.sql's grants are idempotent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from governance.audit import ensure_access_objects
from governance.erasure import ensure_erasure_schema
from portrait import db

SQL_FILE = Path(__file__).with_name("roles.sql")
SCRAM_ITERATIONS = 4096  # PostgreSQL's default (scram_iterations)


@dataclass(frozen=True)
class Role:
    name: str
    login: bool
    createrole: bool = False
    member_of: tuple[str, ...] = ()


# People's group roles: logins (and people's own logins, made by an admin) inherit them.
PEOPLE_GROUPS = (
    "portrait_analysts",
    "portrait_sales",
    "portrait_credit",
    "portrait_service_staff",
    "portrait_stewards",
)
ROLES: tuple[Role, ...] = (
    *(Role(name, login=False) for name in PEOPLE_GROUPS),
    # pgaudit's object-audit role (pgaudit.role): what it is granted is what gets logged.
    Role("portrait_auditor", login=False),
    # Manages people's logins and owns governance/audit; reads clear values as a steward.
    Role("portrait_admin", login=True, createrole=True, member_of=("portrait_stewards",)),
    Role("portrait_loader", login=True),
    Role("portrait_transformer", login=True),
    Role("portrait_ml", login=True),
    Role("portrait_service", login=True),
    Role("portrait_analyst", login=True, member_of=("portrait_analysts",)),
)
LOGINS = tuple(r.name for r in ROLES if r.login)


# ---- SCRAM-SHA-256 verifiers (RFC 5802/7677, PostgreSQL's stored format) --------------------
def scram_verifier(password: str, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS):
    """`SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`, what ALTER ROLE ... PASSWORD
    stores: the server then never sees the password itself (nor does a statement log)."""
    salt = salt or secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = base64.b64encode
    return (
        f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}"
        f"${b64(stored_key).decode()}:{b64(server_key).decode()}"
    )


def scram_matches(verifier: str | None, password: str) -> bool:
    """True when the stored verifier is the password's (any salt and iteration count)."""
    try:
        method, rest = (verifier or "").split("$", 1)
        params, _keys = rest.split("$", 1)
        iterations, salt = params.split(":", 1)
    except ValueError:
        return False
    if method != "SCRAM-SHA-256":
        return False
    expected = scram_verifier(password, base64.b64decode(salt), int(iterations))
    return hmac.compare_digest(expected.encode(), f"{method}${rest}".encode())


# ---- the migration ----------------------------------------------------------------------------
def _is_superuser(conn: psycopg.Connection) -> bool:
    return conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()[0]


def _ensure_role(conn: psycopg.Connection, role: Role, superuser: bool = True) -> list[str]:
    row = conn.execute(
        "select rolcanlogin, rolcreaterole, rolsuper, rolinherit from pg_roles where rolname = %s",
        (role.name,),
    ).fetchone()
    if row is not None and row[2] and not superuser:
        raise PermissionError(
            f"role {role.name} is a superuser and {conn.info.user} is not: only a superuser "
            f"can make it `nosuperuser` (ALTER ROLE {role.name} NOSUPERUSER), then re-run"
        )
    words = [
        "login" if role.login else "nologin",
        "createrole" if role.createrole else "nocreaterole",
        "inherit",
    ]
    # Mentioning (NO)SUPERUSER at all needs a superuser; for an existing role it is already
    # off when we are not one (checked above).
    if row is None or superuser:
        words.append("nosuperuser")
    want = sql.SQL(" ").join(map(sql.SQL, words))
    name = sql.Identifier(role.name)
    if row is None:
        conn.execute(sql.SQL("create role {} {}").format(name, want))
        return [f"create role {role.name}"]
    if tuple(row) != (role.login, role.createrole, False, True):
        conn.execute(sql.SQL("alter role {} {}").format(name, want))
        return [f"alter role {role.name}"]
    return []


def _act_for(conn: psycopg.Connection, role: Role) -> list[str]:
    """A migration login that is not a superuser (an external warehouse's CREATEROLE owner)
    must be a member of each role it makes own schemas or sets default privileges for; on
    PostgreSQL 15 creating a role does not make its creator one (16 does, with ADMIN)."""
    (member,) = conn.execute(
        "select pg_has_role(current_user, %s, 'USAGE')", (role.name,)
    ).fetchone()
    if member:
        return []
    conn.execute(sql.SQL("grant {} to current_user").format(sql.Identifier(role.name)))
    return [f"grant {role.name} to {conn.info.user}"]


def _ensure_memberships(conn: psycopg.Connection, role: Role) -> list[str]:
    changes = []
    for group in role.member_of:
        (member,) = conn.execute(
            "select exists (select from pg_auth_members as m "
            "join pg_roles as g on g.oid = m.roleid join pg_roles as r on r.oid = m.member "
            "where g.rolname = %s and r.rolname = %s)",
            (group, role.name),
        ).fetchone()
        if not member:
            conn.execute(
                sql.SQL("grant {} to {}").format(sql.Identifier(group), sql.Identifier(role.name))
            )
            changes.append(f"grant {group} to {role.name}")
    return changes


def _stored_verifier(conn: psycopg.Connection, login: str) -> str | None:
    """The login's stored password verifier; None when this session may not read pg_authid."""
    try:
        with conn.transaction():
            row = conn.execute(
                "select rolpassword from pg_authid where rolname = %s", (login,)
            ).fetchone()
    except psycopg.errors.InsufficientPrivilege:
        return None
    return row[0] if row else None


def _ensure_password(conn: psycopg.Connection, login: str, password: str) -> list[str]:
    if scram_matches(_stored_verifier(conn, login), password):
        return []
    conn.execute(
        sql.SQL("alter role {} password {}").format(
            sql.Identifier(login), sql.Literal(scram_verifier(password))
        )
    )
    return [f"password {login}"]


ERASURE_GRANTS = """
alter table governance.erasure_salt owner to portrait_admin;
alter table governance.erasures owner to portrait_admin;
alter table governance.erased_identifiers owner to portrait_admin;
grant usage on schema governance to portrait_loader;
grant select on governance.erasure_salt, governance.erased_identifiers to portrait_loader;
"""


def migrate(dsn: str, passwords: dict[str, str | None] | None = None) -> list[str]:
    """Create or correct portrait's roles (cluster-wide) and this database's schemas, owners,
    grants and default privileges; set each login's password given in `passwords` (None or
    absent: left as it is). Returns what changed (empty when everything was in place)."""
    unknown = set(passwords or {}) - set(LOGINS)
    if unknown:
        raise ValueError(f"not portrait logins: {sorted(unknown)}")
    changes: list[str] = []
    with db.connect(dsn) as conn:
        # One migration at a time (two DAG runs starting together).
        conn.execute("select pg_advisory_xact_lock(hashtext('portrait.governance.roles'))")
        superuser = _is_superuser(conn)
        for role in ROLES:
            changes += _ensure_role(conn, role, superuser)
        for role in ROLES:
            changes += _ensure_memberships(conn, role)
            if not superuser:
                changes += _act_for(conn, role)
        for login, password in (passwords or {}).items():
            if password:
                changes += _ensure_password(conn, login, password)
        conn.execute(SQL_FILE.read_text())
        # what the personal-data layer needs (pgaudit, audit.access_log): governance/sql
        ensure_access_objects(conn)
    # erasure on request: its log, salt and hash functions (governance/erasure.sql); the loader
    # reads the hashes and the salt on every load, `portrait forget` runs as the migration login
    with db.connect(dsn) as conn:
        ensure_erasure_schema(conn)
        conn.execute(ERASURE_GRANTS)
    return changes
