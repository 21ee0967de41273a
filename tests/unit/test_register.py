"""The promotion gate: overall metrics and per-segment AUCs on the same rows."""

from models_ml.evaluate import auc_standard_error
from models_ml.register import GatePolicy, gate, segment_gate


def test_gate_rejects_a_worse_challenger_and_accepts_an_equal_one():
    champion = {"test_roc_auc": 0.80, "test_brier": 0.10}
    assert gate({"test_roc_auc": 0.80, "test_brier": 0.10}, champion, GatePolicy()) == []
    reasons = gate({"test_roc_auc": 0.70, "test_brier": 0.10}, champion, GatePolicy())
    assert reasons and "AUC" in reasons[0]
    assert gate({"test_roc_auc": 0.80, "test_brier": 0.30}, champion, GatePolicy())


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
