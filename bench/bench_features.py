"""Benchmark: the features + tags stage (dbt) at SF10 and SF100 (PORTRAIT_BENCH_FEATURE_SCALES,
comma-separated, changes them), and how its time grows against the number of source events
(goal: linear or better, growth ratio <= 1).

    growth_ratio = (seconds_large / seconds_small) / (events_large / events_small)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
DBT = str(Path(sys.executable).parent / "dbt")
SCALES = tuple(
    float(s) for s in os.environ.get("PORTRAIT_BENCH_FEATURE_SCALES", "10,100").split(",")
)
EVENT_TABLES = (
    "erp__orders",
    "erp__order_lines",
    "erp__invoices",
    "erp__payments",
    "crm__interactions",
    "lab__sample_requests",
    "lab__test_feedback",
    "service__tickets",
    "projects__projects",
)


def _database(admin_dsn: str, name: str) -> str:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        ident = sql.Identifier(name)
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(ident))
        conn.execute(sql.SQL("create database {}").format(ident))
    return admin_dsn.rsplit("/", 1)[0] + "/" + name


def _dbt(args: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run([DBT, *args], cwd=REPO / "dbt_project", env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - started


def run(work: Path, dsn: str) -> dict:
    from portrait.settings import Settings
    from sources.loader import load_landing
    from sources.simulator import simulate

    out: dict = {}
    for scale in SCALES:
        world = Path(work) / f"sf{scale:g}"
        simulate(world, scale=scale, seed=42, progress=False)
        db = _database(dsn, f"bench_features_sf{scale:g}".replace(".", "_"))
        load_landing(db, world / "landing", progress=False)
        settings = Settings(local_dir=Path(work) / "local", reports_dir=Path(work) / "reports",
                            warehouse_url=db)  # fmt: skip
        env = {**os.environ, **settings.service_env()}
        _dbt(
            [
                "build",
                "--quiet",
                "--select",
                "path:seeds",
                "path:models/staging",
                "path:models/identity",
            ],
            env,
        )
        seconds = _dbt(
            ["build", "--quiet", "--select", "path:models/features", "path:models/tags"], env
        )
        with psycopg.connect(db) as conn:
            events = sum(
                conn.execute(
                    sql.SQL("select count(*) from {}").format(sql.Identifier("raw", t))
                ).fetchone()[0]
                for t in EVENT_TABLES
                if conn.execute("select to_regclass(%s)", (f"raw.{t}",)).fetchone()[0]
            )
            snapshots = conn.execute("select count(*) from features.customer_features").fetchone()[
                0
            ]
        out[f"sf{scale:g}"] = {
            "events": events,
            "snapshot_rows": snapshots,
            "seconds": round(seconds, 2),
        }
    if len(SCALES) >= 2:
        a, b = (out[f"sf{s:g}"] for s in SCALES[:2])
        out["growth_ratio"] = round((b["seconds"] / a["seconds"]) / (b["events"] / a["events"]), 3)
    return out
