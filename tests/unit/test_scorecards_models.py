"""`make quality`'s model figures: the interval beside a champion's ratio to the oracle is the
champion's own (issue 17: it came from a separate refit and could exclude the ratio itself)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from portrait.scorecards import models


def _world(n: int = 600, noise: float = 2.0, seed: int = 3):
    """A test window whose champion scores are the oracle's probability plus heavy noise."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.02, 0.6, n)
    y = (rng.uniform(size=n) < p).astype(int)
    day = dt.date(2025, 6, 30)
    cids = [f"CID{i:04d}" for i in range(n)]
    reference = pd.DataFrame(
        {"cid": cids, "as_of_date": [day] * n, "label": y,
         "score": p + rng.normal(0, noise * p.std(), n)}
    )  # fmt: skip
    oracle = pd.DataFrame(
        {"company_id": [f"CO{i}" for i in range(n)], "as_of_date": [str(day)] * n,
         "p_churn_180d": p}
    )  # fmt: skip
    companies = {c: f"CO{i}" for i, c in enumerate(cids)}
    return reference, oracle, companies


def test_the_interval_brackets_the_champions_own_ratio():
    reference, oracle, companies = _world()
    cmp = models.oracle_comparison(reference, oracle, companies, "churn_180d")
    ratio = cmp["model_auc_on_oracle_rows"] / cmp["oracle_auc"]
    assert ratio < 0.85, "the noisy champion should sit well below the oracle"
    assert cmp["ratio_p05"] <= ratio <= cmp["ratio_p95"]
    assert cmp["ratio_p95"] - cmp["ratio_p05"] < 0.3


def test_target_quality_reports_that_interval_not_the_refits(monkeypatch):
    """A refit that does much better than the champion (a search that chose otherwise, no
    calibration) must not lend the champion its interval."""
    reference, oracle, companies = _world()

    from types import SimpleNamespace

    run = SimpleNamespace(data=SimpleNamespace(metrics={"test_roc_auc": 0.7}))

    class Client:
        def get_run(self, run_id):
            return run

    target = models.TARGETS["churn_180d"]
    monkeypatch.setattr(models, "_champion_run", lambda client, t: "run-1")
    monkeypatch.setattr(models, "reference_frame", lambda run_id: reference)
    monkeypatch.setattr(
        models, "ceilings",
        lambda *a, **k: {"observed_refit_ratio_p05": 0.95, "observed_refit_ratio_p95": 0.99},
    )  # fmt: skip
    out = models.target_quality(target, None, Client(), companies, pd.DataFrame(), oracle)
    ratio = out["auc_ratio_to_oracle"]
    assert not math.isnan(ratio) and ratio < 0.85
    assert out["ratio_p05"] <= ratio <= out["ratio_p95"] < 0.95
    assert out["ceiling_observed_refit_ratio_p05"] == 0.95  # the refit's, named as such
