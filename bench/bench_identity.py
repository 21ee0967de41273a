"""Identity stage time at SF10 (and SF100 with PORTRAIT_BENCH_IDENTITY_SF100=1).

``run(work, dsn)`` simulates a world per scale, loads it into a fresh database next to
``dsn``, builds everything upstream of identity, then times the identity stage alone
(the identity models, companies and persons, with their seeds, the buying-centre mart and
dim_customer) and measures its quality. Goal: under 5 minutes per 1M source records.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import conninfo, sql

from portrait.scorecards.identity import identity_quality
from portrait.settings import Settings
from sources.loader import load_landing
from sources.simulator import simulate

REPO = Path(__file__).resolve().parent.parent

DBT = str(Path(sys.executable).parent / "dbt")
GOAL_SECONDS_PER_MILLION = 300.0
IDENTITY = "path:models/identity path:seeds customer_contacts_clear customer_contacts dim_customer"


def _database(dsn: str, name: str) -> str:
    """A fresh database next to dsn, as a postgresql:// URL (what Settings expects)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        ident = sql.Identifier(name)
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(ident))
        conn.execute(sql.SQL("create database {}").format(ident))
    p = conninfo.conninfo_to_dict(dsn)
    auth = p.get("user", "") + (":" + p["password"] if p.get("password") else "")
    return f"postgresql://{auth}@{p.get('host', '127.0.0.1')}:{p.get('port', 5432)}/{name}"


def _dbt(args: list[str], env: dict) -> None:
    proc = subprocess.run(
        [DBT, *args], cwd=REPO / "dbt_project", env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stdout[-3000:] + proc.stderr[-1000:])


def one_scale(work: Path, dsn: str, scale: float) -> dict:
    world = work / f"sf{scale:g}"
    summary = simulate(world, scale=scale, seed=42, progress=False)
    db = _database(dsn, f"bench_identity_sf{scale:g}".replace(".", "_"))
    load_landing(db, world / "landing", progress=False)
    env = {
        **os.environ,
        **Settings(local_dir=work / "local", warehouse_url=db).service_env(),
    }
    _dbt(["seed"], env)
    _dbt(["run", "--select", "path:models/staging"], env)
    started = time.perf_counter()
    _dbt(["run", "--select", IDENTITY], env)
    seconds = time.perf_counter() - started
    quality = identity_quality(db, world / "truth")
    records = int(summary["records"])
    return {
        "source_records": records,
        "entity_records": quality["records"],
        "identity_seconds": round(seconds, 1),
        "seconds_per_million_source_records": round(seconds / records * 1e6, 1),
        "pairwise_f1": quality["pairwise_f1"],
        "bcubed_f1": quality["bcubed_f1"],
    }


def run(work: Path, dsn: str) -> dict:
    scales = [10.0] + ([100.0] if os.environ.get("PORTRAIT_BENCH_IDENTITY_SF100") else [])
    result = {f"sf{s:g}": one_scale(work, dsn, s) for s in scales}
    worst = max(r["seconds_per_million_source_records"] for r in result.values())
    result["goal_seconds_per_million"] = GOAL_SECONDS_PER_MILLION
    result["ratio_to_goal"] = round(worst / GOAL_SECONDS_PER_MILLION, 3)
    return result


if __name__ == "__main__":
    import json
    import tempfile

    target = sys.argv[1]
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp())
    print(json.dumps(run(out, target), indent=2))
