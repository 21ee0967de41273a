"""The ML layer's idempotent DDL under parallel tasks: a distributed run (tests/e2e/test_cluster,
bench/bench_freshness) starts the drift checks and score partitions of several targets at
once, and two sessions running `create table if not exists` for one new table fail on
pg_type's unique index. portrait.db.ensure_objects serialises them with an advisory lock."""

import threading

import psycopg
import pytest
from conftest import create_database

pytestmark = pytest.mark.integration


def test_concurrent_schema_set_up_waits_for_the_lock_and_both_succeed(pg_cluster):
    from models_ml.data import ensure_ml_schema
    from models_ml.monitor import MONITORING_DDL
    from portrait import db

    dsn = create_database(pg_cluster, "ddl_lock")
    errors: list[BaseException] = []

    def set_up() -> None:
        try:
            with psycopg.connect(dsn) as conn:
                ensure_ml_schema(conn)
                db.ensure_objects(conn, MONITORING_DDL, "portrait.monitoring.ddl")
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    with psycopg.connect(dsn) as holder:
        holder.execute("select pg_advisory_xact_lock(hashtext('portrait.ml.ddl'))")
        threads = [threading.Thread(target=set_up) for _ in range(4)]
        for thread in threads:
            thread.start()
        with psycopg.connect(dsn, autocommit=True) as watcher:
            for _ in range(200):
                (waiting,) = watcher.execute(
                    "select count(*) from pg_locks where locktype = 'advisory' and not granted"
                ).fetchone()
                if waiting == 4:
                    break
                threading.Event().wait(0.05)
        assert waiting == 4, "each set-up waits for the lock"
        assert not db.relation_exists(holder, "ml", "customer_scores")
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    with psycopg.connect(dsn) as conn:
        assert db.relation_exists(conn, "ml", "customer_scores")
        assert db.relation_exists(conn, "monitoring", "drift_metrics")
