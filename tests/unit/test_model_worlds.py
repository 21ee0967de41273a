"""The model worlds' summary: per target the mean and worst ratio to the oracle over the
worlds judged, the mean's interval from every world's replicates, the margin over the best
baseline; a world that could not train is listed and left out of the means."""

from __future__ import annotations

import math

import numpy as np
import pytest


def _world(ratio: float, margin: float, best: str, served: str, spread: float = 0.02) -> dict:
    rng = np.random.default_rng(int(ratio * 1000))
    return {
        "status": "judged",
        "served": served,
        "ratio_to_oracle": ratio,
        "margin_over_best_baseline": margin,
        "best_baseline": best,
        "_replicates": {
            "served": ratio + rng.normal(0, spread, 200),
            "margin": margin + rng.normal(0, spread, 200),
        },
    }


def test_the_summary_averages_the_judged_worlds_and_names_the_others():
    from portrait.scorecards.model_worlds import summarise

    per_world = {
        "default": _world(0.95, 0.01, "logistic", "lightgbm"),
        "noisy": _world(0.85, -0.004, "bgnbd", "bgnbd"),
        "short": {"status": "untrainable", "reason": "test (2 positives, 90 negatives)"},
        "other": _world(0.92, 0.02, "logistic", "lightgbm"),
    }
    out = summarise(per_world)
    assert out["worlds_judged"] == ["default", "noisy", "other"]
    assert out["worlds_not_judged"] == {"short": "untrainable: test (2 positives, 90 negatives)"}
    assert out["mean_ratio_to_oracle"] == pytest.approx((0.95 + 0.85 + 0.92) / 3)
    assert out["worst_ratio_to_oracle"] == 0.85 and out["worst_world"] == "noisy"
    # the mean's interval: narrower than one world's (three worlds' noise averages out)
    assert out["ratio_p05"] < out["mean_ratio_to_oracle"] < out["ratio_p95"]
    assert out["ratio_p95"] - out["ratio_p05"] < 2 * 1.645 * 0.02
    assert out["margin_over_best_baseline"] == pytest.approx((0.01 - 0.004 + 0.02) / 3)
    assert out["best_baseline"] == "logistic"
    assert out["served"] == {"default": "lightgbm", "noisy": "bgnbd", "other": "lightgbm"}


def test_a_target_no_world_could_train_has_no_mean():
    from portrait.scorecards.model_worlds import summarise

    out = summarise({"short": {"status": "untrainable", "reason": "too short"}})
    assert math.isnan(out["mean_ratio_to_oracle"]) and out["worlds_judged"] == []


def test_the_paired_bootstrap_resamples_every_score_on_the_same_rows():
    from portrait.scorecards.model_worlds import paired_bootstrap

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    oracle = y + rng.normal(0, 0.8, 400)
    reps = paired_bootstrap(y, {"a": oracle, "b": oracle.copy(), "oracle": oracle}, samples=50)
    assert np.allclose(reps["a"], reps["b"]) and np.allclose(reps["a"] / reps["oracle"], 1.0)


def test_a_changed_build_input_changes_the_fingerprint(tmp_path):
    from portrait.scorecards.model_worlds import build_fingerprint

    for top in ("dbt_project/models", "sources", "dbt_project/target"):
        (tmp_path / top).mkdir(parents=True)
    (tmp_path / "dbt_project/models/a.sql").write_text("select 1")
    (tmp_path / "sources/b.py").write_text("x = 1")
    before = build_fingerprint(tmp_path)
    (tmp_path / "dbt_project/target/manifest.json").write_text("{}")  # build output: ignored
    assert build_fingerprint(tmp_path) == before
    (tmp_path / "dbt_project/models/a.sql").write_text("select 2")
    assert build_fingerprint(tmp_path) != before


def test_a_target_untrainable_on_one_world_leaves_every_other_figure(monkeypatch, tmp_path):
    import pandas as pd

    from models_ml.targets import TARGETS
    from models_ml.train import UntrainableTargetError
    from portrait.scorecards import model_worlds
    from portrait.settings import Settings

    truth = tmp_path / "truth"
    truth.mkdir()
    pd.DataFrame({"company_id": ["CO1"], "as_of_date": ["2024-01-31"]}).to_csv(
        truth / "oracle.csv", index=False
    )

    def build(name, dsn, settings, knobs):
        if name == "broken":
            raise RuntimeError("simulator ran out of disk")
        dsn = f"postgresql://x/{name}"
        return {"database": name, "dsn": dsn, "truth": truth, "reused": True, "build_seconds": 0}

    def judge(target, dsn, companies, oracle):
        if target.name == "default_90dpd_180d" and dsn.endswith("short"):
            raise UntrainableTargetError(target.name, "test (3 positives, 400 negatives)")
        return _world(0.93, 0.01, "logistic", "lightgbm")

    monkeypatch.setattr(model_worlds, "build_model_world", build)
    monkeypatch.setattr(model_worlds, "cid_companies", lambda dsn, truth: {"C1": "CO1"})
    monkeypatch.setattr(model_worlds, "judge_world_target", judge)
    worlds = {name: {"scale": 10} for name in ("default", "short", "broken")}
    out = model_worlds.models_worlds_quality(
        "postgresql://x/y", Settings(local_dir=tmp_path), worlds, progress=lambda m: None
    )
    assert out["worlds"]["broken"]["status"] == "failed"
    credit = out["default_90dpd_180d"]
    assert credit["worlds"]["short"] == {
        "status": "untrainable", "reason": "test (3 positives, 400 negatives)",
    }  # fmt: skip
    assert credit["worlds_judged"] == ["default"] and credit["mean_ratio_to_oracle"] == 0.93
    for name in set(TARGETS) - {"default_90dpd_180d"}:
        assert out[name]["worlds_judged"] == ["default", "short"], out[name]
        assert "broken" in out[name]["worlds_not_judged"]
    assert all("_replicates" not in f for t in TARGETS for f in out[t]["worlds"].values())
