"""Model quality against the simulator's oracle: how close each champion gets to the true
probabilities that generated the world (demo and test worlds only; real data has no oracle).

``models_quality(dsn, truth_dir)`` reads each target's champion run (or trains one without
registering it when a target has none), re-reads its test window, maps each CID to the
simulated company behind it (ERP customer codes in ``identity.customer_ids`` ->
``truth/records.csv``; a CID holding codes of several companies takes the majority), and
scores the same rows with the oracle's probabilities. ``portrait.scorecards.run`` merges the
result into ``reports/quality.json`` under ``models``. The ``ceiling_*`` figures (``ceiling``)
refit the same LightGBM on the latent state, to tell missing features from an unlearnable gap;
``ratio_p05``/``ratio_p95`` bracket the champion's own ratio (its test scores resampled in
pairs with the oracle's), never a refit's.
Each target is judged on its own (``judge_each``): one that cannot train on this history is
reported as ``untrainable`` with the reason, and the others keep their figures.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from models_ml import tracking
from models_ml.registry import CHAMPION, reference_frame, version_by_alias
from models_ml.targets import TARGETS, Target
from models_ml.train import UntrainableTargetError, train_task
from portrait import db
from portrait.scorecards.ceiling import bootstrap_ratio, ceilings, latent_frame, oracle_rows


def cid_companies(dsn: str | None, truth_dir: Path) -> dict[str, str]:
    """CID -> the simulated company most of its ERP customer codes belong to."""
    records = pd.read_csv(Path(truth_dir) / "records.csv", dtype=str)
    erp = records[(records["source"] == "erp") & (records["table"] == "customers")]
    company_of = dict(zip(erp["record_key"], erp["company_id"], strict=True))
    with db.connect(dsn) as conn:
        rows = conn.execute(
            "select cid, source_record_id from identity.customer_ids where source_system = 'erp'"
        ).fetchall()
    votes: dict[str, Counter] = {}
    for cid, code in rows:
        company = company_of.get(code)
        if isinstance(company, str) and company:
            votes.setdefault(cid, Counter())[company] += 1
    # Ties go to the smallest company id, so the mapping is deterministic.
    return {
        cid: min(c for c, n in counter.items() if n == max(counter.values()))
        for cid, counter in votes.items()
    }


def oracle_comparison(
    reference: pd.DataFrame, oracle: pd.DataFrame, companies: dict[str, str], target: str
) -> dict[str, float]:
    """Model and oracle AUC on the test rows whose CID maps to a company with an oracle row."""
    ref = reference.assign(
        company_id=reference["cid"].map(companies),
        as_of_date=pd.to_datetime(reference["as_of_date"]).dt.date,
    )
    both = ref.merge(oracle_rows(oracle, target), on=["company_id", "as_of_date"], how="inner")
    both = both.dropna(subset=[f"p_{target}"])
    y = both["label"].to_numpy(dtype=int)
    out = {"oracle_rows": float(len(both)), "oracle_coverage": len(both) / max(len(ref), 1)}
    if len(np.unique(y)) < 2:
        return out | {
            "oracle_auc": math.nan, "model_auc_on_oracle_rows": math.nan,
            "ratio_p05": math.nan, "ratio_p95": math.nan,
        }  # fmt: skip
    model, p_oracle = both["score"].to_numpy(dtype=float), both[f"p_{target}"].to_numpy(float)
    # the interval of this very ratio: the champion's scores against the oracle's, resampled
    # in pairs over the same rows (not a refit's, which would answer another question)
    low, high = bootstrap_ratio(y, model, p_oracle)
    return out | {
        "oracle_auc": float(roc_auc_score(y, p_oracle)),
        "model_auc_on_oracle_rows": float(roc_auc_score(y, model)),
        "ratio_p05": low,
        "ratio_p95": high,
    }


def _champion_run(client, target: Target) -> str | None:
    version = version_by_alias(client, target.registered_model_name, CHAMPION)
    return version.run_id if version is not None else None


def judge_each(targets: Iterable[Target], judge: Callable[[Target], dict]) -> dict[str, dict]:
    """judge(target) for every target, each on its own: one that cannot train is reported as
    ``{"status": "untrainable", "reason": ...}`` and one whose judging fails as ``error``, so
    neither hides the others' figures (``status: judged``)."""
    out: dict[str, dict] = {}
    for target in targets:
        try:
            out[target.name] = {"status": "judged"} | judge(target)
        except UntrainableTargetError as exc:
            out[target.name] = {"status": "untrainable", "reason": exc.reason}
        except Exception as exc:  # a scorecard: say why for this target, judge the next
            out[target.name] = {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}
    return out


def not_judged(models: dict[str, dict]) -> dict[str, str]:
    """Target -> why it has no figures (untrainable or an error), for the report's summary."""
    return {
        name: f"{figures['status']}: {figures['reason']}"
        for name, figures in models.items()
        if isinstance(figures, dict) and figures.get("status") in ("untrainable", "error")
    }


def models_quality(dsn: str | None, truth_dir: Path) -> dict:
    """Per target: test_auc, baseline_auc, oracle_auc (same rows), auc_ratio_to_oracle, brier,
    ece, and where the figures came from; or why it could not be judged (``judge_each``)."""
    client = tracking.configure()
    oracle = pd.read_csv(Path(truth_dir) / "oracle.csv", dtype={"company_id": str})
    companies = cid_companies(dsn, truth_dir)
    latent = latent_frame(truth_dir)

    def judge(target: Target) -> dict:
        return target_quality(target, dsn, client, companies, latent, oracle)

    return judge_each(TARGETS.values(), judge)


def target_quality(
    target: Target,
    dsn: str | None,
    client,
    companies: dict[str, str],
    latent: pd.DataFrame,
    oracle: pd.DataFrame,
) -> dict:
    """One target's figures: its champion's run, else a fresh unregistered one."""
    run_id, source = _champion_run(client, target), "champion"
    if run_id is None:
        run_id, source = train_task(target.name, dsn=dsn, register=False).run_id, "fresh run"
    metrics = client.get_run(run_id).data.metrics
    cmp = oracle_comparison(reference_frame(run_id), oracle, companies, target.name)
    test_auc = metrics.get("test_roc_auc", math.nan)
    out = {
        "test_auc": test_auc,
        "baseline_auc": metrics.get("baseline_test_roc_auc", math.nan),
        "oracle_auc": cmp["oracle_auc"],
        # On the rows the oracle covers, so the ratio compares like with like.
        "auc_ratio_to_oracle": cmp.get("model_auc_on_oracle_rows", math.nan) / cmp["oracle_auc"]
        if cmp["oracle_auc"] == cmp["oracle_auc"]
        else math.nan,
        "brier": metrics.get("test_brier", math.nan),
        "ece": metrics.get("test_ece", math.nan),
        "ks": metrics.get("test_ks", math.nan),
        "test_rows": metrics.get("test_rows", math.nan),
        "test_positive_rate": metrics.get("test_positive_rate", math.nan),
        "oracle_coverage": cmp["oracle_coverage"],
        "model_auc_on_oracle_rows": cmp.get("model_auc_on_oracle_rows", math.nan),
        # 5-95 % of auc_ratio_to_oracle (the champion's own, paired bootstrap over its rows)
        "ratio_p05": cmp["ratio_p05"],
        "ratio_p95": cmp["ratio_p95"],
        "run_id": run_id,
        "source": source,
    }
    # What the same LightGBM reaches given the hidden state: the world's learnable ceiling.
    out |= {f"ceiling_{k}": v for k, v in ceilings(target, dsn, companies, latent, oracle).items()}
    return out
