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
    header = request.headers.get("authorization", "")
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    found = None
    if header or cookie:
        with request.app.state.pool.connection() as conn:
            if header.lower().startswith("bearer "):
                found = auth.principal_from_token(conn, header[7:].strip())
            elif cookie:
                found = auth.principal_from_session(conn, cookie)
    if found is None:
        raise HTTPException(
            status_code=401,
            detail="sign in (session cookie) or send Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.principal = found
    return found
