"""Typing: one statement that casts the temp table's valid rows into raw and quarantines
the rest, with the reason and the original line."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from sources.contract import DATE_RANGE, PG_TYPES, ColumnSpec, TableSpec
from sources.loader.careful import _TMP
from sources.loader.reading import RAW_LINE_MAX, VALUE_MAX, _Layout
from sources.loader.zones import NO_ZONES, ZoneWords

# The typing statement runs optimistically first: plain casts, which are cheap, and the
# whole file fails on the first value that does not cast. Only then (rolled back to a
# savepoint) does it run carefully, with casts that return null instead of raising. The
# conditions that quarantine a row are the same in both modes.
_SAFE_CAST = {
    "integer": "raw._try_bigint",
    "numeric": "raw._try_numeric",
    "boolean": "raw._try_boolean",
    "date": "raw._try_date",
    "timestamptz": "raw._try_timestamptz",
}
_TYPE_WORDS = {
    "integer": "is not an integer",
    "numeric": "is not a number (use . for decimals, no thousands separators)",
    "boolean": "is not a boolean (true/false/1/0)",
    "date": "is not a valid date (YYYY-MM-DD)",
    "timestamptz": "is not a valid timestamp (e.g. 2024-03-01T09:30:00+08:00, or without an "
    "offset in the source's time zone)",
}


def _cast_expr(ctype: str, x: sql.Composable, careful: bool) -> sql.Composable:
    if careful:
        return sql.SQL("{f}({x})").format(f=sql.SQL(_SAFE_CAST[ctype]), x=x)
    return sql.SQL("{x}::{t}").format(x=x, t=sql.SQL(PG_TYPES[ctype]))


# Letters in a timestamp other than the T between date and time and the Z of UTC: only
# such values are looked at for zone abbreviations (a cheap test first).
_HAS_WORD = "[A-SU-Ya-su-y]"


def _shown(col: str, x: sql.Composable) -> sql.Composable:
    return sql.SQL("{p} || quote_literal(left({x}, {n}))").format(
        p=sql.Literal(f"column {col}: "), x=x, n=sql.Literal(VALUE_MAX)
    )


def _bad_value_message(col: str, ctype: str, x: sql.Composable) -> sql.Composable:
    L = sql.Literal
    words = L(" " + _TYPE_WORDS[ctype])
    if ctype == "integer":
        words = sql.SQL("case when {x} ~ '^\\s*[+-]?[0-9]+\\s*$' then {r} else {w} end").format(
            x=x,
            r=L(" is out of the integer range (-9223372036854775808 to 9223372036854775807)"),
            w=words,
        )
    return sql.SQL("{shown} || {m}").format(shown=_shown(col, x), m=words)


def _timestamp_expr(x: sql.Composable, zones: ZoneWords, careful: bool) -> sql.Composable:
    """A timestamptz cast; a value with a zone abbreviation the contract maps is read in
    the zone it names (null if it then does not parse)."""
    cast = _cast_expr("timestamptz", x, careful)
    if not zones.aliases:
        return cast
    keys = sql.Literal([a for a, _ in zones.aliases])
    return sql.SQL(
        "case when {x} ~ {w} and raw._zone_word({x}, {keys}::text[]) is not null "
        "then raw._try_timestamptz_aliased({x}, {al}::jsonb) else {cast} end"
    ).format(
        x=x, w=sql.Literal(_HAS_WORD), keys=keys, al=sql.Literal(zones.aliases_json), cast=cast
    )


def _zone_check(col: str, x: sql.Composable, zones: ZoneWords) -> tuple:
    """(bad, message) for a timestamp carrying an ambiguous zone abbreviation."""
    word = sql.SQL("raw._zone_word({x}, {a}::text[])").format(
        x=x, a=sql.Literal(list(zones.ambiguous))
    )
    bad = sql.SQL("coalesce({x} ~ {w} and {word} is not null, false)").format(
        x=x, w=sql.Literal(_HAS_WORD), word=word
    )
    message = sql.SQL("{shown} || {a} || {word} || {b}").format(
        shown=_shown(col, x),
        a=sql.Literal(" has the time zone abbreviation "),
        word=word,
        b=sql.Literal(
            ", which is ambiguous (CST is China Standard Time to a Chinese export and US "
            "Central to the warehouse): write the UTC offset (e.g. +08:00), or map the "
            "abbreviation in the contract's timezone_aliases"
        ),
    )
    return bad, message


def _range_check(col: ColumnSpec, v: sql.Composable) -> tuple:
    """(bad after the cast, message) for a number beyond the contract's precision."""
    bound = col.numeric_bound
    bad = sql.SQL(
        "({v} is not null and abs(round({v}, {s})) >= {lim}::numeric "
        "and abs({v}) < 'Infinity'::numeric)"
    ).format(v=v, s=sql.Literal(col.scale or 0), lim=sql.Literal(f"1e{bound}"))
    return bad, sql.Literal(
        f"is out of range: the contract declares {col.declared_type}, so values must round "
        f"to less than 10^{bound} in absolute value"
    )


def _csv_cell(c: sql.Composable) -> sql.Composable:
    return sql.SQL(
        "case when {c} is null then '' when {c} = '' or {c} ~ '[\",\\r\\n]' "
        "then '\"' || replace({c}, '\"', '\"\"') || '\"' else {c} end"
    ).format(c=c)


def _typing_statements(
    tab: TableSpec,
    layout: _Layout,
    ncols: int,
    raw_ident: sql.Identifier,
    careful: bool,
    zones: ZoneWords = NO_ZONES,
) -> _Statements:
    """SQL that inserts the valid rows of the temp table into raw, the others into quarantine.

    Values are not trimmed (numbers and booleans may carry blanks, PostgreSQL's casts allow
    them); an empty field is null. Parameters: source, table, batch_id, file, extracted_at.
    """
    L, Id = sql.Literal, sql.Identifier
    typed: list[sql.Composable] = []  # "<cast> as v_<col>" for the layered pipeline
    direct: list[sql.Composable] = []  # the same casts for the single-level insert
    checks: list[tuple[sql.Composable, sql.Composable, str, sql.Composable]] = []
    # (bad on the text alone, bad after the cast, column, message)
    insert_cols: list[sql.Composable] = []
    select_vals: list[sql.Composable] = []
    for col in tab.columns:
        pos = layout.positions.get(col.name)
        v = Id(f"v_{col.name}")
        insert_cols.append(Id(col.name))
        select_vals.append(v)
        if pos is None:
            typed.append(sql.SQL("null::{} as {}").format(sql.SQL(col.pg_type), v))
            direct.append(sql.SQL("null::{}").format(sql.SQL(col.pg_type)))
            continue
        c = Id(f"c{pos}")
        x = sql.SQL("nullif({c}, '')").format(c=c)
        if col.type == "text":
            typed.append(sql.SQL("{x} as {v}").format(x=x, v=v))
            direct.append(x)
        elif col.type == "timestamptz":
            typed.append(sql.SQL("{e} as {v}").format(e=_timestamp_expr(x, zones, careful), v=v))
            direct.append(_timestamp_expr(x, zones, careful=False))
        else:
            typed.append(sql.SQL("{e} as {v}").format(e=_cast_expr(col.type, x, careful), v=v))
            direct.append(_cast_expr(col.type, x, careful=False))
        if col.required:
            checks.append(
                (
                    sql.SQL("btrim(coalesce({c}, '')) = ''").format(c=c),
                    sql.SQL("false"),
                    col.name,
                    L(f"required column {col.name} is empty"),
                )
            )
        if col.type == "text":
            continue
        bad_text = sql.SQL("false")
        if col.type in ("date", "timestamptz"):
            # The cast reads what PostgreSQL reads (DateStyle ISO, YMD; the source's time
            # zone), as the direct COPY does; 'infinity' is not a date.
            e = (
                _timestamp_expr(x, zones, careful)
                if col.type == "timestamptz"
                else _cast_expr(col.type, x, careful)
            )
            bad_text = sql.SQL("coalesce(not isfinite({e}), false)").format(e=e)
            if col.type == "timestamptz" and zones.aliases:
                # a mapped abbreviation in a value that does not parse: null, not an error
                bad_text = sql.SQL("({b} or ({e}) is null and {x} is not null)").format(
                    b=bad_text, e=e, x=x
                )
            first, end = DATE_RANGE
            out_of_range = sql.SQL(
                "coalesce(isfinite({e}) and ({e} < {lo}::{t} or {e} >= {hi}::{t}), false)"
            ).format(e=e, lo=sql.Literal(first), hi=sql.Literal(end), t=sql.SQL(col.pg_type))
            years = f"is outside the years {first[:4]} to {int(end[:4]) - 1} the contract accepts"
            message = sql.SQL("{shown} || ' ' || {w}").format(
                shown=_shown(col.name, x), w=sql.Literal(years)
            )
            checks.append((out_of_range, sql.SQL("false"), col.name, message))
        if col.type == "timestamptz" and zones.ambiguous:
            zone_bad, zone_msg = _zone_check(col.name, x, zones)
            checks.append((zone_bad, sql.SQL("false"), col.name, zone_msg))
        if col.type == "numeric":  # the cast accepts NaN and Infinity; the contract does not
            bad_text = sql.SQL(
                "(coalesce({c}, '') <> '' and ({c} like '%%n%%' or {c} like '%%N%%'))"
            ).format(c=c)
        checks.append(
            (
                bad_text,
                sql.SQL("(coalesce({c}, '') <> '' and {v} is null)").format(c=c, v=v),
                col.name,
                _bad_value_message(col.name, col.type, x),
            )
        )
        if col.numeric_bound is not None:
            range_bad, words = _range_check(col, _cast_expr(col.type, x, careful))
            message = sql.SQL("{shown} || ' ' || {w}").format(shown=_shown(col.name, x), w=words)
            checks.append((range_bad, sql.SQL("false"), col.name, message))
    # Layered pipeline: a row is bad if any check fails, text or cast.
    bad_any = [sql.SQL("{} or {}").format(t, k) for t, k, _, _ in checks]
    checks_l = [(b, name, m) for b, (_, _, name, m) in zip(bad_any, checks, strict=True)]

    if layout.extras:
        extra = sql.SQL("jsonb_build_object({})").format(
            sql.SQL(", ").join(
                sql.SQL("{}, {}").format(L(name), Id(f"c{i}")) for name, i in layout.extras
            )
        )
    else:
        extra = sql.SQL("null::jsonb")
    raw_line = sql.SQL("concat_ws(',', {})").format(
        sql.SQL(", ").join(_csv_cell(Id(f"c{i}")) for i in range(ncols))
    )
    if checks:
        ok = sql.SQL("not ({})").format(sql.SQL(" or ").join(b for b, _, _ in checks_l))
        ok_text = sql.SQL("not ({})").format(sql.SQL(" or ").join(t for t, _, _, _ in checks))
        err_cols = sql.SQL("array_remove(array[{}]::text[], null)").format(
            sql.SQL(", ").join(
                sql.SQL("case when {b} then {n} end").format(b=b, n=L(name))
                for b, name, _ in checks_l
            )
        )
        err_msgs = sql.SQL("array_to_string(array[{}]::text[], '; ')").format(
            sql.SQL(", ").join(
                sql.SQL("case when {b} then {m} end").format(b=b, m=m) for b, _, m in checks_l
            )
        )
    else:
        ok = ok_text = sql.SQL("true")
        err_cols = sql.SQL("array[]::text[]")
        err_msgs = sql.SQL("''")

    key_vals = [Id(f"v_{k}") for k in tab.key]
    if key_vals:
        first = sql.SQL("min(case when _ok then _row_number end) over (partition by {})").format(
            sql.SQL(", ").join(key_vals)
        )
        key_text = sql.SQL(" || ', ' || ").join(
            sql.SQL("{} || '=' || coalesce({}::text, 'null')").format(L(k), Id(f"v_{k}"))
            for k in tab.key
        )
        dup_reason = sql.SQL(
            "'duplicate key (' || {kt} || ') in this file: row ' || _first || "
            "' was kept, this later row is ignored'"
        ).format(kt=key_text)
        dup_col = L(tab.key[0])
    else:
        first = sql.SQL("_row_number")
        dup_reason = sql.SQL("null")
        dup_col = sql.SQL("null")

    key_exprs = []
    for k in tab.key:
        pos = layout.positions.get(k)
        if pos is None:
            continue
        ctype = tab.column(k).type
        x = sql.SQL("nullif({c}, '')").format(c=Id(f"c{pos}"))
        if ctype == "timestamptz":
            key_exprs.append(_timestamp_expr(x, zones, careful))
        else:
            key_exprs.append(x if ctype == "text" else _cast_expr(ctype, x, careful))

    pipeline = sql.SQL(
        """
with typed as (
    select t.*, {typed}
    from pg_temp.{tmp} as t
    offset 0
),
checked as (
    select typed.*, {ok} as _ok
    from typed
)"""
    ).format(
        tmp=Id(_TMP),
        typed=sql.SQL(", ").join(typed),
        ok=ok,
    )
    fmt = {
        "err_cols": err_cols,
        "err_msgs": err_msgs,
        "first": first,
        "dup_col": dup_col,
        "dup_reason": dup_reason,
        "raw_line": raw_line,
        "raw_max": L(RAW_LINE_MAX),
        "raw": raw_ident,
        "insert_cols": sql.SQL(", ").join(insert_cols),
        "select_vals": sql.SQL(", ").join(select_vals),
        "extra": extra,
    }
    quarantine_into = sql.SQL(
        "insert into raw._quarantine (source, table_name, batch_id, file, row_number, "
        "column_name, reason, raw_line, _loaded_at)"
    )
    raw_into = sql.SQL(
        "insert into {raw} ({insert_cols}, "
        "_batch_id, _file, _row_number, _loaded_at, _extracted_at, _extra)"
    ).format(**fmt)
    raw_values = sql.SQL(
        "{select_vals}, %(batch_id)s, %(file)s, _row_number, now(), "
        "%(extracted_at)s::timestamptz, {extra}"
    ).format(**fmt)
    return _Statements(
        dup_check=sql.SQL(
            "select count(*) from (select 1 from pg_temp.{tmp} group by {keys} "
            "having count(*) > 1 limit 1) as d"
        ).format(tmp=Id(_TMP), keys=sql.SQL(", ").join(key_exprs))
        if key_exprs
        else None,
        load_valid=sql.SQL("{p}\n{into}\nselect {vals}\nfrom checked where _ok").format(
            p=pipeline, into=raw_into, vals=raw_values
        )
        if careful
        else sql.SQL("{into}\nselect {vals}\nfrom pg_temp.{tmp} where {ok}").format(
            into=raw_into,
            vals=sql.SQL(
                "{direct}, %(batch_id)s, %(file)s, _row_number, now(), "
                "%(extracted_at)s::timestamptz, {extra}"
            ).format(direct=sql.SQL(", ").join(direct), extra=extra),
            tmp=Id(_TMP),
            ok=ok_text,
        ),
        quarantine_invalid=sql.SQL(
            "{p}\n{into}\nselect %(source)s, %(table)s, %(batch_id)s, %(file)s, _row_number, "
            "({err_cols})[1], {err_msgs}, left({raw_line}, {raw_max}), now()\n"
            "from checked where not _ok"
        ).format(p=pipeline, into=quarantine_into, **fmt),
        with_duplicates=sql.SQL(
            """{p},
ranked as materialized (
    select checked.*, {first} as _first
    from checked
),
quarantined as (
    {qinto}
    select %(source)s, %(table)s, %(batch_id)s, %(file)s, _row_number,
        case when _ok then {dup_col} else ({err_cols})[1] end,
        case when _ok then {dup_reason} else {err_msgs} end,
        left({raw_line}, {raw_max}), now()
    from ranked
    where not _ok or _first <> _row_number
    returning 1
),
loaded as (
    {rinto}
    select {rvals}
    from ranked
    where _ok and _first = _row_number
    returning 1
)
select (select count(*) from loaded), (select count(*) from quarantined)
"""
        ).format(p=pipeline, qinto=quarantine_into, rinto=raw_into, rvals=raw_values, **fmt),
    )


@dataclass(frozen=True)
class _Statements:
    """The SQL that types one file's temp table into raw (parameters: see _typing_statements).

    ``dup_check`` returns >0 if some key occurs twice (None: the table has no key); then
    ``with_duplicates`` does everything and returns (loaded, quarantined). Otherwise
    ``load_valid`` and, if it loaded fewer rows than there are, ``quarantine_invalid``.
    """

    dup_check: sql.Composable | None
    load_valid: sql.Composable
    quarantine_invalid: sql.Composable
    with_duplicates: sql.Composable


def _type_rows(
    conn: psycopg.Connection, stmts: _Statements, params: dict, rows: int
) -> tuple[int, int]:
    """Run the typing statements for a temp table of ``rows`` rows: (loaded, quarantined)."""
    if stmts.dup_check is not None and conn.execute(stmts.dup_check).fetchone()[0]:
        loaded, quarantined = conn.execute(stmts.with_duplicates, params).fetchone()
        return loaded, quarantined
    with conn.cursor() as cur:
        cur.execute(stmts.load_valid, params)
        loaded = cur.rowcount
        quarantined = 0
        if loaded < rows:
            cur.execute(stmts.quarantine_invalid, params)
            quarantined = cur.rowcount
    return loaded, quarantined
