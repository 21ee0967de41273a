"""`/api/v1`: the portraits for CRM, marketing and service systems (docs/service.md)."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from marketing import audiences
from portrait.service import auth, queries
from portrait.service.auth import Principal
from portrait.service.deps import authenticate, credentials_given, db, principal
from portrait.service.queries import BadParameter, CustomerFilter

router = APIRouter(prefix="/api/v1")
MAX_PAGE = queries.MAX_PAGE
SORT_PATTERN = (
    "^(-?(" + "|".join(queries.NUMERIC_SORTS) + ")|" + "|".join(queries.TEXT_SORTS) + ")$"
)

Many = Annotated[list[str] | None, Query(max_length=50)]
Score = Annotated[float | None, Query(ge=0.0, le=1.0)]


class Page(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class Facets(BaseModel):
    total: int
    facets: dict[str, dict[str, int]]


class Profile(BaseModel):
    profile: dict[str, Any]
    golden: dict[str, Any] | None
    source_ids: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    evidence: list[dict[str, Any]] = Field(
        description="the texts behind each current semantic tag (tag_code, evidence_rank),"
        " excerpts masked; service-desk texts only for roles with the service leave"
    )
    scores: list[dict[str, Any]]
    recommendations: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    activity: list[dict[str, Any]]
    contacts_scope: Literal["clear", "masked", "none"]
    contacts: list[dict[str, Any]]


class History(BaseModel):
    cid: str
    tags: list[dict[str, Any]]
    scores: list[dict[str, Any]]


class Segments(BaseModel):
    ml_segments: list[dict[str, Any]]
    lifecycle: list[dict[str, Any]]
    summary: list[dict[str, Any]]


class Watchlist(BaseModel):
    items: list[dict[str, Any]]
    next_after_rank: int | None


class Changes(BaseModel):
    since: str
    items: list[dict[str, Any]]
    next_after: str | None = Field(description="pass as `after` for the next page")


def customer_filter(
    customer_type: Many = None,
    industry: Many = None,
    region: Many = None,
    city: Many = None,
    lifecycle_stage: Many = None,
    value_tier: Many = None,
    rfm_segment: Many = None,
    segment: Many = None,
    owner: Many = None,
    churn_band: Many = None,
    credit_grade: Many = None,
    purchase_band: Many = None,
    tag_all: Many = None,
    tag_any: Many = None,
    tag_none: Many = None,
    churn_min: Score = None,
    churn_max: Score = None,
    credit_min: Score = None,
    credit_max: Score = None,
    purchase_min: Score = None,
    purchase_max: Score = None,
    watchlist: Literal["churn", "credit"] | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> CustomerFilter:
    """Facets take several values (any of them); tags all-of / any-of / none-of; score ranges
    0..1 per target."""
    given = locals()
    return CustomerFilter(
        facets={k: given[k] for k in queries.FACETS if given[k]},
        tags_all=tag_all or [],
        tags_any=tag_any or [],
        tags_none=tag_none or [],
        score_ranges={
            p: (given[f"{p}_min"], given[f"{p}_max"])
            for p in queries.SCORES
            if given[f"{p}_min"] is not None or given[f"{p}_max"] is not None
        },
        watchlist=watchlist,
        q=q,
    )


Filter = Annotated[CustomerFilter, Depends(customer_filter)]
Who = Annotated[Principal, Depends(principal)]


def bad(err: BadParameter) -> HTTPException:
    return HTTPException(
        status_code=422,
        detail=[{"loc": ["query", err.parameter], "msg": err.message, "type": "value_error"}],
    )


def _credit_filter_allowed(who: Principal, flt: CustomerFilter) -> None:
    if not who.role.credit and ("credit_grade" in flt.facets or "credit" in flt.score_ranges):
        name = "credit_grade" if "credit_grade" in flt.facets else "credit_min"
        raise bad(BadParameter(name, f"{name}: the {who.role.name} role does not see credit"))


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


@router.post(
    "/session",
    tags=["session"],
    responses={400: {"description": "a body that is not JSON"},
               401: {"description": "wrong login"},
               429: {"description": "too many failed sign-ins of this username: see Retry-After"}},
)  # fmt: skip
def sign_in(credentials: Credentials, request: Request) -> JSONResponse:
    """Sign a person in: sets the session cookie (httponly) that the panel and API accept.
    Five wrong passwords for a username within 15 minutes lock its sign-in for the rest of
    them (429 with Retry-After)."""
    try:
        secret, who = sign_in_person(request, credentials.username, credentials.password)
    except auth.TooManyFailures as err:
        return JSONResponse({"detail": str(err)}, status_code=429,
                            headers={"Retry-After": str(err.retry_after_s)})  # fmt: skip
    if who is None:
        return JSONResponse({"detail": "unknown user or wrong password"}, status_code=401)
    response = JSONResponse({"username": who.name, "role": who.role.name})
    set_session_cookie(response, secret)
    return response


def sign_in_person(
    request: Request, username: str, password: str
) -> tuple[str | None, Principal | None]:
    """Check a person's password (the throttle first); a session and its audit row on
    success. The API's and the panel's sign-in."""
    addr = request.client.host if request.client else None
    with db(request) as conn:
        secret = auth.sign_in(conn, username, password, addr)
        who = auth.principal_from_session(conn, secret) if secret else None
        if who is not None:
            queries.audit(conn, who, "sign-in", detail={"client_addr": addr})
    return secret, who


def set_session_cookie(response, secret: str) -> None:
    response.set_cookie(
        auth.SESSION_COOKIE, secret, max_age=auth.SESSION_HOURS * 3600,
        httponly=True, samesite="lax", path="/",
    )  # fmt: skip


@router.delete("/session", tags=["session"])
def sign_out(request: Request, who: Who) -> JSONResponse:
    """End the caller's session."""
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    if cookie:
        with db(request) as conn:
            auth.sign_out(conn, cookie)
    response = JSONResponse({"signed_out": who.name})
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


@router.get("/customers", response_model=Page, tags=["customers"])
def list_customers(
    who: Who,
    flt: Filter,
    request: Request,
    fields: Annotated[
        str | None, Query(max_length=2000, pattern=r"^[a-z0-9_]+(,[a-z0-9_]+)*$")
    ] = None,
    sort: Annotated[str | None, Query(max_length=60, pattern=SORT_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict:
    """Customers matching the filters, `limit` per page (keyset pagination: `next_cursor`)."""
    _credit_filter_allowed(who, flt)
    with db(request) as conn:
        try:
            columns = queries.parse_fields(who, fields)
            page = queries.list_customers(
                conn, who, flt, fields=columns, sort=sort, limit=limit, cursor=cursor
            )
        except BadParameter as err:
            raise bad(err) from None
        queries.audit(
            conn, who, "list", cids=[r["cid"] for r in page["items"]], columns=columns,
            detail={"query": str(request.url.query)[:2000]},
        )  # fmt: skip
    return page


@router.get("/customers/facets", response_model=Facets, tags=["customers"])
def customer_facets(who: Who, flt: Filter, request: Request) -> dict:
    """How many customers each facet value has under the filters (for facet counts)."""
    _credit_filter_allowed(who, flt)
    with db(request) as conn:
        try:
            return queries.facet_counts(conn, who, flt)
        except BadParameter as err:
            raise bad(err) from None


CID = Annotated[str, Path(min_length=1, max_length=64)]


@router.get(
    "/customers/{cid}",
    response_model=Profile,
    tags=["customers"],
    responses={308: {"description": "a CID retired by a merge: the surviving CID"},
               404: {"description": "unknown CID"}},
    dependencies=[Depends(credentials_given)],
)  # fmt: skip
def get_customer(cid: CID, request: Request) -> Any:
    """The portrait of one customer: golden record with each value's source, source-system
    IDs, current tags (since when, by which rule), each model's latest score with reasons,
    segment and map position, recommendations, watchlist warnings, monthly activity and the
    contacts the caller's role may see."""
    with db(request) as conn:  # who asks, the portrait and its audit row: one transaction
        doc, target = queries.profile_json(conn, authenticate(request, conn), cid)
    if doc is not None:
        # PostgreSQL's own JSON text: the statement filtered it for the role already
        return Response(doc, media_type="application/json")
    if target:
        return RedirectResponse(f"/api/v1/customers/{target}", status_code=308)
    raise HTTPException(404, f"no customer {cid}")


@router.get(
    "/customers/{cid}/history",
    response_model=History,
    tags=["customers"],
    responses={308: {"description": "retired CID"}, 404: {"description": "unknown CID"}},
)
def get_customer_history(cid: CID, who: Who, request: Request) -> Any:
    """Tag spans (since/until) and the score series of one customer."""
    with db(request) as conn:
        if not conn.execute(
            "select 1 from marts.mart_customer_profile where cid = %s", (cid,)
        ).fetchone():
            target = queries.redirect_target(conn, cid)
            if target:
                return RedirectResponse(f"/api/v1/customers/{target}/history", status_code=308)
            raise HTTPException(404, f"no customer {cid}")
        history = queries.get_history(conn, who, cid)
        queries.audit(conn, who, "history", cids=[cid])
    return history


@router.get("/tags", tags=["catalog"])
def tags(who: Who, request: Request) -> list[dict[str, Any]]:
    """The tag catalog with the number of customers carrying each tag now."""
    with db(request) as conn:
        return queries.tag_catalog(conn)


@router.get("/segments", response_model=Segments, tags=["catalog"])
def segments(who: Who, request: Request) -> dict:
    """ML segments (size, centre on the map), the lifecycle funnel, the segment summary."""
    with db(request) as conn:
        return queries.segments(conn)


@router.get("/segments/map", tags=["catalog"])
def segment_map(
    who: Who, request: Request, limit: Annotated[int, Query(ge=1, le=20000)] = 5000
) -> list[list[Any]]:
    """Customers on the segment map: [pc1, pc2, segment_id, cid]."""
    with db(request) as conn:
        return queries.segment_map(conn, limit)


@router.get("/watchlists/{kind}", response_model=Watchlist, tags=["watchlists"])
def watchlist(
    kind: Literal["churn", "credit"],
    who: Who,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    after_rank: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> dict:
    """The churn or credit watchlist in rank order."""
    if kind == "credit" and not who.role.credit:
        raise HTTPException(403, f"the {who.role.name} role does not see the credit watchlist")
    with db(request) as conn:
        page = queries.watchlist(conn, kind, limit=limit, offset_rank=after_rank)
        queries.audit(conn, who, f"watchlist:{kind}", cids=[r["cid"] for r in page["items"]])
    return page


@router.get("/changes", response_model=Changes, tags=["sync"])
def changes(
    since: Annotated[dt.date, Query(ge=dt.date(2000, 1, 1), le=dt.date(2999, 12, 31))],
    who: Who,
    request: Request,
    after: Annotated[str, Query(max_length=64)] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> dict:
    """Customers whose tags, score bands or golden record changed on or after `since` (for
    an incremental CRM sync: fetch each listed CID's portrait)."""
    with db(request) as conn:
        page = queries.changes(conn, since, after=after, limit=limit)
        queries.audit(conn, who, "changes", cids=[r["cid"] for r in page["items"]],
                      detail={"since": since.isoformat()})  # fmt: skip
    return page


ENCODINGS = {"utf-8-sig": "utf-8-sig", "gb18030": "gb18030", "utf-8": "utf-8"}


@router.get(
    "/export",
    tags=["customers"],
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
)
def export(
    who: Who,
    flt: Filter,
    request: Request,
    format: Literal["csv", "ndjson"] = "csv",
    encoding: Literal["utf-8-sig", "gb18030", "utf-8"] = "utf-8-sig",
    fields: Annotated[
        str | None, Query(max_length=2000, pattern=r"^[a-z0-9_]+(,[a-z0-9_]+)*$")
    ] = None,
) -> StreamingResponse:
    """The filtered customer list, streamed (constant memory): CSV (UTF-8 with BOM by default,
    GB18030 for older Excel) or NDJSON."""
    if not who.role.export:
        raise HTTPException(403, f"the {who.role.name} role may not export")
    _credit_filter_allowed(who, flt)
    try:
        with db(request) as conn:
            columns = queries.parse_fields(who, fields)
            queries.validate_filter(conn, flt)
            # the request itself, before a row leaves (an export cut off halfway stays on record)
            detail = {"format": format, "query": str(request.url.query)[:2000]}
            queries.audit(conn, who, "export-start", columns=columns, detail=detail)
    except BadParameter as err:
        raise bad(err) from None
    pool = request.app.state.pool

    def stream() -> Iterator[bytes]:
        cids: list[str] = []
        with pool.connection() as conn:
            rows = queries.export_rows(conn, who, flt, columns)
            if format == "csv":
                encoder = codecs.getincrementalencoder(ENCODINGS[encoding])()
                buf = io.StringIO()
                writer = csv.writer(buf)
                writer.writerow(columns)
                for i, row in enumerate(rows):
                    cids.append(row[0])
                    writer.writerow(row)
                    if i % 1000 == 999:
                        yield encoder.encode(buf.getvalue())
                        buf.seek(0)
                        buf.truncate()
                yield encoder.encode(buf.getvalue(), final=True)
            else:
                chunk: list[str] = []
                for row in rows:
                    cids.append(row[0])
                    chunk.append(json.dumps(queries.jsonable(dict(zip(columns, row, strict=True))),
                                            ensure_ascii=False))  # fmt: skip
                    if len(chunk) == 1000:
                        yield ("\n".join(chunk) + "\n").encode()
                        chunk = []
                if chunk:
                    yield ("\n".join(chunk) + "\n").encode()
            queries.audit(conn, who, "export", cids=cids, columns=columns,
                          detail={"format": format, "rows": len(cids),
                                  "query": str(request.url.query)[:2000]})  # fmt: skip

    media = "text/csv" if format == "csv" else "application/x-ndjson"
    charset = "" if format == "ndjson" else f"; charset={encoding.removesuffix('-sig')}"
    name = f"customers-{dt.date.today().isoformat()}.{'csv' if format == 'csv' else 'ndjson'}"
    return StreamingResponse(
        stream(), media_type=media + charset,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )  # fmt: skip


# --- audiences (issue 19): the marketing system's campaigns -------------------------------------

AudienceId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
CampaignId = Annotated[
    str, Query(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
]
RunId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$")]
AUDIENCE_ERRORS = {
    403: {"description": "a role without audiences (the marketing system and admins have them)"},
    404: {"description": "unknown audience or run"},
    503: {"description": "activation's tables are not created yet"},
}


def _audiences_allowed(who: Principal) -> None:
    if not who.role.audiences:
        raise HTTPException(403, f"the {who.role.name} role has no audiences")


def _audience_call(fn, *args, **kwargs):
    """The marketing library's refusals as HTTP answers."""
    try:
        return fn(*args, **kwargs)
    except audiences.UnknownAudience as err:
        raise HTTPException(404, str(err)) from None
    except audiences.AudienceError as err:
        raise HTTPException(409, str(err)) from None
    except RuntimeError as err:
        raise HTTPException(503, str(err)) from None


@router.get("/audiences", tags=["audiences"], responses=AUDIENCE_ERRORS)
def audience_list(who: Who, request: Request) -> list[dict[str, Any]]:
    """Saved audiences (latest version each: filter as query parameters, holdout share, how many
    runs and campaigns); the shipped ones are defined on first use."""
    _audiences_allowed(who)
    with db(request) as conn:
        items = _audience_call(audiences.list_audiences, conn)
        queries.audit(conn, who, "audiences")
    return items


@router.get("/audiences/{audience_id}", tags=["audiences"], responses=AUDIENCE_ERRORS)
def audience_get(audience_id: AudienceId, who: Who, request: Request) -> dict[str, Any]:
    """One audience: every version (newest first) and every run with its counts."""
    _audiences_allowed(who)
    with db(request) as conn:
        found = _audience_call(audiences.get_audience, conn, audience_id)
        if found is None:
            raise HTTPException(404, f"no audience {audience_id}")
        queries.audit(conn, who, "audience", detail={"audience_id": audience_id})
    return found


@router.post(
    "/audiences/{audience_id}/runs",
    tags=["audiences"],
    responses={**AUDIENCE_ERRORS, 409: {"description": "the campaign is another audience's"}},
)
def audience_materialise(
    audience_id: AudienceId, campaign_id: CampaignId, who: Who, request: Request
) -> dict[str, Any]:
    """Materialise the audience's latest version for a campaign on the current profiles: who is
    eligible, treated and held out (a reproducible holdout; a campaign keeps each customer's
    first assignment). Again for the same campaign and snapshot: the same run."""
    _audiences_allowed(who)
    with db(request) as conn:
        run = _audience_call(audiences.materialise, conn, audience_id, campaign_id)
        queries.audit(conn, who, "audience-run", detail={
            "audience_id": audience_id, "campaign_id": campaign_id, "run_id": run["run_id"],
            "eligible": run["eligible"], "holdout": run["holdout"],
        })  # fmt: skip
    return run


@router.get(
    "/audiences/runs/{run_id}/members.csv",
    tags=["audiences"],
    responses={**AUDIENCE_ERRORS, 200: {"content": {"text/csv": {}}}},
)
def audience_members_csv(run_id: RunId, who: Who, request: Request) -> Response:
    """The run's treated members for the CRM / mailing tool (UTF-8 with BOM): cid,
    customer_name, owner_sales, crm_account_ids (`;`-separated), campaign_id, assignment.
    Held-out customers are never in it."""
    _audiences_allowed(who)
    buf = io.StringIO()
    with db(request) as conn:
        run = _audience_call(audiences.resolve_run, conn, run_id)
        if run["run_id"] != run_id:  # a campaign id: the CLI's convenience, not the API's
            raise HTTPException(404, f"no run {run_id}")
        written = audiences.export(conn, run_id, buf)
        queries.audit(conn, who, "audience-export", cids=written["cids"],
                      columns=list(audiences.EXPORT_COLUMNS),
                      detail={"run_id": run_id, "rows": written["rows"]})  # fmt: skip
    name = f"audience-{run_id.replace(':', '_')}.csv"
    return Response(
        buf.getvalue().encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )  # fmt: skip
