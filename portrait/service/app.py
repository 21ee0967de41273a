"""The profile service's application: `create_app()` for uvicorn (`portrait serve`)."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse
from psycopg_pool import ConnectionPool

from portrait.service import api
from portrait.service.auth import Principal
from portrait.service.deps import principal
from portrait.settings import Settings, get_settings

DESCRIPTION = """客户画像服务 · The portraits of portrait's customers for sales, credit and service
staff and their systems. Every call but `/health` needs a session (sign in on the panel) or
`Authorization: Bearer <token>` (`portrait token create --role crm-sync`). See docs/service.md."""


def _nul(loc: list[str]) -> JSONResponse:
    return JSONResponse(
        {"detail": [{"loc": loc, "msg": "a NUL byte is not allowed", "type": "value_error"}]},
        status_code=422,
    )


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

    @app.middleware("http")
    async def refuse_nul_bytes(request: Request, call_next):
        """PostgreSQL text cannot hold a NUL byte: a parameter with one is refused by name
        (422) rather than reaching the warehouse."""
        for name, value in request.query_params.multi_items():
            if "\x00" in value or "\x00" in name:
                return _nul(["query", name])
        if "\x00" in request.url.path:
            return _nul(["path"])
        return await call_next(request)

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
