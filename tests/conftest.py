"""Shared fixtures: a throwaway PostgreSQL cluster per test session, a fresh database per test."""

from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path

import psycopg
import pytest

from portrait.services import PgCluster, free_port

REPO = Path(__file__).resolve().parent.parent
_db_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_cluster() -> PgCluster:
    """A private cluster on a free port; destroyed at the end of the session."""
    # Not under pytest's tmp_path: that is private to root, and the server runs as `postgres`.
    root = Path(tempfile.mkdtemp(prefix="portrait-test-pg-"))
    os.chmod(root, 0o755)
    cluster = PgCluster(root=root, port=free_port(), database="portrait_test")
    cluster.start()
    yield cluster
    cluster.destroy()


def create_database(cluster: PgCluster, name: str) -> str:
    admin = f"postgresql://{cluster.user}@127.0.0.1:{cluster.port}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    return f"postgresql://{cluster.user}@127.0.0.1:{cluster.port}/{name}"


@pytest.fixture
def fresh_db(pg_cluster, request) -> str:
    """DSN of an empty database of its own for this test."""
    name = f"t{next(_db_counter)}_{request.node.name[:40]}".lower()
    name = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
    return create_database(pg_cluster, name)
