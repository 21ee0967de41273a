"""`python -m sources.simulator --out DIR [--scale S] [--seed N] ...` (see `simulate`)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from sources.simulator import ORACLE_SAMPLES, simulate


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m sources.simulator", description=__doc__)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--identity-noise", type=float, default=0.15)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2023, 7, 1))
    ap.add_argument("--sources", default=None, help="comma-separated subset, e.g. erp,crm")
    ap.add_argument("--oracle-replays", type=int, default=ORACLE_SAMPLES)
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    summary = simulate(
        args.out,
        scale=args.scale,
        seed=args.seed,
        identity_noise=args.identity_noise,
        months=args.months,
        start=args.start,
        sources=args.sources.split(",") if args.sources else None,
        progress=not args.no_progress,
        oracle_replays=args.oracle_replays,
    )
    print(json.dumps(summary, ensure_ascii=False))
    return summary


if __name__ == "__main__":
    main()
