"""Direct path: COPY the file's bytes straight into the typed raw table, in a savepoint.

A statement trigger runs the check query built here over the COPY's rows; a hit, any COPY
data error, or bytes that PostgreSQL would read otherwise than the record reader (then the
COPY is stopped before it sees them) rolls the savepoint back and the file takes the careful
path.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from sources.contract import (
    DATE_RANGE,
    RAW_SCHEMA,
    SourceSpec,
    TableSpec,
    pg_encoding,
    raw_table_name,
)
from sources.loader.careful import _copy_checked
from sources.loader.reading import _Landing, _Layout, _RecordByRecord
from sources.loader.schema import _row_seq

_DIRECT_SAVEPOINT = "portrait_direct_copy"


def _direct_check_sql(tab: TableSpec, layout: _Layout) -> sql.Composable:
    """A query over the COPY's rows (transition table new_rows): true if some row would be
    quarantined on the careful path (required value empty, NaN, infinity, repeated key)."""
    Id, SQL = sql.Identifier, sql.SQL
    bad: list[sql.Composable] = []
    for col in tab.columns:
        if col.name not in layout.positions:
            continue
        c = Id(col.name)
        # Written to be cheap per row (measured): btrim only runs on a leading blank (it
        # trims blanks only), and the numeric comparisons only on values stored in 3 or 6
        # bytes, which NaN and the infinities always are (as is zero).
        if col.required:
            if col.type == "text":
                bad.append(SQL("{c} is null or ({c} like ' %' and btrim({c}) = '')").format(c=c))
            else:
                bad.append(SQL("{c} is null").format(c=c))
        if col.type == "numeric":
            bad.append(
                SQL(
                    "(pg_column_size({c}) in (3, 6) and {c} in ('NaN', 'Infinity', '-Infinity'))"
                ).format(c=c)
            )
        if col.numeric_bound is not None:
            # beyond the contract's precision (one cheap comparison first, measured)
            near = sql.Literal(10**col.numeric_bound - 1)
            bad.append(
                SQL("(abs({c}) > {t} and abs(round({c}, {s})) >= {lim}::numeric)").format(
                    c=c,
                    t=near,
                    s=sql.Literal(col.scale or 0),
                    lim=sql.Literal(f"1e{col.numeric_bound}"),
                )
            )
        elif col.type in ("date", "timestamptz"):
            bad.append(
                SQL("(not isfinite({c}) or {c} < {lo}::{t} or {c} >= {hi}::{t})").format(
                    c=c,
                    lo=sql.Literal(DATE_RANGE[0]),
                    hi=sql.Literal(DATE_RANGE[1]),
                    t=SQL(col.pg_type),
                )
            )
    parts: list[sql.Composable] = []
    if bad:
        parts.append(SQL("exists (select from new_rows where {})").format(SQL(" or ").join(bad)))
    keys = [Id(k) for k in tab.key if k in layout.positions]
    if keys:
        parts.append(
            SQL("exists (select from new_rows group by {} having count(*) > 1)").format(
                SQL(", ").join(keys)
            )
        )
    return SQL("select {}").format(SQL(" or ").join(parts) if parts else SQL("false"))


def _copy_direct(
    conn: psycopg.Connection,
    spec: SourceSpec,
    tab: TableSpec,
    layout: _Layout,
    landing: _Landing,
    slot: int = 0,
) -> int | None:
    """COPY the file into raw.<source>__<table> inside a savepoint; the records loaded, or
    None if the COPY failed (bytes, quoting, a value that is not of its type) or the check
    trigger found a row that the careful path would quarantine: then nothing was loaded.

    The bookkeeping columns come from the table's defaults (batch settings are set by
    _load_batch), TimeZone and DateStyle are the batch's, so the typed values are exactly
    what the careful path's casts give. ``slot`` is the batch's row slot (its sequence numbers
    the rows).
    """
    Id, SQL = sql.Identifier, sql.SQL
    name = raw_table_name(spec.name, tab.name)
    by_pos = sorted((pos, col) for col, pos in layout.positions.items())
    cols = SQL(", ").join(Id(col) for _, col in by_pos)
    stmt = SQL(
        "copy {raw} ({cols}) from stdin (format csv, header true, encoding {enc}, "
        "force_null ({cols}))"
    ).format(
        raw=Id(RAW_SCHEMA, name),
        cols=cols,
        enc=sql.Literal(pg_encoding(landing.encoding)),
    )
    # The savepoint and the file's settings go in one message (simple query protocol, so
    # the values are quoted literals): one round trip less per file.
    prepare = SQL(
        "savepoint {sp}; select set_config('portrait.file', {file}, true), "
        "set_config('portrait.check_sql', {check}, true), setval({seq}::regclass, 1, false)"
    ).format(
        sp=Id(_DIRECT_SAVEPOINT),
        file=sql.Literal(landing.rel),
        check=sql.Literal(_direct_check_sql(tab, layout).as_string(conn)),
        seq=sql.Literal(f"{RAW_SCHEMA}.{_row_seq(name, slot)}"),
    )
    with conn.cursor() as cur:
        cur.execute(prepare)
        try:
            _copy_checked(cur, stmt, landing)
        except (psycopg.errors.DataError, _RecordByRecord):
            cur.execute(
                SQL("rollback to savepoint {sp}; release savepoint {sp}").format(
                    sp=Id(_DIRECT_SAVEPOINT)
                )
            )
            return None
        records = cur.rowcount
        cur.execute(SQL("release savepoint {}").format(Id(_DIRECT_SAVEPOINT)))
        return records
