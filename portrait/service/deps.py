"""What every request needs: its warehouse connection (from the pool) and who is asking."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from fastapi import HTTPException, Request

from portrait.service import auth


@contextmanager
def db(request: Request) -> Iterator[psycopg.Connection]:
    """A pooled connection in a transaction (committed when the block ends, rolled back on an
    error): reads and the audit row commit together."""
    with request.app.state.pool.connection() as conn:
        yield conn


def principal(request: Request) -> auth.Principal:
    """The signed-in person (session cookie) or the system (``Authorization: Bearer <token>``);
    401 otherwise."""
    if not (request.headers.get("authorization") or request.cookies.get(auth.SESSION_COOKIE)):
        raise _unauthorised()
    with request.app.state.pool.connection() as conn:
        return authenticate(request, conn)


async def credentials_given(request: Request) -> None:
    """401 for a request with neither a token nor a session cookie, before any parameter is
    looked at (the endpoint then checks them with `authenticate`). No warehouse call: async."""
    if not (request.headers.get("authorization") or request.cookies.get(auth.SESSION_COOKIE)):
        raise _unauthorised()


def authenticate(request: Request, conn: psycopg.Connection) -> auth.Principal:
    """`principal` on a connection the endpoint holds already: a hot endpoint checks who asks
    and reads in one transaction, on one pooled connection."""
    header = request.headers.get("authorization", "")
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    found = None
    if header.lower().startswith("bearer "):
        found = auth.principal_from_token(conn, header[7:].strip())
    elif cookie:
        found = auth.principal_from_session(conn, cookie)
    if found is None:
        raise _unauthorised()
    request.state.principal = found
    return found


def _unauthorised() -> HTTPException:
    return HTTPException(
        status_code=401,
        detail="sign in (session cookie) or send Authorization: Bearer <token>",
        headers={"WWW-Authenticate": "Bearer"},
    )
