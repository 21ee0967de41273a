"""Run every benchmark, write reports/bench.json (one key each) and print it as a table.

    python -m bench [name ...]

Each bench/bench_<name>.py exposes run(work: Path, dsn: str) -> dict (or run(work)). The
numbers are ratios against a reference measured in the same run, never absolute limits.
"""

from __future__ import annotations

import importlib
import inspect
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from portrait.local.services import PgCluster, free_port
from portrait.settings import get_settings

BENCH_DIR = Path(__file__).resolve().parent


def discover() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("bench_*.py"))


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_fmt(v)}" for k, v in value.items())
    return str(value)


def main(names: list[str]) -> int:
    settings = get_settings()
    out_file = settings.reports_dir / "bench.json"
    results = json.loads(out_file.read_text()) if out_file.exists() else {}
    work_root = Path(tempfile.mkdtemp(prefix="portrait-bench-"))
    work_root.chmod(0o755)
    cluster = PgCluster(root=work_root / "pg", port=free_port(), database="bench")
    failed = []
    try:
        cluster.start()
        cluster.migrate()  # the roles dbt's grants name
        for name in names or discover():
            module = importlib.import_module(f"bench.bench_{name}")
            work = work_root / name
            work.mkdir()
            params = inspect.signature(module.run).parameters
            started = time.perf_counter()
            print(f"- {name} ...", flush=True)
            try:
                result = module.run(work, cluster.dsn) if "dsn" in params else module.run(work)
            except Exception as exc:  # one broken benchmark must not hide the others' figures
                failed.append(name)
                result = {"error": f"{type(exc).__name__}: {exc}"}
            result.setdefault("bench_seconds", round(time.perf_counter() - started, 2))
            results[name] = result
    finally:
        cluster.destroy()
        shutil.rmtree(work_root, ignore_errors=True)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    width = max(len(k) for k in results)
    print(f"\n{'benchmark':<{width}}  figures")
    for key, value in results.items():
        print(f"{key:<{width}}  {_fmt(value)}")
    print(f"\nwritten to {out_file}")
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
