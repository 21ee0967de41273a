"""The framework's floor for bench_service: the same uvicorn and FastAPI, one sync endpoint
that returns a fixed profile document (read from PORTRAIT_BENCH_FLOOR_BODY) without touching
the warehouse. What the profile GET would cost if its SQL were free."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import Response


def create_app() -> FastAPI:
    body = Path(os.environ["PORTRAIT_BENCH_FLOOR_BODY"]).read_bytes()
    app = FastAPI()

    @app.get("/floor/{cid}")
    def floor(cid: str) -> Response:
        return Response(body, media_type="application/json")

    return app
