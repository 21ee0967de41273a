"""Promotion gate and aliases: challenger -> champion (old champion -> previous), rollback."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from mlflow.exceptions import MlflowException

from models_ml import tracking
from models_ml.tasks import get_task

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous"


@dataclass
class GateDecision:
    task: str
    challenger_version: str | None
    champion_version: str | None
    promoted: bool
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return self.__dict__.copy()


@dataclass(frozen=True)
class GatePolicy:
    """How much worse a challenger may be than the champion on the same test window."""

    auc_tolerance: float = 0.01
    brier_tolerance: float = 0.01


def _version_by_alias(client, name: str, alias: str):
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


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


def promote(task_name: str, policy: GatePolicy | None = None) -> GateDecision:
    """Promote the challenger if it passes the gate; log the decision on its run."""
    policy = policy or GatePolicy()
    task = get_task(task_name)
    client = tracking.configure()
    name = task.registered_model_name
    challenger = _version_by_alias(client, name, CHALLENGER)
    champion = _version_by_alias(client, name, CHAMPION)
    if challenger is None:
        return GateDecision(
            task.name,
            None,
            champion.version if champion else None,
            False,
            ["no challenger version to promote"],
        )
    if champion is not None and champion.version == challenger.version:
        return GateDecision(
            task.name,
            challenger.version,
            champion.version,
            False,
            ["challenger is already champion"],
        )
    reasons: list[str] = []
    if champion is not None:
        reasons = gate(
            _run_metrics(client, challenger.run_id), _run_metrics(client, champion.run_id), policy
        )
    promoted = not reasons
    if promoted:
        if champion is not None:
            client.set_registered_model_alias(name, PREVIOUS, champion.version)
        client.set_registered_model_alias(name, CHAMPION, challenger.version)
        client.delete_registered_model_alias(name, CHALLENGER)
        reasons = ["first champion" if champion is None else "passed the gate"]
    decision = GateDecision(
        task.name, challenger.version, champion.version if champion else None, promoted, reasons
    )
    # The client API, not mlflow.start_run: the challenger's run belongs to another
    # experiment than whatever a previous task in the same process left active.
    client.log_dict(challenger.run_id, decision.to_dict(), "promotion_decision.json")
    client.set_tag(challenger.run_id, "promotion", "promoted" if promoted else "rejected")
    client.set_model_version_tag(
        name, challenger.version, "gate", json.dumps(reasons, ensure_ascii=False)
    )
    return decision


def rollback(task_name: str) -> GateDecision:
    """Make the previous champion champion again (the current one becomes previous)."""
    task = get_task(task_name)
    client = tracking.configure()
    name = task.registered_model_name
    champion = _version_by_alias(client, name, CHAMPION)
    previous = _version_by_alias(client, name, PREVIOUS)
    if previous is None:
        raise RuntimeError(f"{name} has no 'previous' version to roll back to.")
    client.set_registered_model_alias(name, CHAMPION, previous.version)
    if champion is not None:
        client.set_registered_model_alias(name, PREVIOUS, champion.version)
    return GateDecision(
        task.name,
        None,
        previous.version,
        True,
        [f"rolled back from v{champion.version if champion else '-'} to v{previous.version}"],
    )
