"""The profile panel: server-rendered pages (Jinja2) from the same queries as the API, charts
drawn by Apache ECharts in the browser. Chinese by default, `?lang=en` switches (a cookie)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from portrait.service import api, auth, i18n, queries
from portrait.service.deps import db, principal

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
LIST_FIELDS = (
    "cid", "customer_name", "customer_type", "industry", "region", "lifecycle_stage",
    "value_tier", "churn_band", "purchase_band", "credit_grade", "revenue_cny_365d",
)  # fmt: skip
PANEL_FACETS = (
    "industry", "region", "customer_type", "lifecycle_stage", "value_tier",
    "rfm_segment", "segment", "churn_band", "purchase_band", "credit_grade",
)  # fmt: skip


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get("lang") or "zh"
    return lang if lang in i18n.LANGS else "zh"


def _render(request: Request, name: str, context: dict, status_code: int = 200) -> Response:
    lang = _lang(request)
    response = templates.TemplateResponse(
        request, name,
        {"lang": lang, "t": lambda key: i18n.label(key, lang),
         "reason": lambda text: i18n.reason(text, lang), "tojson": json.dumps, **context},
        status_code=status_code,
    )  # fmt: skip
    if request.query_params.get("lang") in i18n.LANGS:
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax", path="/")
    return response


def _who(request: Request) -> auth.Principal | None:
    try:
        return principal(request)
    except HTTPException:
        return None


def _signin_redirect(request: Request) -> RedirectResponse:
    """Back to the page asked for after the sign-in, its filters (query string) included."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?{urlencode({'next': target})}", status_code=303)


def _echarts_file(request: Request) -> Path | None:
    settings = request.app.state.settings
    found = sorted((Path(settings.local_dir) / "static" / "echarts").glob("*/echarts.min.js"))
    return found[-1] if found else None


def install(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/panel", status_code=303)

    @app.get("/static/vendor/echarts.min.js", include_in_schema=False)
    def echarts(request: Request) -> Response:
        path = _echarts_file(request)
        if path is None:
            raise HTTPException(404, "ECharts is not installed: run `portrait setup system`")
        return FileResponse(path, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip

    @app.get("/signin", include_in_schema=False)
    def signin_form(request: Request, next: str = "/panel") -> Response:
        return _render(request, "signin.html", {"next": _safe_next(next), "error": None})

    @app.post("/signin", include_in_schema=False)
    def signin(
        request: Request,
        username: Annotated[str, Form(max_length=100)],
        password: Annotated[str, Form(max_length=200)],
        next: Annotated[str, Form(max_length=300)] = "/panel",
    ) -> Response:
        try:
            secret, who = api.sign_in_person(request, username, password)
        except auth.TooManyFailures as err:
            return _render(request, "signin.html",
                           {"next": _safe_next(next), "error": "locked",
                            "retry_after_s": err.retry_after_s}, 429)  # fmt: skip
        if who is None:
            return _render(request, "signin.html",
                           {"next": _safe_next(next), "error": "bad_login"}, 401)  # fmt: skip
        response = RedirectResponse(_safe_next(next), status_code=303)
        api.set_session_cookie(response, secret)
        return response

    @app.post("/signout", include_in_schema=False)
    def signout(request: Request) -> Response:
        cookie = request.cookies.get(auth.SESSION_COOKIE)
        if cookie:
            with db(request) as conn:
                auth.sign_out(conn, cookie)
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(auth.SESSION_COOKIE, path="/")
        return response

    @app.get("/panel", include_in_schema=False)
    def customer_list(request: Request, cursor: Annotated[str | None, Query()] = None) -> Response:
        who = _who(request)
        if who is None:
            return _signin_redirect(request)
        params = request.query_params

        def given(name: str) -> list[str]:  # an empty <select> sends name=""
            return [v for v in params.getlist(name) if v]

        facets = [f for f in PANEL_FACETS if who.role.credit or f != "credit_grade"]
        flt = queries.CustomerFilter(
            facets={f: given(f) for f in facets if given(f)},
            tags_all=given("tag_all"), tags_any=given("tag_any"),
            tags_none=given("tag_none"), q=params.get("q") or None,
        )  # fmt: skip
        fields = [f for f in LIST_FIELDS if f in queries.allowed_fields(who)]
        try:
            with db(request) as conn:
                page = queries.list_customers(conn, who, flt, fields=fields, sort="cid",
                                              limit=50, cursor=cursor)  # fmt: skip
                counts = queries.facet_counts(conn, who, flt)
                tag_names = {t["tag_code"]: t for t in queries.tag_catalog(conn)}
                queries.audit(conn, who, "list", cids=[r["cid"] for r in page["items"]],
                              columns=fields, detail={"panel": True})  # fmt: skip
        except queries.BadParameter as err:
            raise api.bad(err) from None
        chosen = {f: given(f) for f in [*facets, "tag_all", "tag_any", "tag_none"]}
        keep = [(k, v) for k, v in params.multi_items() if k not in ("cursor", "lang")]
        return _render(request, "list.html", {
            "who": who, "page": page, "counts": counts, "facets": facets, "fields": fields,
            "chosen": chosen, "q": params.get("q") or "", "tag_names": tag_names,
            "keep": keep,
        })  # fmt: skip

    @app.get("/panel/customers/{cid}", include_in_schema=False)
    def profile(request: Request, cid: str) -> Response:
        who = _who(request)
        if who is None:
            return _signin_redirect(request)
        with db(request) as conn:
            doc, target = queries.get_profile(conn, who, cid, detail={"panel": True})
            if doc is None:
                if target:
                    return RedirectResponse(f"/panel/customers/{target}", status_code=308)
                return _render(request, "notfound.html", {"who": who, "cid": cid}, 404)
            history = queries.get_history(conn, who, cid)
            segment_map = queries.segment_map(conn, 3000)
        categories: dict[str, list] = {}
        evidence: dict[str, list] = {}
        for text in doc["evidence"]:
            evidence.setdefault(text["tag_code"], []).append(text)
        for tag in doc["tags"]:
            tag["evidence"] = evidence.get(tag["tag_code"], [])
            categories.setdefault(tag["category_cn"] if _lang(request) == "zh"
                                  else tag["category"], []).append(tag)  # fmt: skip
        return _render(request, "profile.html", {
            "who": who, "cid": cid, "doc": doc, "categories": categories, "history": history,
            "segment_map": segment_map,
            "evidence_tags": [tag for tag in doc["tags"] if tag["evidence"]],
        })  # fmt: skip

    @app.get("/panel/segments", include_in_schema=False)
    def segments(request: Request) -> Response:
        who = _who(request)
        if who is None:
            return _signin_redirect(request)
        with db(request) as conn:
            seg = queries.segments(conn)
            catalog = queries.tag_catalog(conn)
        if not who.role.credit:
            catalog = [t for t in catalog if t["category"] != "credit"]
        return _render(request, "segments.html", {"who": who, "seg": seg, "catalog": catalog})


def _safe_next(target: str) -> str:
    """Only our own pages (no open redirect to another site)."""
    ok = target.startswith("/") and not target.startswith(("//", "/\\"))
    return target if ok else "/panel"
