"""The profile service served by uvicorn on loopback over the session's built warehouse
(tests/conftest.py: pipeline_warehouse), with a person per role and a token per system role."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

import httpx
import psycopg
import pytest
import uvicorn

from portrait.local.services import free_port
from portrait.service import auth
from portrait.service.roles import ROLES


@dataclass
class ServiceWorld:
    superuser_dsn: str
    service_dsn: str
    admin_dsn: str
    owner_sales: str  # the sales user's CRM owner
    passwords: dict[str, str] = field(default_factory=dict)  # username -> password
    tokens: dict[str, str] = field(default_factory=dict)  # role -> token
    url: str = ""

    def user(self, role: str) -> str:
        return f"demo_{role}"

    def client(self, role: str) -> httpx.Client:
        """A client with a system token (system roles) or a person's session (people)."""
        if ROLES[role].system:
            return httpx.Client(
                base_url=self.url, headers={"Authorization": f"Bearer {self.tokens[role]}"}
            )
        c = httpx.Client(base_url=self.url)
        r = c.post(
            "/api/v1/session",
            json={"username": self.user(role), "password": self.passwords[self.user(role)]},
        )
        assert r.status_code == 200, r.text
        return c


@pytest.fixture(scope="session")
def service_world(pg_cluster, pipeline_warehouse) -> ServiceWorld:
    dsn, *_ = pipeline_warehouse
    db = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    pw = pg_cluster.login_passwords
    world = ServiceWorld(
        superuser_dsn=dsn,
        service_dsn=pg_cluster.dsn_for(db, "portrait_service", pw["portrait_service"]),
        admin_dsn=pg_cluster.dsn_for(db, "portrait_admin", pw["portrait_admin"]),
        owner_sales="",
    )
    with psycopg.connect(world.admin_dsn) as conn:
        (world.owner_sales,) = conn.execute(
            "select owner_sales from marts.dim_customer where owner_sales is not null"
            " group by 1 order by count(*) desc, 1 limit 1"
        ).fetchone()
        for name, role in ROLES.items():
            if role.system:
                world.tokens[name] = auth.create_token(conn, f"test-{name}", name)
            else:
                password = secrets.token_urlsafe(16)
                world.passwords[world.user(name)] = password
                auth.create_user(
                    conn, world.user(name), name, password,
                    owner_sales=world.owner_sales if name == "sales" else None,
                )  # fmt: skip
    return world


@pytest.fixture(scope="session")
def service(service_world) -> ServiceWorld:
    """The app served by uvicorn in a thread (real HTTP on 127.0.0.1)."""
    from portrait.service.app import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(dsn=service_world.service_dsn), host="127.0.0.1", port=port,
            log_level="warning", access_log=False,
        )
    )  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)
    service_world.url = f"http://127.0.0.1:{port}"
    yield service_world
    server.should_exit = True
    thread.join(timeout=10)
