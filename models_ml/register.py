"""Promotion gate and aliases: challenger -> champion (old champion -> previous), rollback.

The gate compares the challenger's test metrics with the champion's, then re-scores the
challenger's test window with the champion so that per-segment AUCs are compared on the very
same rows: a challenger that is better on average but collapses on one segment is rejected."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from models_ml import evaluate, tracking
from models_ml.matrix import FeatureError, to_model_matrix
from models_ml.registry import (
    CHALLENGER,
    CHAMPION,
    PREVIOUS,
    load_champion,
    reference_frame,
    version_by_alias,
)
from models_ml.targets import get_target


@dataclass
class GateDecision:
    task: str
    challenger_version: str | None
    champion_version: str | None
    promoted: bool
    reasons: list[str] = field(default_factory=list)
    # Figures behind the decision (per-segment AUCs of both models, skipped checks).
    checks: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return self.__dict__.copy()


@dataclass(frozen=True)
class GatePolicy:
    """How much worse a challenger may be than the champion on the same test window."""

    auc_tolerance: float = 0.01
    brier_tolerance: float = 0.01
    # Segments are smaller than the whole window, so their AUCs are noisier: a wider margin,
    # and a drop must also stand out from the noise of the segment's size (segment_gate).
    segment_auc_tolerance: float = 0.05
    # One-sided 95 %: a segment collapses when the drop exceeds this many standard errors of
    # the difference of the two AUCs (each from evaluate.auc_standard_error).
    segment_z: float = 1.645


def _run_metrics(client, run_id: str) -> dict[str, float]:
    return client.get_run(run_id).data.metrics


def gate(challenger: dict[str, float], champion: dict[str, float], policy: GatePolicy) -> list[str]:
    """Reasons the challenger must not replace the champion (empty list = pass)."""
    reasons = []
    c_auc, k_auc = challenger.get("test_roc_auc", math.nan), champion.get("test_roc_auc", math.nan)
    if math.isnan(c_auc):
        reasons.append("challenger has no test AUC")
    elif not math.isnan(k_auc) and c_auc < k_auc - policy.auc_tolerance:
        reasons.append(
            f"test AUC {c_auc:.4f} is worse than the champion's {k_auc:.4f} "
            f"by more than {policy.auc_tolerance}"
        )
    c_brier, k_brier = challenger.get("test_brier", math.nan), champion.get("test_brier", math.nan)
    if (
        not math.isnan(c_brier)
        and not math.isnan(k_brier)
        and c_brier > k_brier + policy.brier_tolerance
    ):
        reasons.append(
            f"calibration: Brier {c_brier:.4f} is worse than the champion's {k_brier:.4f} "
            f"by more than {policy.brier_tolerance}"
        )
    return reasons


def segment_gate(
    challenger: dict[str, dict[str, dict[str, float]]],
    champion: dict[str, dict[str, dict[str, float]]],
    policy: GatePolicy,
) -> list[str]:
    """Reasons from per-segment AUCs ({axis: {value: {"roc_auc": ..., "roc_auc_se": ...}}})
    measured on the same rows: any segment where the challenger falls more than the tolerance
    below the champion, and by more than chance explains on a segment that size (z standard
    errors of the difference; a segment of 20 rows and 5 positives moves by 0.1 on its own, so
    such a drop alone must not block a model that is better overall)."""
    reasons = []
    for axis, by_value in champion.items():
        for value, theirs in by_value.items():
            ours = challenger.get(axis, {}).get(value)
            if ours is None:
                continue
            drop = theirs["roc_auc"] - ours["roc_auc"]
            noise = policy.segment_z * math.hypot(
                ours.get("roc_auc_se", 0.0), theirs.get("roc_auc_se", 0.0)
            )
            if drop > max(policy.segment_auc_tolerance, noise):
                reasons.append(
                    f"segment {axis}={value} collapses: AUC {ours['roc_auc']:.4f} against the "
                    f"champion's {theirs['roc_auc']:.4f} on the same rows (drop {drop:.4f} > "
                    f"tolerance {policy.segment_auc_tolerance} and > {noise:.4f}, "
                    f"{policy.segment_z} standard errors on {ours.get('rows', 0):.0f} rows)"
                )
    return reasons


def compare_segments(task_name: str, challenger_run_id: str, policy: GatePolicy):
    """(reasons, checks): the champion re-scores the challenger's test window and both are
    compared per segment. A champion that cannot read the window (other features) skips the
    check, with a note, rather than blocking every future model."""
    reference = reference_frame(challenger_run_id)
    champ = load_champion(task_name, CHAMPION)
    try:
        x = to_model_matrix(reference, champ.features)
    except FeatureError as exc:
        return [], {"segments_skipped": str(exc)}
    y = reference["label"].to_numpy(dtype=int)
    ours = evaluate.segment_report(reference, y, reference["score"].to_numpy(dtype=float))
    theirs = evaluate.segment_report(reference, y, champ.predict(x))
    checks = {"segment_auc_challenger": ours, "segment_auc_champion": theirs}
    return segment_gate(ours, theirs, policy), checks


def crown(client, name: str, challenger, champion) -> list[str]:
    """Make the challenger version champion (the old champion, if any, previous); the reason."""
    if champion is not None:
        client.set_registered_model_alias(name, PREVIOUS, champion.version)
    client.set_registered_model_alias(name, CHAMPION, challenger.version)
    client.delete_registered_model_alias(name, CHALLENGER)
    return ["first champion" if champion is None else "passed the gate"]


def promote(task_name: str, policy: GatePolicy | None = None) -> GateDecision:
    """Promote the challenger if it passes the gate; log the decision on its run."""
    policy = policy or GatePolicy()
    target = get_target(task_name)
    client = tracking.configure()
    name = target.registered_model_name
    challenger = version_by_alias(client, name, CHALLENGER)
    champion = version_by_alias(client, name, CHAMPION)
    if challenger is None:
        return GateDecision(
            target.name,
            None,
            champion.version if champion else None,
            False,
            ["no challenger version to promote"],
        )
    if champion is not None and champion.version == challenger.version:
        return GateDecision(
            target.name,
            challenger.version,
            champion.version,
            False,
            ["challenger is already champion"],
        )
    reasons: list[str] = []
    checks: dict = {}
    if champion is not None:
        reasons = gate(
            _run_metrics(client, challenger.run_id), _run_metrics(client, champion.run_id), policy
        )
        segment_reasons, checks = compare_segments(target.name, challenger.run_id, policy)
        reasons += segment_reasons
    promoted = not reasons
    if promoted:
        reasons = crown(client, name, challenger, champion)
    decision = GateDecision(
        target.name,
        challenger.version,
        champion.version if champion else None,
        promoted,
        reasons,
        checks,
    )
    # The client API, not mlflow.start_run: the challenger's run belongs to another
    # experiment than whatever a previous step in the same process left active.
    client.log_dict(challenger.run_id, decision.to_dict(), "promotion_decision.json")
    client.set_tag(challenger.run_id, "promotion", "promoted" if promoted else "rejected")
    client.set_model_version_tag(
        name, challenger.version, "gate", json.dumps(reasons, ensure_ascii=False)
    )
    return decision


def rollback(task_name: str) -> GateDecision:
    """Make the previous champion champion again (the current one becomes previous)."""
    target = get_target(task_name)
    return rollback_model(target.registered_model_name, target.name)


def rollback_model(name: str, task_name: str) -> GateDecision:
    """`rollback` for the registered model `name` (the uplift model has no Target)."""
    client = tracking.configure()
    champion = version_by_alias(client, name, CHAMPION)
    previous = version_by_alias(client, name, PREVIOUS)
    if previous is None:
        raise RuntimeError(f"{name} has no 'previous' version to roll back to.")
    client.set_registered_model_alias(name, CHAMPION, previous.version)
    if champion is not None:
        client.set_registered_model_alias(name, PREVIOUS, champion.version)
    return GateDecision(
        task_name,
        None,
        previous.version,
        True,
        [f"rolled back from v{champion.version if champion else '-'} to v{previous.version}"],
    )
