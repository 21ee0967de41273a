"""Benchmark: end-to-end scoring (read features, predict with reasons, write scores) against
model.predict alone on the same rows in memory, at the customer counts of an SF10 and an SF100
world and at 100k customers.

A scale-1 world is simulated, loaded, built with dbt and a churn model trained; its latest
snapshot is then replicated under new CIDs into a bench as_of_date of the wanted size, so
the scoring path sees a realistic feature table of that many customers. The simulator makes
about 100 x scale companies, so SF10 / SF100 mean 10 / 100 times the scale-1 snapshot's
customers.

Besides the ratio the issue asks for (end-to-end against predict_proba), each size reports
what bounds it: TreeSHAP contributions alone (every customer gets reason codes) and the ratio
that leaves even with free reads and writes (``ratio_bound_with_reasons``), the same
pipeline with the contributions replaced by zeros (no reasons), reading the snapshot alone,
and scoring's own seconds per stage.

Against the bare pipeline (issue 20), at 100k and 1M customers: ``ratio_vs_bare`` is end-to-end
scoring without reason codes against the least a scoring job does on the same rows in the same
run (COPY the model's feature columns out of the snapshot into one numpy matrix, booster.predict,
COPY cid and score into a table, nothing else), ``ratio_vs_bare_with_reasons`` end-to-end with
reasons against that plus TreeSHAP (``pred_contrib=True``); the top-level keys are the minimum
over the sizes. Each size also reports the peak RSS of one end-to-end run and of the bare
pipeline, each in a fresh process: scoring streams the snapshot in chunks, so its memory
stays flat as customers grow, where the bare pipeline holds every row.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
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
            sql.SQL(
                """
            insert into features.customer_features (cid, as_of_date, {cols})
            select f.cid || '-' || g.i, %s, {from_f}
            from (select * from features.customer_features where as_of_date = %s) as f
            cross join generate_series(1, %s) as g(i)
            order by g.i, f.cid
            limit %s
            """
            ).format(
                cols=sql.SQL(", ").join(sql.Identifier(c) for c in rest),
                from_f=sql.SQL(", ").join(sql.Identifier("f", c) for c in rest),
            ),
            (BENCH_DATE, latest, -(-rows // n), rows),
        )


def _best(fn, repeats: int, number: int = 1, setup=None) -> float:
    """Seconds per call, the fastest of `repeats` timings of `number` calls: other processes
    share these cores, and a call on a few hundred rows in memory is too short to time once.
    `setup` runs untimed before each timing."""
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        started = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - started) / number)
    return min(times)


def _vacuum(dsn: str) -> None:
    """Each timed run starts from a table without the previous run's dead rows."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("vacuum ml.customer_scores")


def _measure(dsn: str, champ, rows: int, repeats: int) -> dict:
    import numpy as np

    from models_ml import data, registry, score
    from models_ml.matrix import to_model_matrix

    with psycopg.connect(dsn) as conn:
        frame = data.snapshot_frame(conn, BENCH_DATE)
    x = to_model_matrix(frame, champ.features)
    x_np = np.ascontiguousarray(x.to_numpy())
    number = max(1, 200_000 // rows)
    predict_s = _best(lambda: champ.model.predict_proba(x), repeats, number)
    booster_s = _best(lambda: champ.predict(x_np), repeats, number)
    contrib_s = _best(lambda: champ.contributions(x_np), repeats, number)

    def read() -> None:
        with psycopg.connect(dsn) as conn:
            for _ in data.snapshot_chunks(conn, BENCH_DATE, champ.features, 50_000):
                pass

    read_s = _best(read, repeats)
    stages: list[dict] = []

    def end_to_end() -> None:
        result = score.score_task(TASK, BENCH_DATE, dsn=dsn)
        assert result.rows == rows, result
        stages.append(result.seconds)

    e2e_s = _best(end_to_end, repeats, setup=lambda: _vacuum(dsn))
    seconds = min(stages, key=lambda s: sum(s.values()))
    contributions = registry.ChampionModel.contributions
    registry.ChampionModel.contributions = lambda self, x: np.zeros((len(x), len(self.features)))
    try:
        bare_s = _best(end_to_end, repeats, setup=lambda: _vacuum(dsn))
    finally:
        registry.ChampionModel.contributions = contributions
    return {
        "rows": rows,
        "end_to_end_rows_per_s": round(rows / e2e_s),
        "predict_rows_per_s": round(rows / predict_s),
        "ratio": round(predict_s / e2e_s, 4),
        "booster_predict_rows_per_s": round(rows / booster_s),
        "contrib_rows_per_s": round(rows / contrib_s),
        "contrib_ratio": round(predict_s / contrib_s, 4),
        # The ratio end to end could reach if reading and writing cost nothing: every customer
        # gets reason codes, so predict + TreeSHAP is the least a scoring run computes.
        "ratio_bound_with_reasons": round(predict_s / (predict_s + contrib_s), 4),
        "end_to_end_without_reasons_rows_per_s": round(rows / bare_s),
        "ratio_without_reasons": round(predict_s / bare_s, 4),
        "read_only_rows_per_s": round(rows / read_s),
        "read_ratio": round(predict_s / read_s, 4),
        "end_to_end_seconds": round(e2e_s, 4),
        "stage_seconds": seconds,
    }


BARE_SIZES = {"rows_100000": 100_000, "rows_1000000": 1_000_000}


def _bare_pipeline(dsn: str, champ, reasons: bool) -> int:
    """The least a scoring job does: COPY the feature columns of the bench date out into one
    matrix, booster.predict (and TreeSHAP when `reasons`), COPY cid and score into a table."""
    from models_ml import data, registry
    from portrait import db

    with psycopg.connect(dsn) as conn:
        types = db.table_column_types(conn, "features", "customer_features")
        select = [
            sql.SQL("{}::integer").format(sql.Identifier(c))
            if types.get(c) == "boolean"
            else sql.Identifier(c)
            for c in champ.features
        ]
        query = sql.SQL(
            "copy (select cid, {} from features.customer_features where as_of_date = {}) "
            "to stdout (format csv)"
        ).format(sql.SQL(", ").join(select), sql.Literal(BENCH_DATE))
        with conn.cursor() as cur, cur.copy(query) as copy:
            raw = b"".join(copy)
        cids, x = data._parse_chunk(raw, champ.features)
        del raw
        threads = registry._threads()
        scores = champ.booster.predict(x, num_threads=threads)
        if reasons:
            champ.booster.predict(x, pred_contrib=True, num_threads=threads)
        conn.execute("create temp table bare_scores (cid text, score double precision)")
        written = db.copy_columns(
            conn, sql.Identifier("bare_scores"), {"cid": cids, "score": scores}
        )
        conn.commit()
    return written


def _child_peak_rss(dsn: str, mode: str) -> int:
    """Peak RSS (MiB) of one run of `mode` in a fresh process: a high-water mark measured here
    would only show the largest thing this process ever held."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench_scoring", "--peak-rss", dsn, mode],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(proc.stdout.strip().splitlines()[-1])


def _versus_bare(dsn: str, champ, rows: int, repeats: int) -> dict:
    from models_ml import score

    def end_to_end(reasons: bool):
        def go() -> None:
            result = score.score_task(TASK, BENCH_DATE, dsn=dsn, reasons=reasons)
            assert result.rows == rows, result
            stages[reasons] = result.seconds

        return go

    def bare(reasons: bool):
        def go() -> None:
            assert _bare_pipeline(dsn, champ, reasons) == rows

        return go

    stages: dict[bool, dict] = {}
    vac = lambda: _vacuum(dsn)  # noqa: E731
    bare_s = _best(bare(False), repeats)
    e2e_s = _best(end_to_end(False), repeats, setup=vac)
    bare_r_s = _best(bare(True), repeats)
    e2e_r_s = _best(end_to_end(True), repeats, setup=vac)
    return {
        "rows": rows,
        "ratio_vs_bare": round(bare_s / e2e_s, 4),
        "ratio_vs_bare_with_reasons": round(bare_r_s / e2e_r_s, 4),
        "end_to_end_without_reasons_rows_per_s": round(rows / e2e_s),
        "bare_rows_per_s": round(rows / bare_s),
        "end_to_end_with_reasons_rows_per_s": round(rows / e2e_r_s),
        "bare_with_treeshap_rows_per_s": round(rows / bare_r_s),
        "peak_rss_mib_end_to_end_with_reasons": _child_peak_rss(dsn, "end_to_end"),
        "peak_rss_mib_bare_with_treeshap": _child_peak_rss(dsn, "bare"),
        "stage_seconds_without_reasons": stages[False],
        "stage_seconds_with_reasons": stages[True],
    }


def run(work: Path, dsn: str, repeats: int = 3) -> dict:
    from models_ml.data import ensure_ml_schema
    from models_ml.registry import load_champion

    _prepare(Path(work), dsn)
    champ = load_champion(TASK)
    with psycopg.connect(dsn) as conn:
        ensure_ml_schema(conn)  # the first timed run's vacuum needs the table
        (per_scale,) = conn.execute(
            "select count(*) from features.customer_features where as_of_date = "
            "(select max(as_of_date) from features.customer_features where as_of_date < %s)",
            (BENCH_DATE,),
        ).fetchone()
    sizes = {"sf10": per_scale * 10, "sf100": per_scale * 100, "rows_100000": 100_000}
    out: dict = {
        "task": TASK,
        "policy": champ.policy,
        "trees": champ.booster.num_trees() if champ.policy == "lightgbm" else None,
        "features": len(champ.features),
        "scale1_customers": per_scale,
        "repeats": repeats,
    }
    bare: dict = {}
    for label, rows in BARE_SIZES.items():
        _replicate(dsn, rows)
        # the best of two timings at 1M (a minute per pipeline on a shared machine)
        bare[label] = _versus_bare(dsn, champ, rows, repeats if rows <= 100_000 else 2)
        print(f"  {label}: {bare[label]}", flush=True)
    for key in ("ratio_vs_bare", "ratio_vs_bare_with_reasons"):
        out[key] = min(b[key] for b in bare.values())
    out["versus_bare"] = bare
    for label, rows in sizes.items():
        _replicate(dsn, rows)
        out[label] = _measure(dsn, champ, rows, repeats)
    out["rows_100000_after_30_days"] = _with_history(dsn, 30, repeats)
    return out


def _peak_rss_main(dsn: str, mode: str) -> None:
    from models_ml import registry, score

    if mode == "end_to_end":
        score.score_task(TASK, BENCH_DATE, dsn=dsn)
    else:
        _bare_pipeline(dsn, registry.load_champion(TASK), reasons=True)
    # VmHWM, this process's own high-water mark: Linux keeps ru_maxrss across fork and exec,
    # so getrusage would report the parent bench's peak.
    status = Path("/proc/self/status").read_text()
    (line,) = [x for x in status.splitlines() if x.startswith("VmHWM:")]
    print(int(line.split()[1]) // 1024)


def _with_history(dsn: str, days: int, repeats: int) -> dict:
    """End-to-end scoring of the last size once ml.customer_scores holds `days` earlier
    dates of it: the daily replace must not slow down as the history grows."""
    from models_ml.score import score_task

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "insert into ml.customer_scores select cid, as_of_date - d, task, score, band, "
            "reason_1, reason_2, reason_3, model_name, model_version, model_alias, run_id, "
            "scored_at from ml.customer_scores cross join generate_series(1, %s) as d "
            "where as_of_date = %s and task = %s",
            (days, BENCH_DATE, TASK),
        )
        conn.execute("vacuum analyze ml.customer_scores")
        (rows,) = conn.execute(
            "select count(*) from ml.customer_scores where as_of_date = %s", (BENCH_DATE,)
        ).fetchone()
    stages: list[dict] = []

    def end_to_end() -> None:
        stages.append(score_task(TASK, BENCH_DATE, dsn=dsn).seconds)

    e2e_s = _best(end_to_end, repeats, setup=lambda: _vacuum(dsn))
    return {
        "history_rows": rows * (days + 1),
        "end_to_end_rows_per_s": round(rows / e2e_s),
        "stage_seconds": min(stages, key=lambda s: sum(s.values())),
    }


if __name__ == "__main__" and sys.argv[1:2] == ["--peak-rss"]:
    _peak_rss_main(sys.argv[2], sys.argv[3])
