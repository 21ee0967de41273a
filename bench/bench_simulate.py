"""Benchmark: simulate scale 10 in a child process; report seconds, its peak RSS, records."""

from __future__ import annotations

import json
import pathlib
import resource
import subprocess
import sys
import time

SCALE = 10


def run(work: pathlib.Path) -> dict:
    out = pathlib.Path(work) / f"simulate_scale{SCALE}"
    cmd = [sys.executable, "-m", "sources.simulator", "--out", str(out),
           "--scale", str(SCALE), "--no-progress"]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, check=True, capture_output=True, text=True,
                          cwd=pathlib.Path(__file__).resolve().parent.parent)  # fmt: skip
    seconds = time.perf_counter() - t0
    # ru_maxrss of the children is the largest child's peak, in KiB on Linux
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "scale": SCALE,
        "seconds": round(seconds, 2),
        "peak_memory_mb": round(peak_kib / 1024, 1),
        "records": summary["records"],
    }


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(pathlib.Path(tmp))))
