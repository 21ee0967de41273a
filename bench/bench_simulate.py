"""Benchmark: simulate SF10 and SF100 (PORTRAIT_BENCH_SIMULATE_SCALES, default "10,100"),
each in its own child process: seconds, peak RSS (the larger of the simulator and its
oracle worker process, which run side by side), source records written.
The issue's bar: SF100 holds >= 1M source records and is generated in a few minutes with
bounded memory (rows stream to disk month by month).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
SCALES = tuple(
    float(s) for s in os.environ.get("PORTRAIT_BENCH_SIMULATE_SCALES", "10,100").split(",")
)


def one_scale(work: pathlib.Path, scale: float) -> dict:
    out = pathlib.Path(work) / f"simulate_sf{scale:g}"
    cmd = [sys.executable, "-m", "portrait.cli", "simulate", "--out", str(out),
           "--scale", f"{scale:g}", "--seed", "42", "--no-progress", "--json"]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
    stdout = proc.stdout.read()
    # wait4 gives this child's own rusage (RUSAGE_CHILDREN would be the max over all children)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} exited with {proc.returncode}")
    summary = json.loads(stdout.strip().splitlines()[-1])
    return {
        "seconds": round(seconds, 1),
        "peak_memory_mb": round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
        "records": summary["records"],
        "companies": summary["companies"],
        "oracle_replays": summary["oracle_replays"],
    }


def run(work: pathlib.Path) -> dict:
    return {f"sf{s:g}": one_scale(work, s) for s in SCALES}


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(pathlib.Path(tmp)), indent=2))
