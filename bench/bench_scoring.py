"""Benchmark: end-to-end scoring (read features, predict with reasons, write scores) against
model.predict alone on the same rows in memory, at 10k and 100k customers.

A scale-1 world is simulated, loaded, built with dbt and a churn model trained; its latest
snapshot is then replicated under new CIDs into a bench as_of_date of the wanted size, so
the scoring path sees a realistic feature table of that many customers.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
SIZES = (10_000, 100_000)
BENCH_DATE = dt.date(2099, 12, 31)
TASK = "churn_180d"


def _prepare(work: Path, dsn: str) -> dict[str, str]:
    from portrait.settings import Settings
    from sources.loader import load_landing
    from sources.simulator import simulate

    simulate(work / "world", scale=1.0, seed=42, progress=False)
    load_landing(dsn, work / "world" / "landing", progress=False)
    env = Settings(local_dir=work / "local", reports_dir=work / "reports", warehouse_url=dsn)
    env = {**os.environ, **env.service_env()}
    subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "build",
            "--quiet",
            "--select",
            "+customer_labels",
        ],
        cwd=REPO / "dbt_project",
        env=env,
        check=True,
    )
    os.environ.update(env)
    from portrait.settings import get_settings

    get_settings.cache_clear()
    from models_ml.register import promote
    from models_ml.train import train_task

    train_task(TASK, dsn=dsn)
    promote(TASK)
    return env


def _replicate(dsn: str, rows: int) -> None:
    """Fill BENCH_DATE with `rows` customers copied from the latest real snapshot."""
    with psycopg.connect(dsn) as conn:
        conn.execute("delete from features.customer_features where as_of_date = %s", (BENCH_DATE,))
        cols = [
            r[0]
            for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = "
                "'features' and table_name = 'customer_features' order by ordinal_position"
            )
        ]
        rest = [c for c in cols if c not in ("cid", "as_of_date")]
        (latest, n) = conn.execute(
            "select max(as_of_date), count(*) filter (where as_of_date = max_date) from "
            "(select as_of_date, max(as_of_date) over () as max_date "
            " from features.customer_features where as_of_date < %s) as s",
            (BENCH_DATE,),
        ).fetchone()
        conn.execute(
            f"""
            insert into features.customer_features (cid, as_of_date, {", ".join(rest)})
            select f.cid || '-' || g.i, %s, {", ".join("f." + c for c in rest)}
            from (select * from features.customer_features where as_of_date = %s) as f
            cross join generate_series(1, %s) as g(i)
            order by g.i, f.cid
            limit %s
            """,
            (BENCH_DATE, latest, -(-rows // n), rows),
        )


def run(work: Path, dsn: str) -> dict:
    from models_ml import data
    from models_ml.score import load_champion, score_task

    _prepare(Path(work), dsn)
    champ = load_champion(TASK)
    out: dict = {"task": TASK}
    for rows in SIZES:
        _replicate(dsn, rows)
        with psycopg.connect(dsn) as conn:
            frame = data.snapshot_frame(conn, BENCH_DATE)
        x = data.to_model_matrix(frame, champ.features)
        started = time.perf_counter()
        champ.model.predict_proba(x)
        predict_s = time.perf_counter() - started
        started = time.perf_counter()
        result = score_task(TASK, BENCH_DATE, dsn=dsn)
        e2e_s = time.perf_counter() - started
        assert result["rows"] == rows, result
        out[f"rows_{rows}"] = {
            "end_to_end_rows_per_s": round(rows / e2e_s),
            "predict_rows_per_s": round(rows / predict_s),
            "ratio": round(predict_s / e2e_s, 3),
        }
    return out
