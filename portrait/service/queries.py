"""The service's reads of `marts.*` (parameters always bound, identifiers from fixed lists) and
its writes to `audit.access_log`. Functions take a psycopg connection inside a transaction and
return plain dicts/lists, so the API and the panel share them."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

# The filter language is the marketing library's (audiences use the same one); its names stay
# importable from here for the API, the panel and their tests.
from marketing.filters import (
    FACETS,
    PROFILE,  # noqa: F401 (re-exported)
    SCORES,  # noqa: F401 (re-exported)
    WATCHLISTS,
    BadParameter,
    CustomerFilter,
    validate_filter,
    where_clause,
)
from portrait.service.auth import Principal
from portrait.service.roles import hidden_columns

# What a list may be sorted by: numbers either way (`-` first: descending), text ascending.
NUMERIC_SORTS = (
    "churn_score", "credit_pd", "purchase_score", "revenue_cny_365d", "orders_365d",
    "days_since_last_order", "revenue_trend_90d", "overdue_balance_cny",
)  # fmt: skip
TEXT_SORTS = ("cid", "customer_name")
LIST_COLUMNS = (
    "cid", "customer_name", "customer_type", "industry", "region", "city", "owner_sales",
    "lifecycle_stage", "value_tier", "rfm_segment", "segment_name",
    "churn_score", "churn_band", "credit_pd", "credit_grade", "purchase_score", "purchase_band",
    "revenue_cny_365d", "orders_365d", "days_since_last_order", "revenue_trend_90d",
    "overdue_balance_cny", "credit_limit_use", "late_invoice_share_365d",
    "tickets_365d", "complaint_tickets_365d", "avg_satisfaction_365d", "sample_requests_365d",
    "on_churn_watchlist", "on_credit_watchlist", "current_tags", "features_as_of_date",
)  # fmt: skip
DEFAULT_FIELDS = (
    "cid", "customer_name", "customer_type", "industry", "region", "city", "lifecycle_stage",
    "value_tier", "churn_score", "churn_band", "credit_grade", "purchase_band", "revenue_cny_365d",
)  # fmt: skip
MAX_PAGE = 200


def allowed_fields(principal: Principal) -> list[str]:
    hidden = hidden_columns(principal.role)
    return [c for c in LIST_COLUMNS if c not in hidden]


def parse_fields(principal: Principal, fields: str | None) -> list[str]:
    allowed = allowed_fields(principal)
    if not fields:
        return [c for c in DEFAULT_FIELDS if c in allowed]
    wanted = [f.strip() for f in fields.split(",") if f.strip()]
    unknown = [f for f in wanted if f not in allowed]
    if unknown or not wanted:
        raise BadParameter("fields", f"fields not available to you: {unknown}; allowed: {allowed}")
    return ["cid", *[f for f in wanted if f != "cid"]]


def _sort(sort: str | None) -> tuple[str, bool, bool]:
    """(column, descending, numeric)."""
    sort = sort or "cid"
    descending = sort.startswith("-")
    column = sort.removeprefix("-")
    if column in NUMERIC_SORTS:
        return column, descending, True
    if column in TEXT_SORTS and not descending:
        return column, False, False
    raise BadParameter(
        "sort",
        f"sort is one of {list(NUMERIC_SORTS)} (prefix - for descending) or {list(TEXT_SORTS)}",
    )


def _sort_key(column: str, descending: bool, numeric: bool) -> sql.Composable:
    if numeric:
        # one ascending key, nulls last in either direction, so the keyset is a row comparison
        sign = sql.SQL("-") if descending else sql.SQL("")
        return sql.SQL("coalesce({}{}::float8, 'Infinity'::float8)").format(
            sign, sql.Identifier(column)
        )
    return sql.SQL("coalesce({}, '')").format(sql.Identifier(column))


def encode_cursor(key: Any, cid: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([key, cid]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, numeric: bool) -> tuple[Any, str]:
    try:
        key, cid = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(cid, str) or (numeric and not isinstance(key, int | float)):
            raise ValueError
        if not numeric and not isinstance(key, str):
            raise ValueError
        return (float(key) if numeric else key), cid
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
        raise BadParameter("cursor", "cursor is not one this service gave") from None


def list_customers(
    conn: psycopg.Connection,
    principal: Principal,
    flt: CustomerFilter,
    *,
    fields: list[str],
    sort: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict:
    validate_filter(conn, flt)
    column, descending, numeric = _sort(sort)
    key = _sort_key(column, descending, numeric)
    where, params = where_clause(flt)
    if cursor:
        value, after = decode_cursor(cursor, numeric)
        where = sql.SQL("{} and ({}, cid) > (%s, %s)").format(where, key)
        params += [value if not numeric or value != float("inf") else "Infinity", after]
    query = sql.SQL(
        "select {fields}, {key} as sort_key from marts.mart_customer_profile"
        " where {where} order by sort_key, cid limit %s"
    ).format(fields=sql.SQL(", ").join(map(sql.Identifier, fields)), key=key, where=where)
    rows = conn.cursor(row_factory=dict_row).execute(query, [*params, limit + 1]).fetchall()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(
            last["sort_key"] if last["sort_key"] != float("inf") else "Infinity", last["cid"]
        )
    for r in rows:
        r.pop("sort_key")
    return {"items": [jsonable(r) for r in rows], "next_cursor": next_cursor}


def facet_counts(conn: psycopg.Connection, principal: Principal, flt: CustomerFilter) -> dict:
    """Customers per value of each facet under the filter (the panel's facet counts)."""
    validate_filter(conn, flt)
    where, params = where_clause(flt)
    shown = [k for k in FACETS if FACETS[k] not in hidden_columns(principal.role)]
    selects = sql.SQL(" union all ").join(
        sql.SQL("select %s::text as facet, {c}::text as value, count(*) as n"
                " from filtered group by {c}").format(c=sql.Identifier(FACETS[k]))
        for k in shown
    )  # fmt: skip
    query = sql.SQL(
        "with filtered as (select * from marts.mart_customer_profile where {where}) {selects}"
    ).format(where=where, selects=selects)
    out: dict[str, dict[str, int]] = {k: {} for k in shown}
    total = conn.execute(
        sql.SQL("select count(*) from marts.mart_customer_profile where {}").format(where), params
    ).fetchone()[0]
    for facet, value, n in conn.execute(query, [*params, *shown]).fetchall():
        if value is not None:
            out[facet][value] = n
    return {"total": total, "facets": out}


def jsonable(row: dict) -> dict:
    out = {}
    for k, v in row.items():
        if isinstance(v, dt.date | dt.datetime):
            out[k] = v.isoformat()
        elif hasattr(v, "is_finite") and not isinstance(v, float):  # Decimal
            out[k] = float(v)
        else:
            out[k] = v
    return out


# --- one customer -------------------------------------------------------------------------------

PROFILE_READ_SQL = """
with p as (
  select to_jsonb(p) - %(hidden)s::text[] as doc
  from marts.mart_customer_profile as p where p.cid = %(cid)s
), g as (
  select row_to_json(d) as doc, d.owner_sales from marts.dim_customer as d where d.cid = %(cid)s
), scope as (
  select case %(contacts)s::text
    when 'all' then 'clear'
    when 'own' then case when %(owner)s::text = (select owner_sales from g) then 'clear'
                         else 'none' end
    else %(contacts)s::text end as scope
), doc as (select json_build_object(
  'profile', coalesce((select doc from p), '{}'::jsonb),
  'golden', (select doc from g),
  'source_ids', (select coalesce(json_agg(s order by s.source_system, s.source_record_id), '[]')
    from (select source_system, source_table, source_record_id
          from marts.mart_customer_source_ids where cid = %(cid)s) as s),
  'tags', (select coalesce(json_agg(t order by t.category, t.tag_code), '[]') from (
      select t.tag_code, t.tag_value, t.category, t.category_cn, t.name_cn, t.name_en,
        t.tag_kind as kind, t.tag_source as source, t.score, t.reasons, t.model,
        t.raises_warning, t.as_of_date,
        (select max(h.since_date) from marts.customer_profile_history as h
         where h.cid = t.cid and h.tag_code = t.tag_code and h.is_current) as since_date,
        c.rule_sql as rule, c.rule_version
      from marts.mart_customer_tags as t
      left join marts.mart_tag_catalog as c on c.tag_code = t.tag_code
      where t.cid = %(cid)s and t.is_current and (%(credit)s or t.category <> 'credit')) as t),
  'evidence', (select coalesce(json_agg(e order by e.tag_code, e.evidence_rank), '[]') from (
      select tag_code, evidence_rank, evidence_documents, source_system, source_record_id,
        known_at, topic_name_zh, topic_name_en, excerpt, requirements
      from marts.mart_customer_text_evidence
      where cid = %(cid)s and (%(service)s or source_system <> 'service')) as e),
  'scores', (select coalesce(json_agg(s order by s.target), '[]') from (
      select distinct on (target) target, score, band, as_of_date,
        array_remove(array[reason_1, reason_2, reason_3], null) as reasons,
        model_name, model_version
      from marts.mart_customer_score_history
      where cid = %(cid)s and (%(credit)s or target <> all(%(credit_targets)s::text[]))
      order by target, as_of_date desc) as s),
  'recommendations', (select coalesce(json_agg(r order by r.rank), '[]') from (
      select recommendation_rank as rank, material_id, material_family,
        material_name_cn as name_cn, material_name_en as name_en, score, reason, reason_cn
      from marts.mart_material_recommendations
      where cid = %(cid)s and as_of_date = (select max(as_of_date)
        from marts.mart_material_recommendations where cid = %(cid)s)) as r),
  'warnings', (select coalesce(json_agg(w), '[]') from (
      select 'churn' as watchlist, watch_rank, watch_since, warning_tags, warning_names_cn,
             reasons, model_band
      from marts.mart_churn_watchlist where cid = %(cid)s
      union all
      select 'credit', watch_rank, watch_since, warning_tags, warning_names_cn, reasons,
             model_band
      from marts.mart_credit_watchlist where cid = %(cid)s and %(credit)s) as w),
  'activity', (select coalesce(json_agg(a order by a.month), '[]') from (
      select month, orders, revenue_cny, sample_requests, tickets, complaints
      from marts.mart_customer_activity_monthly where cid = %(cid)s) as a),
  'contacts_scope', (select scope from scope),
  'contacts', case when (select scope from scope) <> 'none' then
    (select coalesce(json_agg(c order by c.person_id), '[]') from (
        select {contacts} from {contacts_table} where cid = %(cid)s) as c)
    else '[]' end
  ) as doc
  where exists (select from p) or exists (select from g)
){audit}
select (select doc::text from doc),
       (select surviving_cid from marts.mart_cid_redirects where retired_cid = %(cid)s)
"""
# the audit row of the view, written by the same statement (a data-modifying CTE)
_PROFILE_AUDIT = """,
logged as (
  insert into audit.access_log (client, action, cids, columns, detail)
  select %(client)s, 'profile', array[%(cid)s::text],
         array(select jsonb_object_keys((select doc from p)) order by 1),
         jsonb_build_object('role', %(role)s::text, 'contacts', (select scope from scope))
           || %(detail)s::jsonb
  where exists (select from doc)
)"""
CONTACT_COLUMNS = "person_id, person_name, title, role, is_rd_contact, phone, email, sources"
# Which copy of the contacts a role's statement names: the masked mart, or the clear one under
# row-level security. Only the statements of roles that may see clear contacts name the clear
# table, so pgaudit's object audit logs a clear read only where one can happen.
CONTACTS_TABLES = {
    "none": "marts.customer_contacts",  # never read: the scope is 'none'
    "masked": "marts.customer_contacts",
    "own": "marts_restricted.customer_contacts",
    "all": "marts_restricted.customer_contacts",
}


@functools.cache
def profile_sql(contacts: str, *, audit: bool = True) -> str:
    """The profile's statement for a role's contacts rule; `audit=False`: the read alone (the
    bench's bare query)."""
    text = (
        PROFILE_READ_SQL.replace("{contacts}", CONTACT_COLUMNS)
        .replace("{contacts_table}", CONTACTS_TABLES[contacts])
        .replace("{audit}", _PROFILE_AUDIT if audit else "")
    )
    # one line: psycopg caches the parsing of a statement up to 4 kB long (else each call
    # re-parses it); no literal in it holds a run of spaces
    return " ".join(text.split())


CREDIT_TARGETS = ["default_90dpd_180d"]


def redirect_target(conn: psycopg.Connection, cid: str) -> str | None:
    row = conn.execute(
        "select surviving_cid from marts.mart_cid_redirects where retired_cid = %s", (cid,)
    ).fetchone()
    return row[0] if row else None


def profile_parameters(principal: Principal, cid: str, detail: dict | None = None) -> dict:
    role = principal.role
    return {
        "cid": cid,
        "hidden": sorted(hidden_columns(role)),
        "credit": role.credit,
        "service": role.service,
        "credit_targets": CREDIT_TARGETS,
        "contacts": role.contacts,
        "owner": principal.owner_sales,
        "client": principal.client,
        "role": role.name,
        "detail": json.dumps(detail or {}),
    }


def profile_json(
    conn: psycopg.Connection, principal: Principal, cid: str, *, detail: dict | None = None
) -> tuple[str | None, str | None]:
    """The whole portrait of one customer as the principal may see it, as JSON text: one
    statement (one snapshot of every mart it reads) that filters by role, writes the audit row
    and, for an unknown CID, names the CID a merge folded it into. Returns (document, None),
    (None, surviving CID) or (None, None)."""
    role = principal.role
    statement, params = profile_sql(role.contacts), profile_parameters(principal, cid, detail)
    if role.contacts in ("all", "own"):
        # the clear copy is under row-level security: the request's scope goes with it, sent
        # with the statement (one round trip)
        with conn.pipeline():
            conn.execute(
                "select set_config('portrait.contacts_scope', %s, true),"
                " set_config('portrait.owner_sales', %s, true)",
                (role.contacts, principal.owner_sales or ""),
            )
            cur = conn.execute(statement, params)
    else:
        cur = conn.execute(statement, params)
    doc, redirect = cur.fetchone()
    return doc, (None if doc is not None else redirect)


def get_profile(
    conn: psycopg.Connection, principal: Principal, cid: str, *, detail: dict | None = None
) -> tuple[dict | None, str | None]:
    """`profile_json` parsed: (portrait, None), (None, surviving CID) or (None, None)."""
    doc, redirect = profile_json(conn, principal, cid, detail=detail)
    return (json.loads(doc) if doc is not None else None), redirect


def get_history(conn: psycopg.Connection, principal: Principal, cid: str) -> dict:
    cur = conn.cursor(row_factory=dict_row)
    tags = cur.execute(
        "select tag_code, tag_value, category, name_cn, name_en, tag_source, since_date,"
        " until_date, is_current from marts.customer_profile_history where cid = %s"
        " order by since_date, tag_code",
        (cid,),
    ).fetchall()
    scores = cur.execute(
        "select target, as_of_date, score, band, model_version"
        " from marts.mart_customer_score_history where cid = %s order by target, as_of_date",
        (cid,),
    ).fetchall()
    if not principal.role.credit:
        tags = [t for t in tags if t["category"] != "credit"]
        scores = [s for s in scores if s["target"] not in CREDIT_TARGETS]
    return {
        "cid": cid,
        "tags": [jsonable(t) for t in tags],
        "scores": [jsonable(s) for s in scores],
    }


def tag_catalog(conn: psycopg.Connection) -> list[dict]:
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(
            "select tag_code, name_cn, name_en, category, category_cn, tag_kind, tag_group, status,"
            " description, raises_warning, current_customers, current_as_of_date"
            " from marts.mart_tag_catalog order by catalog_order, tag_code"
        )
        .fetchall()
    )
    return [jsonable(r) for r in rows]


def segments(conn: psycopg.Connection) -> dict:
    cur = conn.cursor(row_factory=dict_row)
    ml = cur.execute(
        "select segment_id, segment_name, count(*) as customers, avg(segment_pc1) as pc1,"
        " avg(segment_pc2) as pc2 from marts.mart_customer_profile"
        " where segment_id is not null group by 1, 2 order by 1"
    ).fetchall()
    lifecycle = cur.execute(
        "select lifecycle_stage, count(*) as customers from marts.mart_customer_profile"
        " group by 1 order by 2 desc"
    ).fetchall()
    summary = cur.execute(
        "select * from marts.mart_segment_summary"
        " where as_of_date = (select max(as_of_date) from marts.mart_segment_summary)"
        " order by customers desc limit 500"
    ).fetchall()
    return {
        "ml_segments": [jsonable(r) for r in ml],
        "lifecycle": [jsonable(r) for r in lifecycle],
        "summary": [jsonable(r) for r in summary],
    }


def segment_map(conn: psycopg.Connection, limit: int = 5000) -> list[list]:
    """Customers' positions on the segment map (PCA): [pc1, pc2, segment_id, cid]."""
    return [
        list(r)
        for r in conn.execute(
            "select segment_pc1, segment_pc2, segment_id, cid from marts.mart_customer_profile"
            " where segment_pc1 is not null order by cid limit %s",
            (limit,),
        ).fetchall()
    ]


def watchlist(conn: psycopg.Connection, kind: str, *, limit: int, offset_rank: int) -> dict:
    table = sql.SQL(WATCHLISTS[kind])
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(
            sql.SQL(
                "select watch_rank, cid, as_of_date, warning_tags, warning_names_cn, warning_count,"
                " watch_since, reasons, model_score, model_band, model_reasons, lifecycle_stage,"
                " value_tier from {} where watch_rank > %s order by watch_rank limit %s"
            ).format(table),
            (offset_rank, limit + 1),
        )
        .fetchall()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [jsonable(r) for r in rows],
        "next_after_rank": rows[-1]["watch_rank"] if more and rows else None,
    }


CHANGES_SQL = """
with changes as (
    select cid, 'tags' as kind, greatest(since_date, coalesce(until_date, since_date)) as on_day
    from marts.customer_profile_history
    where since_date >= %(since)s or until_date >= %(since)s
    union all
    select cid, 'scores', as_of_date
    from (select cid, target, as_of_date, band,
                 lag(band) over (partition by cid, target order by as_of_date) as before
          from marts.mart_customer_score_history
          where as_of_date >= %(since)s - 62) as s
    where as_of_date >= %(since)s and before is distinct from band
    union all
    select cid, 'record', first_known_at::date from marts.dim_customer
    where first_known_at::date >= %(since)s
    union all
    -- a golden record new to the warehouse, or changed, on the day a build recorded it
    select cid, 'record', recorded_at::date from marts.mart_customer_record_versions
    where recorded_at >= %(since)s::date
)
select cid, array_agg(distinct kind order by kind) as kinds, max(on_day) as last_changed_on
from changes where cid > %(after)s group by cid order by cid limit %(limit)s
"""


def changes(conn: psycopg.Connection, since: dt.date, *, after: str, limit: int) -> dict:
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(CHANGES_SQL, {"since": since, "after": after, "limit": limit + 1})
        .fetchall()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "since": since.isoformat(),
        "items": [jsonable(r) for r in rows],
        "next_after": rows[-1]["cid"] if more and rows else None,
    }


def export_rows(
    conn: psycopg.Connection, principal: Principal, flt: CustomerFilter, fields: list[str]
) -> Iterator[tuple]:
    """The filtered list in CID order through a server-side cursor (constant memory)."""
    validate_filter(conn, flt)
    where, params = where_clause(flt)
    query = sql.SQL("select {} from marts.mart_customer_profile where {} order by cid").format(
        sql.SQL(", ").join(map(sql.Identifier, fields)), where
    )
    with conn.cursor(name="portrait_export") as cur:
        cur.itersize = 2000
        cur.execute(query, params)
        yield from cur


def audit(
    conn: psycopg.Connection,
    principal: Principal,
    action: str,
    *,
    cids: list[str] | None = None,
    columns: list[str] | None = None,
    detail: dict | None = None,
) -> None:
    conn.execute(
        "insert into audit.access_log (client, action, cids, columns, detail)"
        " values (%s, %s, %s, %s, %s)",
        (
            principal.client,
            action,
            cids,
            columns,
            json.dumps({"role": principal.role.name, **(detail or {})}, default=str),
        ),
    )
