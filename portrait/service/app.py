"""The profile service's application: `create_app()` for uvicorn (`portrait serve`)."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Annotated
from urllib.parse import parse_qsl

from anyio import to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse
from psycopg_pool import ConnectionPool
from starlette.types import ASGIApp, Receive, Scope, Send

from portrait.service import api
from portrait.service.auth import Principal
from portrait.service.deps import principal
from portrait.settings import Settings, get_settings

DESCRIPTION = """客户画像服务 · The portraits of portrait's customers for sales, credit and service
staff and their systems. Every call but `/health` needs a session (sign in on the panel) or
`Authorization: Bearer <token>` (`portrait token create --role crm-sync`). See docs/service.md."""


class RefuseNulBytes:
    """PostgreSQL text cannot hold a NUL byte: a parameter with one is refused by name (422)
    rather than reaching the warehouse. A plain ASGI middleware (Starlette's BaseHTTPMiddleware
    costs every request a task and a stream)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            where = None
            if "\x00" in scope.get("path", ""):
                where = ["path"]
            elif b"%00" in scope.get("query_string", b"").replace(b"\x00", b"%00"):
                for name, value in parse_qsl(scope["query_string"].decode("latin-1"),
                                             keep_blank_values=True):  # fmt: skip
                    if "\x00" in name or "\x00" in value:
                        where = ["query", name]
                        break
            if where is not None:
                response = JSONResponse(
                    {"detail": [{"loc": where, "msg": "a NUL byte is not allowed",
                                 "type": "value_error"}]},
                    status_code=422,
                )  # fmt: skip
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None, *, dsn: str | None = None) -> FastAPI:
    settings = settings or get_settings()
    conninfo = dsn or settings.warehouse_dsn("service")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        pool = ConnectionPool(
            conninfo,
            min_size=2,
            max_size=settings.service_pool_size,
            kwargs={"application_name": "portrait-service"},
            open=False,
        )
        pool.open(wait=True, timeout=30)
        app.state.pool = pool
        # Sync endpoints run in anyio's worker threads (40 by default). More threads than pooled
        # connections only wait on the pool and contend for the GIL: the requests beyond them
        # wait in the event loop instead (measured in bench/bench_service.py).
        to_thread.current_default_thread_limiter().total_tokens = settings.service_pool_size + 2
        try:
            yield
        finally:
            pool.close()

    app = FastAPI(
        title="portrait profile service",
        version="1",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.include_router(api.router)

    app.add_middleware(RefuseNulBytes)

    @app.get("/health", tags=["service"])
    def health(request: Request) -> dict:
        """Answers without credentials: is the service up, does the warehouse answer."""
        try:
            with request.app.state.pool.connection(timeout=5) as conn:
                conn.execute("select 1")
            return {"status": "ok", "warehouse": "ok"}
        except Exception:
            return JSONResponse({"status": "degraded", "warehouse": "unreachable"}, 503)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(who: Annotated[Principal, Depends(principal)]) -> dict:
        return app.openapi()

    @app.get("/docs", include_in_schema=False)
    def docs(who: Annotated[Principal, Depends(principal)]):
        return get_swagger_ui_html(openapi_url="/openapi.json", title="portrait API")

    try:
        from portrait.service import panel
    except ImportError:  # the panel is optional to the API
        panel = None
    if panel is not None:
        panel.install(app)
    return app
