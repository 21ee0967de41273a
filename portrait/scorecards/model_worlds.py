"""Model quality worlds (issue 17): the three targets judged where they will be used, on
worlds of ≥ 1,000 companies that differ in seed, identity noise, start, length and the
sources exported (the default, a noisier one, a 24-month one, an orders-only one), each
through the same pipeline (simulate -> load -> dbt build of the features and labels into its
own scratch database ``<warehouse db>_model_<world>``).

Per world and target: the recipe's fit (``models_ml.fit``: the LightGBM search and every
baseline on the same windows, no MLflow), then each policy's test scores against the oracle on
the rows it covers: the served policy's AUC ratio to the oracle with its paired-bootstrap
5–95 %, every candidate's ratio, and LightGBM's margin over the best baseline with its
interval. Per target over the worlds: the mean ratio (its interval resamples every world's
rows at once), the worst world, the mean margin. A world or target that cannot train is
listed with the reason and left out of the means.

A built world is reused while its knobs and the code that builds it (``dbt_project/``,
``sources/``) are unchanged: ``.local/worlds/model_<world>/built.json`` records both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from models_ml import data
from models_ml.fit import fit
from models_ml.matrix import FeatureError
from models_ml.split import SplitError
from models_ml.targets import TARGETS, Target
from models_ml.train import UntrainableTargetError
from portrait import db
from portrait.scorecards.ceiling import oracle_rows
from portrait.scorecards.models import cid_companies, judge_each
from portrait.scorecards.worlds import dbt_build, recreate_database, scratch_dsn
from portrait.settings import Settings

# The quality worlds of the models: ≥ 1,000 companies each (scale 10), differing in seed,
# identity noise, start, length and the sources exported. The demo world (make demo) stays
# small and fast.
MODEL_WORLDS: dict[str, dict] = {
    "default": {"scale": 10, "seed": 42, "identity_noise": 0.15, "start": "2023-07-01",
                "months": 36},
    "noisy": {"scale": 10, "seed": 983, "identity_noise": 0.30, "start": "2022-01-01",
              "months": 36},
    "short": {"scale": 10, "seed": 7, "identity_noise": 0.15, "start": "2024-07-01",
              "months": 24},
    # an orders-only export: the ERP alone (orders, invoices, payments), no CRM, lab,
    # service, projects or registry
    "orders_only": {"scale": 10, "seed": 11, "identity_noise": 0.15, "start": "2023-07-01",
                    "months": 36, "sources": ["erp"]},
}  # fmt: skip
# Features and labels and what they read (as bench/bench_scoring.py builds them).
# staging first, then the text stage (texts.*), then the features, labels and rule tags
STAGING_SELECTION = ["path:seeds", "path:models/staging", "--indirect-selection", "cautious"]
MODEL_SELECTION = [
    "+customer_labels", "+customer_rule_tags", "--exclude", "path:models/staging",
    "--indirect-selection", "cautious",
]  # fmt: skip
# The marketing marts (campaign members, KPIs, funnel, A/B tests) over what the above built.
MARKETING_SELECTION = [
    "path:models/staging/marketing", "customer_lifecycle_stages", "path:models/marts/marketing",
    "--indirect-selection",
    "cautious",
]  # fmt: skip
# The simulator's default oracle (ORACLE_SAMPLES: 256 replicas of the future per company and
# month-end): at scale 10 it costs ~1 s more than 64 and keeps the oracle's noise out.
ORACLE_REPLAYS = 256
BOOTSTRAP_SAMPLES = 200
# What the world's build depends on: a change here rebuilds it.
BUILD_INPUTS = ("dbt_project", "sources", "texts")
SKIPPED_PARTS = {"target", "logs", "dbt_packages", "__pycache__"}


def build_fingerprint(project_dir: Path) -> str:
    """A hash of every file the world's build reads (the dbt project, the simulator, the
    loader and the contract)."""
    digest = hashlib.sha256()
    for top in BUILD_INPUTS:
        for path in sorted((project_dir / top).rglob("*")):
            if path.is_file() and not SKIPPED_PARTS & set(path.parts):
                digest.update(str(path.relative_to(project_dir)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _database_built(world_dsn: str) -> bool:
    try:
        with db.connect(world_dsn) as conn:
            return db.relation_exists(conn, "features", "customer_labels")
    except Exception:  # no such database (yet)
        return False


def build_model_world(name: str, dsn: str, settings: Settings, knobs: dict | None = None) -> dict:
    """Simulate, load and build world `name` (or reuse it when built from the same knobs and
    code); returns where it is: database DSN, truth folder, whether it was reused, seconds."""
    from governance.roles import migrate
    from sources.loader import load_landing
    from sources.simulator import simulate
    from texts.stage import run as text_stage

    knobs = dict(MODEL_WORLDS[name] if knobs is None else knobs)
    started = time.perf_counter()
    root = settings.local_dir / "worlds" / f"model_{name}"
    world_dsn = scratch_dsn(dsn, f"model_{name}")
    replays = int(knobs.get("oracle_replays", ORACLE_REPLAYS))
    stamp = {
        "knobs": knobs,
        "oracle_replays": replays,
        "code": build_fingerprint(settings.project_dir),
        "database": world_dsn.rsplit("/", 1)[-1],
    }
    marker = root / "built.json"
    info = {"database": stamp["database"], "dsn": world_dsn, "truth": root / "data" / "truth"}
    if marker.exists() and json.loads(marker.read_text()) == stamp and _database_built(world_dsn):
        return info | {"reused": True, "build_seconds": 0.0}
    marker.unlink(missing_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    simulate(
        root / "data",
        scale=knobs["scale"],
        seed=knobs["seed"],
        identity_noise=knobs["identity_noise"],
        start=dt.date.fromisoformat(knobs["start"]),
        months=knobs["months"],
        oracle_replays=replays,
        progress=False,
        # an export of some sources only (e.g. ["erp"]: orders, invoices and payments)
        **({"sources": list(knobs["sources"])} if "sources" in knobs else {}),
        # campaigns with a holdout and a known effect (the marketing world)
        **({"marketing": True} if knobs.get("marketing") else {}),
    )
    recreate_database(dsn, world_dsn)
    migrate(world_dsn)
    load_landing(world_dsn, root / "data" / "landing", progress=False)
    with tempfile.TemporaryDirectory(prefix=f"portrait-model-{name}-") as tmp:
        dbt_build(world_dsn, settings, Path(tmp), root / "dbt_staging.log", STAGING_SELECTION)
        text_stage(world_dsn)
        dbt_build(world_dsn, settings, Path(tmp), root / "dbt_build.log", MODEL_SELECTION)
        if knobs.get("marketing"):
            dbt_build(world_dsn, settings, Path(tmp), root / "dbt_marketing.log",
                      MARKETING_SELECTION)  # fmt: skip
    marker.write_text(json.dumps(stamp, indent=1))
    return info | {"reused": False, "build_seconds": round(time.perf_counter() - started, 1)}


def _aucs(y: np.ndarray, scores: dict[str, np.ndarray], idx: np.ndarray | None = None):
    if idx is not None:
        y, scores = y[idx], {k: v[idx] for k, v in scores.items()}
    if len(np.unique(y)) < 2:
        return None
    return {k: float(roc_auc_score(y, v)) for k, v in scores.items()}


def paired_bootstrap(
    y: np.ndarray, scores: dict[str, np.ndarray], samples: int = BOOTSTRAP_SAMPLES, seed: int = 0
) -> dict[str, np.ndarray]:
    """AUC of every score (the oracle's among them) over the same row resamples: {name: one
    AUC per replicate}, NaN where a resample holds one class."""
    rng = np.random.default_rng(seed)
    out = {k: np.full(samples, np.nan) for k in scores}
    for i in range(samples):
        aucs = _aucs(y, scores, rng.integers(0, len(y), len(y)))
        for k, v in (aucs or {}).items():
            out[k][i] = v
    return out


def _percentiles(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if not len(finite):
        return math.nan, math.nan
    low, high = np.percentile(finite, [5, 95])
    return float(low), float(high)


def judge_world_target(
    target: Target, world_dsn: str, companies: dict[str, str], oracle: pd.DataFrame
) -> dict:
    """One target on one world: every policy's test AUC and ratio to the oracle on the rows
    the oracle covers, the served one's interval, LightGBM's margin over the best baseline.
    The bootstrap replicates ride along under ``_replicates`` for the means over worlds."""
    started = time.perf_counter()
    with db.connect(world_dsn) as conn:
        frame = data.training_frame(conn, target)
    try:
        result = fit(frame, target)
    except (FeatureError, SplitError) as exc:
        raise UntrainableTargetError(target.name, str(exc)) from exc
    ref = result.reference.assign(
        company_id=result.reference["cid"].map(companies),
        as_of_date=pd.to_datetime(result.reference["as_of_date"]).dt.date,
        _row=np.arange(len(result.reference)),
    )
    both = ref.merge(oracle_rows(oracle, target.name), on=["company_id", "as_of_date"])
    both = both.dropna(subset=[f"p_{target.name}"])
    y = both["label"].to_numpy(dtype=int)
    rows = both["_row"].to_numpy()
    scores = {name: np.asarray(p)[rows] for name, p in result.test_scores.items()}
    scores["oracle"] = both[f"p_{target.name}"].to_numpy(dtype=float)
    aucs = _aucs(y, scores)
    if aucs is None:
        raise UntrainableTargetError(target.name, "the oracle's test rows hold one class")
    reps = paired_bootstrap(y, scores)
    served, best = result.chosen, result.best_baseline
    ratio = {name: aucs[name] / aucs["oracle"] for name in result.test_scores}
    served_reps = reps[served] / reps["oracle"]
    margin_reps = reps["lightgbm"] - reps[best] if best else np.full(BOOTSTRAP_SAMPLES, np.nan)
    low, high = _percentiles(served_reps)
    m_low, m_high = _percentiles(margin_reps)
    positives = {k: int(v.sum()) for k, v in result.ys.items()}
    return {
        "served": served,
        "ratio_to_oracle": ratio[served],
        "ratio_p05": low,
        "ratio_p95": high,
        "test_auc": result.metrics["roc_auc"],
        "oracle_auc": aucs["oracle"],
        "best_baseline": best,
        "margin_over_best_baseline": aucs["lightgbm"] - aucs[best] if best else math.nan,
        "margin_p05": m_low,
        "margin_p95": m_high,
        "candidates": {
            name: {"test_auc": result.candidates[name]["roc_auc"], "ratio_to_oracle": ratio[name]}
            for name in result.test_scores
        },
        "failed_baselines": result.failed_baselines,
        "oracle_rows": len(both),
        "oracle_coverage": len(both) / max(len(ref), 1),
        "positives": positives,
        **result.split.describe(),
        "fit_seconds": round(time.perf_counter() - started, 1),
        "_replicates": {"served": served_reps, "margin": margin_reps},
    }


def summarise(per_world: dict[str, dict]) -> dict:
    """One target's figures over the worlds it was judged on: mean and worst ratio to the
    oracle, the mean's 5–95 % (each replicate resamples every world's rows; the worlds'
    ratios are averaged), the mean margin over the best baseline and its interval."""
    judged = {w: f for w, f in per_world.items() if f.get("status") == "judged"}
    out: dict = {
        "worlds_judged": sorted(judged),
        "worlds_not_judged": {
            w: f"{f['status']}: {f.get('reason', '')}" for w, f in per_world.items()
            if w not in judged
        },
    }  # fmt: skip
    if not judged:
        return out | {"mean_ratio_to_oracle": math.nan, "worst_ratio_to_oracle": math.nan}
    ratios = {w: f["ratio_to_oracle"] for w, f in judged.items()}
    served = np.nanmean([f["_replicates"]["served"] for f in judged.values()], axis=0)
    margin = np.nanmean([f["_replicates"]["margin"] for f in judged.values()], axis=0)
    low, high = _percentiles(served)
    m_low, m_high = _percentiles(margin)
    baselines = Counter(f["best_baseline"] for f in judged.values() if f["best_baseline"])
    return out | {
        "mean_ratio_to_oracle": float(np.mean(list(ratios.values()))),
        "worst_ratio_to_oracle": min(ratios.values()),
        "worst_world": min(ratios, key=ratios.get),
        "ratio_p05": low,
        "ratio_p95": high,
        "margin_over_best_baseline": float(
            np.mean([f["margin_over_best_baseline"] for f in judged.values()])
        ),
        "margin_p05": m_low,
        "margin_p95": m_high,
        "best_baseline": baselines.most_common(1)[0][0] if baselines else None,
        "served": {w: f["served"] for w, f in judged.items()},
    }


def models_worlds_quality(
    dsn: str, settings: Settings, worlds: dict[str, dict] | None = None, progress=print
) -> dict:
    """Per target: the figures over the model worlds (`worlds`: name -> simulator knobs,
    default MODEL_WORLDS) and ``worlds: {world: figures}``; plus ``worlds`` at the top: how
    each world was built. A world that fails to build is reported
    with the reason, and each (world, target) is judged on its own (``judge_each``)."""
    built: dict[str, dict] = {}
    per_target: dict[str, dict[str, dict]] = {name: {} for name in TARGETS}
    for name, knobs in (worlds or MODEL_WORLDS).items():
        progress(f"model world {name}: build (or reuse)")
        try:
            info = build_model_world(name, dsn, settings, knobs)
        except Exception as exc:  # one world's failure must not hide the others' figures
            reason = f"{type(exc).__name__}: {exc}"[:2000]
            built[name] = {"status": "failed", "reason": reason}
            for target in TARGETS:
                per_target[target][name] = {"status": "error", "reason": reason}
            continue
        oracle = pd.read_csv(info["truth"] / "oracle.csv", dtype={"company_id": str})
        companies = cid_companies(info["dsn"], info["truth"])
        built[name] = {
            **knobs,
            "database": info["database"],
            "reused": info["reused"],
            "build_seconds": info["build_seconds"],
            "companies": len(set(companies.values())),
        }

        def judge(target: Target, name=name, info=info, oracle=oracle, companies=companies):
            progress(f"model world {name}: {target.name}")
            return judge_world_target(target, info["dsn"], companies, oracle)

        for target, figures in judge_each(TARGETS.values(), judge).items():
            per_target[target][name] = figures
    out: dict = {"worlds": built}
    for target, per_world in per_target.items():
        summary = summarise(per_world)
        for figures in per_world.values():
            figures.pop("_replicates", None)
        out[target] = summary | {"worlds": per_world}
    return out
