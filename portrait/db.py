"""The one module that talks to the warehouse from Python (psycopg 3)."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql


def warehouse_dsn(dsn: str | None = None) -> str:
    if dsn:
        return dsn
    from portrait.settings import get_settings

    # The callers that leave the DSN to the settings are models_ml's (`portrait models ...`).
    return get_settings().warehouse_dsn("ml")


@contextmanager
def connect(dsn: str | None = None, **kwargs) -> Iterator[psycopg.Connection]:
    """A connection that commits on success and rolls back on error."""
    with psycopg.connect(warehouse_dsn(dsn), **kwargs) as conn:
        yield conn


def ensure_objects(conn: psycopg.Connection, ddl: str, lock: str) -> None:
    """Run idempotent DDL (`create ... if not exists`) under the advisory lock `lock`, in a
    transaction of its own when none is open (committed, so the lock is not held for the
    caller's work): two sessions creating one table at once, as parallel tasks of a
    distributed run do, otherwise fail on pg_type's unique index."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (lock,))
        conn.execute(ddl)


def read_frame(conn: psycopg.Connection, query: str | sql.Composable, params=None) -> pd.DataFrame:
    with conn.cursor() as cur:
        cur.execute(query, params)
        if cur.description is None:
            return pd.DataFrame()
        columns = [d.name for d in cur.description]
        return pd.DataFrame(cur.fetchall(), columns=columns)


def relation_exists(conn: psycopg.Connection, schema: str, name: str) -> bool:
    row = conn.execute("select to_regclass(%s)", (f'"{schema}"."{name}"',)).fetchone()
    return row[0] is not None


def table_column_types(conn: psycopg.Connection, schema: str, name: str) -> dict[str, str]:
    """Column name -> data type (information_schema's words), in table order."""
    rows = conn.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = %s and table_name = %s order by ordinal_position",
        (schema, name),
    ).fetchall()
    return dict(rows)


def table_columns(conn: psycopg.Connection, schema: str, name: str) -> list[str]:
    return list(table_column_types(conn, schema, name))


_COPY_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(column: Sequence) -> list[str]:
    """One column as COPY text fields: floats round-trip exactly, None is NULL."""
    if isinstance(column, np.ndarray) and column.dtype.kind == "f":
        return list(map(repr, column.tolist()))
    values = column.tolist() if isinstance(column, np.ndarray) else list(column)
    has_null = any(v is None for v in values)
    texts = [("" if v is None else str(v)) for v in values] if has_null else list(map(str, values))
    joined = "".join(texts)
    if any(c in joined for c in "\\\t\n\r"):
        texts = [v.translate(_COPY_TEXT_ESCAPES) for v in texts]
    if has_null:
        texts = ["\\N" if v is None else t for v, t in zip(values, texts, strict=True)]
    return texts


def copy_columns(
    conn: psycopg.Connection, table: sql.Composable, columns: dict[str, Sequence]
) -> int:
    """COPY equally long column arrays into a table in text format, without a row object."""
    fields = [_copy_text(v) for v in columns.values()]
    if not fields or not fields[0]:
        return 0
    text = "\n".join(map("\t".join, zip(*fields, strict=True))) + "\n"
    stmt = sql.SQL("copy {} ({}) from stdin").format(
        table, sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    with conn.cursor() as cur, cur.copy(stmt) as copy:
        copy.write(text)
    return len(fields[0])


def copy_frame(
    conn: psycopg.Connection, schema: str, table: str, frame: pd.DataFrame, columns: Sequence[str]
) -> int:
    """COPY the given columns of a frame into schema.table (CSV through memory)."""
    if frame.empty:
        return 0
    buf = io.StringIO()
    frame.loc[:, list(columns)].to_csv(buf, index=False, header=False, na_rep="")
    stmt = sql.SQL("copy {}.{} ({}) from stdin (format csv, null '')").format(
        sql.Identifier(schema),
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
    )
    with conn.cursor() as cur, cur.copy(stmt) as copy:
        copy.write(buf.getvalue())
    return len(frame)
