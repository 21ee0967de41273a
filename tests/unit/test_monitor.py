"""Drift: PSI and the policy's hysteresis."""

import numpy as np

from models_ml.monitor import DriftPolicy, apply_policy, psi


def test_psi_is_small_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=5000)
    assert psi(ref, rng.normal(size=5000)) < 0.02
    assert psi(ref, rng.normal(1.0, size=5000)) > 0.25


def test_drift_policy_needs_consecutive_days_to_trigger_and_to_clear():
    policy = DriftPolicy(trigger_days=3, clear_days=2)
    state = (0, 0, False)
    alarms = []
    for drifted in [True, True, False, True, True, True, False, True, False, False]:
        state = apply_policy(policy, drifted, *state)
        alarms.append(state[2])
    assert alarms == [False, False, False, False, False, True, True, True, True, False]
