"""One target that cannot train hides no other: training says why, `make quality` reports the
others' figures and lists the untrainable one with its reason (quality.json and .md)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from models_ml.targets import TARGETS, get_target


def _thin_frame(target_name: str) -> pd.DataFrame:
    """30 month-end snapshots of 40 customers with one positive in all: untrainable."""
    target = get_target(target_name)
    dates = [d.date() for d in pd.date_range(dt.date(2022, 1, 31), periods=30, freq="ME")]
    rows = [
        {"cid": f"C{i:03d}", "as_of_date": d, **dict.fromkeys(target.features, 1.0), "label": 0}
        for d in dates
        for i in range(40)
    ]
    frame = pd.DataFrame(rows)
    frame.loc[0, "label"] = 1
    return frame


@pytest.mark.parametrize("target_name", list(TARGETS))
def test_training_a_target_with_too_few_positives_names_it_and_why(monkeypatch, target_name):
    from models_ml import train

    monkeypatch.setattr(train.tracking, "configure", lambda: None)
    monkeypatch.setattr(train.db, "connect", lambda dsn=None: contextlib.nullcontext())
    monkeypatch.setattr(train.data, "training_frame", lambda conn, t: _thin_frame(t.name))
    monkeypatch.setattr(train, "_dbt_invocation_id", lambda conn: "test")
    with pytest.raises(train.UntrainableTargetError) as caught:
        train.train_task(target_name, dsn="postgresql://unused")
    assert caught.value.task == target_name
    assert str(caught.value).startswith(f"{target_name} cannot be trained: ")
    assert "positives" in caught.value.reason


def test_quality_reports_every_target_it_can_and_why_not_the_others(monkeypatch, tmp_path):
    from models_ml.train import UntrainableTargetError
    from portrait.scorecards import models as scorecard
    from portrait.scorecards.report import write_report

    untrainable, broken, *fine = list(TARGETS)

    def judge(target, *args):
        if target.name == untrainable:
            raise UntrainableTargetError(target.name, "only 2 positives in the test window")
        if target.name == broken:
            raise KeyError("test_roc_auc")
        return {"test_auc": 0.8, "oracle_auc": 0.9}

    pd.DataFrame({"company_id": ["CO1"], "as_of_date": ["2024-01-31"]}).to_csv(
        tmp_path / "oracle.csv", index=False
    )
    monkeypatch.setattr(scorecard.tracking, "configure", lambda: None)
    monkeypatch.setattr(scorecard, "cid_companies", lambda dsn, truth: {})
    monkeypatch.setattr(scorecard, "latent_frame", lambda truth: pd.DataFrame())
    monkeypatch.setattr(scorecard, "target_quality", judge)

    models = scorecard.models_quality("postgresql://unused", tmp_path)
    assert set(models) == set(TARGETS)
    for name in fine:
        assert models[name] == {"status": "judged", "test_auc": 0.8, "oracle_auc": 0.9}
    assert models[untrainable] == {
        "status": "untrainable",
        "reason": "only 2 positives in the test window",
    }
    assert models[broken]["status"] == "error" and "test_roc_auc" in models[broken]["reason"]
    assert set(scorecard.not_judged(models)) == {untrainable, broken}

    write_report("models", models, tmp_path / "reports")
    report = json.loads((tmp_path / "reports" / "quality.json").read_text())
    assert report["models"][untrainable]["status"] == "untrainable"
    md = (tmp_path / "reports" / "quality.md").read_text()
    assert f"| {untrainable}.reason | only 2 positives in the test window |" in md
    assert all(f"| {name}.test_auc | 0.8 |" in md for name in fine)


def test_judge_each_keeps_going_after_a_failure():
    from portrait.scorecards.models import judge_each

    targets = list(TARGETS.values())
    seen = []

    def judge(target):
        seen.append(target.name)
        if len(seen) == 1:
            raise np.linalg.LinAlgError("singular")
        return {"x": 1}

    out = judge_each(targets, judge)
    assert seen == [t.name for t in targets]
    assert [v["status"] for v in out.values()] == ["error"] + ["judged"] * (len(targets) - 1)
