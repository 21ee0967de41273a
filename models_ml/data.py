"""Warehouse I/O of the ML layer: read features/labels, write ml.* tables."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from models_ml.matrix import FeatureError, to_model_matrix
from models_ml.targets import CATEGORICAL_FEATURES, Target
from portrait import db

ML_DDL = """
-- governance/roles.sql creates the schema for its owner; `create schema if not exists`
-- would need the database's CREATE privilege even when the schema exists.
do $$ begin if to_regnamespace('ml') is null then create schema ml; end if; end $$;
create table if not exists ml.customer_scores (
    cid text not null,
    as_of_date date not null,
    task text not null,
    score double precision not null,
    band text not null,
    reason_1 text,
    reason_2 text,
    reason_3 text,
    model_name text not null,
    model_version text not null,
    model_alias text not null,
    run_id text not null,
    scored_at timestamptz not null default now(),
    -- (task, as_of_date) first: scoring replaces one such slice a day, and this order lets
    -- it find the slice to delete and append the new one without touching older history.
    primary key (task, as_of_date, cid)
);
"""


def ensure_ml_schema(conn: psycopg.Connection) -> None:
    db.ensure_objects(conn, ML_DDL, "portrait.ml.ddl")


def _require_features_table(conn: psycopg.Connection) -> None:
    for name in ("customer_features", "customer_labels"):
        if not db.relation_exists(conn, "features", name):
            raise FeatureError(
                f"features.{name} does not exist: build the dbt project first "
                "(`dbt build` or run the portrait_daily DAG)."
            )


def training_frame(conn: psycopg.Connection, target: Target) -> pd.DataFrame:
    """Feature snapshots joined with the target's label, labelled rows only."""
    _require_features_table(conn)
    query = sql.SQL(
        "select f.*, l.{label}::int as label from features.customer_features as f "
        "join features.customer_labels as l using (cid, as_of_date) "
        "where l.{label} is not null order by f.as_of_date, f.cid"
    ).format(label=sql.Identifier(target.name))
    return db.read_frame(conn, query)


def snapshot_dates(conn: psycopg.Connection) -> list[dt.date]:
    _require_features_table(conn)
    rows = conn.execute(
        "select distinct as_of_date from features.customer_features order by 1"
    ).fetchall()
    return [r[0] for r in rows]


def latest_snapshot_date(conn: psycopg.Connection) -> dt.date:
    dates = snapshot_dates(conn)
    if not dates:
        raise FeatureError("features.customer_features is empty: no snapshot to score.")
    return dates[-1]


def snapshot_frame(conn: psycopg.Connection, as_of_date: dt.date) -> pd.DataFrame:
    _require_features_table(conn)
    frame = db.read_frame(
        conn,
        "select * from features.customer_features where as_of_date = %s order by cid",
        (as_of_date,),
    )
    if frame.empty:
        raise FeatureError(
            f"features.customer_features has no rows for as_of_date {as_of_date}: build the "
            "features for that date first (dbt var as_of_date)."
        )
    return frame


def snapshot_exists(conn: psycopg.Connection, as_of_date: dt.date) -> bool:
    (found,) = conn.execute(
        "select exists (select from features.customer_features where as_of_date = %s)",
        (as_of_date,),
    ).fetchone()
    return found


def snapshot_chunks(
    conn: psycopg.Connection,
    as_of_date: dt.date,
    columns: list[str],
    chunk_rows: int,
    customers: sql.Composable | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(cids, model matrix) of one snapshot, `chunk_rows` customers at a time; only the rows
    `customers` (a predicate on cid, e.g. models_ml.score.customer_filter) selects, if given.

    COPY streams the rows as CSV and pandas' C parser turns each chunk into floats: no Python
    object per value, and memory bounded by the chunk whatever the number of customers."""
    _require_features_table(conn)
    types = db.table_column_types(conn, "features", "customer_features")
    # Booleans as 0/1, as training reads them (CSV would say t/f, which is not a number).
    select = [
        sql.SQL("{}::integer").format(sql.Identifier(c))
        if types.get(c) == "boolean"
        else sql.Identifier(c)
        for c in columns
    ]
    where = sql.SQL("as_of_date = {}").format(sql.Literal(as_of_date))
    if customers is not None:
        where = sql.SQL("{} and {}").format(where, customers)
    query = sql.SQL(
        "copy (select cid, {} from features.customer_features where {}) to stdout (format csv)"
    ).format(sql.SQL(", ").join(select), where)
    buf, rows = bytearray(), 0
    with conn.cursor() as cur, cur.copy(query) as copy:
        for block in copy:
            buf += block
            rows += 1  # the server sends one row per message; _parse_chunk cuts at a newline
            if rows >= chunk_rows:
                cut = buf.rfind(b"\n") + 1
                yield _parse_chunk(bytes(buf[:cut]), columns)
                del buf[:cut]
                rows = 0
    if buf:
        yield _parse_chunk(bytes(buf), columns)


def _parse_chunk(raw: bytes, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    names = ["cid", *columns]
    # Numbers straight to float64; categorical columns stay text and get their codes below.
    dtypes = {c: (str if c in CATEGORICAL_FEATURES else "float64") for c in columns}
    try:
        frame = pd.read_csv(io.BytesIO(raw), header=None, names=names, dtype=dtypes)
    except ValueError:  # an unexpected non-numeric column: coerce like to_model_matrix does
        frame = pd.read_csv(io.BytesIO(raw), header=None, names=names, dtype=str)
    cids = frame["cid"].to_numpy(dtype=object)
    return cids, np.ascontiguousarray(to_model_matrix(frame, columns).to_numpy())
