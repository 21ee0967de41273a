"""Benchmark `export`: the profile service's CSV export of 100k customers (streamed from a
server-side cursor) against `psql \\copy` of the same query, and the service's memory growth
during it. Shares bench_service's warehouse (built once per bench cluster)."""

from __future__ import annotations

from pathlib import Path

from bench.bench_service import run_export


def run(work: Path, dsn: str) -> dict:
    return run_export(work, dsn)
