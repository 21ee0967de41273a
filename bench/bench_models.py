"""Benchmark: the labels (dbt's customer_labels) and training per target at about 2.5k, 25k and
250k customers, and how they grow (issue 17: goal <= 1.3x per 10x customers beyond linear).

A scale-25 world (~2.5k customers) is simulated, loaded and built to customer_labels. Its
label inputs (the features' cid/date/order and invoice counts, the ERP customer IDs, orders,
invoices and payments) are then replicated 10x and 100x under new customer codes into their
own schema, and customer_labels' compiled SQL runs on each copy: the same statement the
pipeline runs, on realistic data of that many customers. Training (models_ml.fit: the search,
the baselines, calibration) runs on the world's labelled frame and on its 10x replica; 250k
customers' frame (~7.5M rows x 60 features) is not trained here (say so, with the rows).

    growth = (seconds_large / customers_large) / (seconds_small / customers_small)
"""

from __future__ import annotations

import itertools
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
DBT = str(Path(sys.executable).parent / "dbt")
SCALE = float(os.environ.get("PORTRAIT_BENCH_MODELS_SCALE", "25"))
FACTORS = (1, 10, 100)
TRAIN_FACTORS = (1, 10)
# label input -> (the relation dbt names, the columns that carry a customer or record key)
INPUTS = {
    "customer_features": ("features", "customer_features", ("cid",)),
    "customer_ids": ("identity", "customer_ids", ("cid", "source_record_id")),
    "stg_erp__orders": ("staging", "stg_erp__orders", ("customer_code", "order_id")),
    "stg_erp__invoices": ("staging", "stg_erp__invoices", ("customer_code", "invoice_id")),
    "stg_erp__payments": ("staging", "stg_erp__payments", ("invoice_id", "payment_id")),
}


def _prepare(work: Path, dsn: str) -> str:
    """The world, built to customer_labels; returns the compiled customer_labels statement."""
    from portrait.settings import Settings
    from sources.loader import load_landing
    from sources.simulator import simulate

    simulate(work / "world", scale=SCALE, seed=42, progress=False, oracle_replays=1)
    load_landing(dsn, work / "world" / "landing", progress=False)
    env = Settings(local_dir=work / "local", reports_dir=work / "reports", warehouse_url=dsn)
    env = {**os.environ, **env.service_env()}
    target = work / "target"
    for args in (["build", "--select", "+customer_labels"], ["compile", "-s", "customer_labels"]):
        subprocess.run(
            [DBT, *args, "--quiet", "--target-path", str(target)], cwd=REPO / "dbt_project",
            env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    compiled = next(target.rglob("compiled/**/customer_labels.sql")).read_text()
    return compiled


def _columns(conn, schema: str, table: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "select column_name from information_schema.columns where table_schema = %s and "
            "table_name = %s order by ordinal_position",
            (schema, table),
        )
    ]


def _replicate(conn, factor: int) -> str:
    """Copies of the label inputs, `factor` times each customer under new keys, in schema
    bench_x<factor>; returns the schema."""
    schema = f"bench_x{factor}"
    conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
    conn.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
    for name, (src_schema, table, keys) in INPUTS.items():
        cols = _columns(conn, src_schema, table)
        exprs = [
            sql.SQL("s.{c} || '~' || g.i as {c}").format(c=sql.Identifier(c))
            if c in keys and factor > 1
            else sql.SQL("s.{}").format(sql.Identifier(c))
            for c in cols
        ]
        where = sql.SQL("where s.source_system = 'erp'") if name == "customer_ids" else sql.SQL("")
        conn.execute(
            sql.SQL(
                "create table {dst} as select {exprs} from {src} as s "
                "cross join generate_series(1, %s) as g(i) {where}"
            ).format(
                dst=sql.Identifier(schema, name),
                exprs=sql.SQL(", ").join(exprs),
                src=sql.Identifier(src_schema, table),
                where=where,
            ),
            (factor,),
        )
        conn.execute(sql.SQL("analyze {}").format(sql.Identifier(schema, name)))
    return schema


def _on_copies(compiled: str, schema: str) -> str:
    """The compiled statement reading the copies in `schema` instead of the warehouse."""
    for name, (src_schema, table, _) in INPUTS.items():
        pattern = rf'("[^"]+"\.)?"{src_schema}"\."{table}"'
        compiled = re.sub(pattern, f'"{schema}"."{name}"', compiled)
    return compiled


def _labels(conn, compiled: str, schema: str) -> dict:
    statement = _on_copies(compiled, schema)
    plan = "\n".join(r[0] for r in conn.execute(f"explain {statement}"))
    started = time.perf_counter()
    conn.execute(f"create table {schema}.labels as {statement}")
    seconds = time.perf_counter() - started
    (customers,) = conn.execute(
        f"select count(distinct cid) from {schema}.customer_features"
    ).fetchone()
    (rows,) = conn.execute(f"select count(*) from {schema}.labels").fetchone()
    return {
        "customers": customers,
        "rows": rows,
        "seconds": round(seconds, 2),
        "plan_nested_loops": plan.count("Nested Loop"),
    }


def _growth(small: dict, large: dict, key: str = "seconds") -> float:
    per_small = small[key] / small["customers"]
    per_large = large[key] / large["customers"]
    steps = max(1.0, large["customers"] / small["customers"])
    # per 10x customers: the ratio of per-customer times, to the power 1 / (decades)
    return round((per_large / per_small) ** (1 / math.log10(steps)), 3)


def _train(conn, factors: tuple[int, ...]) -> dict:
    import pandas as pd

    from models_ml import data
    from models_ml.fit import fit
    from models_ml.targets import TARGETS

    out: dict = {}
    for target in TARGETS.values():
        frame = data.training_frame(conn, target)
        per: dict = {}
        for factor in factors:
            big = pd.concat(
                [frame.assign(cid=frame["cid"] + f"~{i}") for i in range(factor)],
                ignore_index=True,
            )
            started = time.perf_counter()
            result = fit(big, target)
            per[f"x{factor}"] = {
                "customers": int(big["cid"].nunique()),
                "rows": len(big),
                "seconds": round(time.perf_counter() - started, 1),
                "served": result.chosen,
                "search_trials": len(result.search.trials),
            }
        first, last = per[f"x{factors[0]}"], per[f"x{factors[-1]}"]
        out[target.name] = per | {"growth_per_10x": _growth(first, last)}
    return out


def run(work: Path, dsn: str) -> dict:
    compiled = _prepare(Path(work), dsn)
    labels: dict = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for factor in FACTORS:
            schema = _replicate(conn, factor)
            labels[f"x{factor}"] = _labels(conn, compiled, schema)
        train = _train(conn, TRAIN_FACTORS)
    small, large = labels[f"x{FACTORS[0]}"], labels[f"x{FACTORS[-1]}"]
    return {
        "world_scale": SCALE,
        "labels": labels,
        "labels_growth_per_10x": _growth(small, large),
        # each decade on its own (fixed costs weigh on the smallest size)
        "labels_growth_by_decade": [
            _growth(labels[f"x{a}"], labels[f"x{b}"]) for a, b in itertools.pairwise(FACTORS)
        ],
        "train": train,
        "train_growth_per_10x_worst": max(t["growth_per_10x"] for t in train.values()),
        "not_run": (
            f"training at x{FACTORS[-1]} ({large['customers']:,} customers, "
            f"~{large['rows']:,} snapshot rows x 60 features): beyond a bench beside the suite "
            "on 2 cores; the labels are measured there"
        ),
    }
