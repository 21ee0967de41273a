"""The BG/NBD baseline: it recovers the parameters of data drawn from its own process and
ranks future buyers."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from models_ml.btyd import BGNBD, fit_bgnbd


def _simulate(n: int, r=0.8, alpha=60.0, a=1.5, b=4.0, T_max=720.0, ahead=180.0, seed=2):
    """Customers of a BG/NBD world: their history up to T and whether they buy in (T, T+ahead]."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(180, T_max, n)
    x, t_x, future = np.zeros(n), np.zeros(n), np.zeros(n, dtype=int)
    for i in range(n):
        t, alive = 0.0, True
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i] + ahead or not alive:
                break
            if t <= T[i]:
                x[i], t_x[i] = x[i] + 1, t
            else:
                future[i] = 1
                break
            alive = rng.uniform() > p[i]
    return x, t_x, T, future


def test_bgnbd_recovers_its_parameters_and_ranks_future_buyers():
    x, t_x, T, future = _simulate(4000)
    model = fit_bgnbd(x, t_x, T)
    assert 0.5 < model.r < 1.2 and 30 < model.alpha < 100, model
    assert 1.0 < model.a < 3.0 and 2.0 < model.b < 8.0, model
    expected = model.expected_purchases(180.0, x, t_x, T)
    assert roc_auc_score(future, expected) > 0.7
    # and it ranks the future buyers as well as the parameters that generated them
    truth = BGNBD(0.8, 60.0, 1.5, 4.0)
    assert abs(roc_auc_score(future, truth.expected_purchases(180.0, x, t_x, T))
               - roc_auc_score(future, expected)) < 0.02  # fmt: skip


def test_a_long_silent_repeat_buyer_is_probably_gone():
    model = BGNBD(0.8, 60.0, 1.5, 4.0)
    recent, silent = model.p_alive([5, 5], [700, 100], [720, 720])
    assert recent > 0.8 and silent < 0.3
    assert model.p_alive([0], [0], [720])[0] == 1.0
