"""Sign-in for people and tokens for systems (docs/service.md, "Auth").

- People: `governance.service_users`, passwords hashed with argon2id (argon2-cffi's defaults);
  a sign-in opens a session whose cookie carries a 256-bit secret, stored as its SHA-256.
- Systems: `portrait token create --role crm-sync` prints ``prt_<id>_<secret>`` once; the
  warehouse keeps the SHA-256 of the secret. A 256-bit random secret cannot be guessed, so a
  fast hash is the standard for tokens (a slow password hash would cost every API call ~50 ms);
  a token is revocable and may expire.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from portrait.service.roles import PEOPLE_ROLES, Role, get_role

SESSION_COOKIE = "portrait_session"
SESSION_HOURS = 12
TOKEN_PREFIX = "prt_"
_hasher = PasswordHasher()
# verified against when the user does not exist, so both answers take the same time
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in person or a system's token."""

    kind: str  # "user" | "token"
    name: str
    role: Role
    owner_sales: str | None = None
    display_name: str | None = None

    @property
    def client(self) -> str:
        return f"{self.kind}:{self.name}"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def hash_password(password: str) -> str:
    if len(password) < 12:
        raise ValueError("a password has at least 12 characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# --- administration (the admin login: `portrait user ...`, `portrait token ...`) --------------


def create_user(
    conn: psycopg.Connection,
    username: str,
    role: str,
    password: str,
    *,
    display_name: str | None = None,
    owner_sales: str | None = None,
) -> None:
    """Create or update a person's account (idempotent: the password and role are replaced)."""
    if role not in PEOPLE_ROLES:
        raise ValueError(f"unknown people's role {role!r}; roles: {', '.join(PEOPLE_ROLES)}")
    if role == "sales" and not owner_sales:
        raise ValueError("a sales user needs --owner-sales (the CRM owner of their accounts)")
    conn.execute(
        "insert into governance.service_users"
        " (username, display_name, role, owner_sales, password_hash)"
        " values (%s, %s, %s, %s, %s) on conflict (username) do update set"
        " display_name = excluded.display_name, role = excluded.role,"
        " owner_sales = excluded.owner_sales, password_hash = excluded.password_hash,"
        " disabled = false",
        (username, display_name or username, role, owner_sales, hash_password(password)),
    )
    # a new password ends the user's open sessions
    conn.execute("delete from governance.service_sessions where username = %s", (username,))


def disable_user(conn: psycopg.Connection, username: str) -> bool:
    cur = conn.execute(
        "update governance.service_users set disabled = true where username = %s", (username,)
    )
    conn.execute("delete from governance.service_sessions where username = %s", (username,))
    return cur.rowcount == 1


def create_token(
    conn: psycopg.Connection, name: str, role: str, *, expires_days: int | None = None
) -> str:
    """A new token for a system; returns it (shown once, only its hash is kept)."""
    get_role(role)
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=expires_days) if expires_days else None
    conn.execute(
        "insert into governance.api_tokens (token_id, name, role, secret_sha256, expires_at)"
        " values (%s, %s, %s, %s, %s)",
        (token_id, name, role, sha256(secret), expires),
    )
    return f"{TOKEN_PREFIX}{token_id}_{secret}"


def revoke_token(conn: psycopg.Connection, token_id: str) -> bool:
    cur = conn.execute(
        "update governance.api_tokens set revoked_at = now()"
        " where token_id = %s and revoked_at is null",
        (token_id.removeprefix(TOKEN_PREFIX).split("_", 1)[0],),
    )
    return cur.rowcount == 1


def list_tokens(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        "select token_id, name, role, created_at, expires_at, revoked_at, last_used_at"
        " from governance.api_tokens order by created_at"
    ).fetchall()


# --- the service's side (the portrait_service login) ----------------------------------------


class TooManyFailures(Exception):
    """Sign-ins of this username are refused for now (429): too many wrong passwords."""

    def __init__(self, retry_after_s: int):
        super().__init__(f"too many failed sign-ins; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


MAX_FAILED_SIGN_INS = 5
FAILED_SIGN_IN_WINDOW_S = 15 * 60


def sign_in(
    conn: psycopg.Connection, username: str, password: str, client_addr: str | None = None
) -> str | None:
    """A session secret for the cookie, or None (unknown user, wrong password, disabled).
    After MAX_FAILED_SIGN_INS failures of a username within FAILED_SIGN_IN_WINDOW_S, raises
    TooManyFailures without looking at the password (a guessing script gets 5 tries per
    quarter hour; kept in the warehouse, so every worker of the service counts alike)."""
    window = f"{FAILED_SIGN_IN_WINDOW_S} seconds"
    failures, wait = conn.execute(
        "select count(*), ceil(extract(epoch from min(failed_at) + %(w)s::interval - now()))"
        " from governance.service_sign_in_failures"
        " where username = %(u)s and failed_at > now() - %(w)s::interval",
        {"u": username, "w": window},
    ).fetchone()
    if failures >= MAX_FAILED_SIGN_INS:
        raise TooManyFailures(max(int(wait), 1))
    row = conn.execute(
        "select password_hash from governance.service_users where username = %s and not disabled",
        (username,),
    ).fetchone()
    if not verify_password(row[0] if row else _DUMMY_HASH, password) or row is None:
        conn.execute(
            "delete from governance.service_sign_in_failures"
            " where failed_at < now() - %s::interval",
            (window,),
        )
        conn.execute(
            "insert into governance.service_sign_in_failures (username, client_addr)"
            " values (%s, %s)",
            (username, client_addr),
        )
        return None
    conn.execute("delete from governance.service_sign_in_failures where username = %s", (username,))
    secret = secrets.token_urlsafe(32)
    conn.execute(
        "insert into governance.service_sessions (session_sha256, username, expires_at)"
        " values (%s, %s, now() + make_interval(hours => %s))",
        (sha256(secret), username, SESSION_HOURS),
    )
    return secret


def sign_out(conn: psycopg.Connection, secret: str) -> None:
    conn.execute(
        "delete from governance.service_sessions where session_sha256 = %s", (sha256(secret),)
    )


def principal_from_session(conn: psycopg.Connection, secret: str) -> Principal | None:
    row = conn.execute(
        "select u.username, u.role, u.owner_sales, u.display_name"
        " from governance.service_sessions as s"
        " join governance.service_users as u using (username)"
        " where s.session_sha256 = %s and s.expires_at > now() and not u.disabled",
        (sha256(secret),),
    ).fetchone()
    if row is None:
        return None
    return Principal("user", row[0], get_role(row[1]), row[2], row[3])


# A live token's name, role, secret hash and whether last_used_at is stale (bench_service runs
# the same statement as part of a request's SQL).
TOKEN_SQL = (
    "select name, role, secret_sha256,"
    " last_used_at is null or last_used_at < now() - interval '1 minute'"
    " from governance.api_tokens where token_id = %s and revoked_at is null"
    " and (expires_at is null or expires_at > now())"
)


def principal_from_token(conn: psycopg.Connection, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX) or "_" not in token[len(TOKEN_PREFIX) :]:
        return None
    token_id, secret = token[len(TOKEN_PREFIX) :].split("_", 1)
    row = conn.execute(TOKEN_SQL, (token_id,)).fetchone()
    if row is None or not hmac.compare_digest(row[2], sha256(secret)):
        return None
    if row[3]:  # when it was last used, to the minute (not a write per request)
        conn.execute(
            "update governance.api_tokens set last_used_at = now() where token_id = %s",
            (token_id,),
        )
    return Principal("token", row[0], get_role(row[1]))
