"""Pure parts of credit risk, calibration, per-segment metrics and gate, and segmentation."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from models_ml.calibrate import Calibrator, fit_calibrator
from models_ml.evaluate import activity_buckets, binary_metrics, segment_aucs, segment_report
from models_ml.register import GatePolicy, segment_gate
from models_ml.segment import BEHAVIOUR, fit_segments, name_segments
from models_ml.split import time_split
from models_ml.tasks import get_task
from models_ml.train import TooFewPositivesError, check_windows


def month_ends(n, start=dt.date(2023, 1, 31)):
    return [d.date() for d in pd.date_range(start, periods=n, freq="ME")]


def test_credit_task_grades_pd_from_a_to_e():
    task = get_task("default_90dpd_180d")
    grades = [task.band(p) for p in (0.001, 0.015, 0.03, 0.07, 0.4)]
    assert grades == ["A", "B", "C", "D", "E"]
    assert task.calibration and task.window_positives


def test_rare_windows_grow_until_they_hold_enough_positives():
    dates = month_ends(36)
    positives = dict.fromkeys(dates, 2)
    split = time_split(dates, 180, positives=positives, window_positives=10)
    assert len(split.test_dates) == 5 and len(split.valid_dates) == 5
    assert max(split.valid_dates) + dt.timedelta(days=180) <= min(split.test_dates)
    assert max(split.train_dates) + dt.timedelta(days=180) <= min(split.valid_dates)
    # Without a target the windows keep their default size.
    assert len(time_split(dates, 180, positives=positives).test_dates) == 3


def test_training_refuses_a_window_with_too_few_positives():
    dates = month_ends(30)
    split = time_split(dates, 180)
    ys = {"train": np.r_[np.ones(20), np.zeros(80)], "valid": np.r_[np.ones(3), np.zeros(50)]}
    ys["test"] = ys["train"]
    with pytest.raises(TooFewPositivesError, match=r"valid \(3 positives, 50 negatives\)"):
        check_windows(get_task("default_90dpd_180d"), ys, split)


def test_platt_calibration_maps_inflated_scores_back_to_observed_rates():
    rng = np.random.default_rng(0)
    true_p = rng.uniform(0.0, 0.1, 20000)
    y = (rng.uniform(size=true_p.size) < true_p).astype(int)
    inflated = np.clip(true_p * 5, 0, 0.99)  # what a class-balanced model would say
    before = binary_metrics(y, inflated)
    for method in ("platt", "isotonic"):
        cal = fit_calibrator(y, inflated, method)
        after = binary_metrics(y, cal.apply(inflated))
        assert after["ece"] < before["ece"] / 3 and after["brier"] < before["brier"]
        # Serialised as plain numbers and back, it gives the same probabilities.
        again = Calibrator.from_dict(cal.to_dict())
        assert np.allclose(again.apply(inflated), cal.apply(inflated))
    assert Calibrator.from_dict(None).apply(np.array([0.3]))[0] == pytest.approx(0.3)


def test_platt_stays_sane_when_a_few_positives_separate_perfectly():
    y = np.r_[np.ones(5), np.zeros(200)].astype(int)
    scores = np.r_[np.full(5, 0.6), np.linspace(0.01, 0.4, 200)]
    p = fit_calibrator(y, scores, "platt").apply(scores)
    assert p.max() < 0.9 and p.min() >= 1e-4


def test_segment_aucs_skip_segments_without_both_classes():
    y = np.array([0, 1] * 20 + [0] * 20)
    p = np.r_[np.tile([0.2, 0.8], 20), np.full(20, 0.5)]
    groups = np.array(["a"] * 40 + ["b"] * 20, dtype=object)
    out = segment_aucs(y, p, groups)
    assert set(out) == {"a"} and out["a"]["roc_auc"] == 1.0


def test_segment_report_uses_type_and_industry_only_when_present():
    frame = pd.DataFrame({"orders_365d": np.arange(80)})
    y = np.tile([0, 1], 40)
    assert set(segment_report(frame, y, np.linspace(0, 1, 80))) == {"activity"}
    frame["industry"] = ["光伏", "风电"] * 40
    assert set(segment_report(frame, y, np.linspace(0, 1, 80))) == {"activity", "industry"}
    assert sorted(set(activity_buckets(frame["orders_365d"]))) == ["q1", "q2", "q3", "q4"]


def test_segment_gate_rejects_a_challenger_that_collapses_on_one_segment():
    champion = {"activity": {"q1": {"roc_auc": 0.80}, "q4": {"roc_auc": 0.75}}}
    fine = {"activity": {"q1": {"roc_auc": 0.82}, "q4": {"roc_auc": 0.72}}}
    collapsed = {"activity": {"q1": {"roc_auc": 0.90}, "q4": {"roc_auc": 0.55}}}
    assert segment_gate(fine, champion, GatePolicy()) == []
    reasons = segment_gate(collapsed, champion, GatePolicy())
    assert len(reasons) == 1 and "activity=q4" in reasons[0]


def test_segment_gate_does_not_block_on_the_noise_of_a_small_segment():
    # 5 positives and 15 negatives: a drop from 0.77 to 0.57 is within chance for that size;
    # the same drop on 200 positives and 600 negatives is a collapse.
    from models_ml.evaluate import auc_standard_error

    def seg(auc, pos, neg):
        return {"roc_auc": auc, "roc_auc_se": auc_standard_error(auc, pos, neg), "rows": pos + neg}

    small = segment_gate(
        {"industry": {"x": seg(0.57, 5, 15)}}, {"industry": {"x": seg(0.77, 5, 15)}}, GatePolicy()
    )
    assert small == []
    large = segment_gate(
        {"industry": {"x": seg(0.57, 200, 600)}},
        {"industry": {"x": seg(0.77, 200, 600)}},
        GatePolicy(),
    )
    assert len(large) == 1 and "industry=x" in large[0]


def test_auc_standard_error_shrinks_with_rows_and_matches_hanley_mcneil():
    from models_ml.evaluate import auc_standard_error

    # By hand, AUC 0.8 on 50 + 50 cases: Q1 = 0.8/1.2, Q2 = 1.28/1.8,
    # var = (0.16 + 49 (Q1 - 0.64) + 49 (Q2 - 0.64)) / 2500 = 0.00198 -> SE 0.0445
    assert abs(auc_standard_error(0.8, 50, 50) - 0.0445) < 0.0005
    assert auc_standard_error(0.8, 500, 500) < auc_standard_error(0.8, 50, 50) / 3


def test_segments_are_named_by_what_sets_them_apart():
    profiles = pd.DataFrame(
        [[2.0, 1.0] + [0.0] * (len(BEHAVIOUR) - 2), [-2.0, -1.5] + [0.0] * (len(BEHAVIOUR) - 2)],
        columns=list(BEHAVIOUR),
    )
    names = name_segments(profiles)
    assert names == {0: "high value, frequent orders", 1: "low value, few orders"}


def test_kmeans_finds_planted_groups_and_ranks_them_by_value():
    rng = np.random.default_rng(1)
    rows = []
    centres = rng.uniform(0, 1, size=(3, len(BEHAVIOUR)))
    for g, (revenue, n) in enumerate(((1e7, 30), (1e5, 30), (1e6, 30))):
        for _ in range(n):
            values = centres[g] + rng.normal(0, 0.02, len(BEHAVIOUR))
            row = dict(zip(BEHAVIOUR, values, strict=True))
            row["revenue_cny_365d"] = revenue * rng.uniform(0.9, 1.1)
            rows.append(row)
    seg = fit_segments(pd.DataFrame(rows), k_range=range(3, 6))
    assert seg.k == 3 and seg.coords.shape == (90, 2)
    assert list(pd.Series(seg.labels[:30]).unique()) == [0]
    assert seg.profiles["revenue_cny_365d"].idxmax() == 0
    assert len(set(seg.names.values())) == 3
