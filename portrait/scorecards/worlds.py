"""Quality worlds: small simulated worlds that hold the identity engine's known traps, each
built in a scratch database of the warehouse and scored against its truth.

`placeholder_world` (shared placeholder phones, park switchboards and addresses, agency
e-mails) and `foreign_world` (customers abroad). Each: simulate -> load into database
`<warehouse db>_<world>` -> dbt build of the identity selection -> identity figures (ours and
Splink's) under `identity.<world>` in reports/quality.json.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from portrait.scorecards.identity import identity_quality
from portrait.settings import Settings

WORLDS: dict[str, dict] = {
    "placeholder_world": {"scale": 2, "placeholder_share": 0.3},
    "foreign_world": {"scale": 2, "foreign_share": 0.3},
}
WORLD_SEED = 42
WORLD_MONTHS = 24  # enough history for every entity source; the identity stage needs no more
# The identity stage and what it reads (as tests/integration/test_identity.py builds it);
# cautious: not the staging-vs-features reconciliation tests, whose features are not built.
IDENTITY_SELECTION = [
    "+customer_ids", "+review_queue", "+dim_customer", "+cid_events",
    "--indirect-selection", "cautious",
]  # fmt: skip
# The figures of a world kept in the report (the examples stay in each world's log).
KEPT = (
    "records", "true_companies", "predicted_cids", "pairwise_precision", "pairwise_recall",
    "pairwise_f1", "bcubed_f1", "wrong_merges", "wrong_merges_distinct_codes",
    "companies_in_wrong_merges_distinct_codes", "missed_merges",
    "wrong_merge_examples", "splink_pairwise_precision", "splink_pairwise_recall",
    "splink_pairwise_f1", "splink_bcubed_f1", "splink_wrong_merges",
    "splink_wrong_merges_distinct_codes", "splink_companies_in_wrong_merges_distinct_codes",
    "splink_status", "splink_note", "splink_seconds",
)  # fmt: skip


class WorldBuildError(RuntimeError):
    """A world could not be simulated, loaded or built (the message names the step)."""


def scratch_dsn(dsn: str, world: str) -> str:
    """The DSN of `world`'s scratch database beside the warehouse's: `<db>_<world>`."""
    url = urlsplit(dsn)
    base = url.path.lstrip("/") or "postgres"
    # PostgreSQL cuts identifiers at 63 bytes: cut here, so connecting finds the database
    name = f"{base}_{world}".encode()[:63].decode(errors="ignore")
    return urlunsplit(url._replace(path=f"/{name}"))


def recreate_database(dsn: str, world_dsn: str) -> None:
    """Drop and create the scratch database (CREATE DATABASE runs outside a transaction)."""
    import psycopg
    from psycopg import sql

    name = urlsplit(world_dsn).path.lstrip("/")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))


def dbt_build(
    world_dsn: str, settings: Settings, work: Path, log: Path, selection: list[str]
) -> None:
    """dbt build of `selection` into the scratch database; its own target and log folders,
    so the project's manifest (the DAGs') is left alone."""
    env = Settings(
        project_dir=settings.project_dir,
        local_dir=work / "local",
        reports_dir=work / "reports",
        warehouse_url=world_dsn,
    ).service_env()
    cmd = [
        str(Path(sys.executable).parent / "dbt"), "build", "--select", *selection,
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
    ]  # fmt: skip
    with log.open("w") as fh:
        proc = subprocess.run(
            cmd, cwd=settings.dbt_project_dir, env={**os.environ, **env}, stdout=fh,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise WorldBuildError(f"dbt build failed (exit {proc.returncode}); log {log}:\n{tail}")


def build_world(name: str, dsn: str, settings: Settings, knobs: dict | None = None) -> dict:
    """Simulate, load, build and score one world; returns its identity figures."""
    from governance.roles import migrate
    from sources.loader import load_landing
    from sources.simulator import simulate

    knobs = WORLDS[name] if knobs is None else knobs
    started = time.perf_counter()
    root = settings.local_dir / "worlds" / name
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    simulate(
        root / "data", seed=WORLD_SEED, months=WORLD_MONTHS, oracle_replays=1, progress=False,
        **knobs,
    )  # fmt: skip
    world_dsn = scratch_dsn(dsn, name)
    recreate_database(dsn, world_dsn)
    # the scratch database gets the warehouse's schemas, grants, staff_logins and audit table
    # (dbt's grants and row-level security name them); roles are cluster-wide and kept
    migrate(world_dsn)
    load_landing(world_dsn, root / "data" / "landing", progress=False)
    built = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"portrait-{name}-") as tmp:
        dbt_build(world_dsn, settings, Path(tmp), root / "dbt_build.log", IDENTITY_SELECTION)
    dbt_seconds = time.perf_counter() - built
    figures = identity_quality(world_dsn, root / "data" / "truth")
    kept = {k: figures[k] for k in KEPT if k in figures}
    kept["wrong_merge_examples"] = kept.get("wrong_merge_examples", [])[:3]
    return {
        "world": {"seed": WORLD_SEED, "months": WORLD_MONTHS, **knobs},
        "database": urlsplit(world_dsn).path.lstrip("/"),
        **kept,
        "dbt_seconds": round(dbt_seconds, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }


def worlds_quality(dsn: str, settings: Settings, names: list[str] | None = None) -> dict:
    """Every quality world's figures by name; a world that fails is reported, not raised."""
    out: dict[str, dict] = {}
    for name in names or list(WORLDS):
        try:
            out[name] = build_world(name, dsn, settings)
        except Exception as exc:  # one world's failure must not hide the others' figures
            out[name] = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"[:2000]}
    return out
