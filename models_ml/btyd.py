"""BG/NBD ("buy till you die", Fader, Hardie & Lee 2005): the classical model of repeat buying
that churn and purchase-intent models must beat (issue 17's baselines).

Each customer buys at a Poisson rate (gamma-distributed over customers, r and alpha) and, after
any purchase, becomes inactive with a probability (beta-distributed, a and b). Its inputs per
customer at a snapshot: ``x`` repeat purchases (purchases after the first), ``t_x`` the time of
the last purchase and ``T`` the time since the first, both from the first purchase (any unit,
days here). Fitted by maximum likelihood (scipy) on the training window's customers; scores
are the expected purchases in the next ``t`` (purchase intent) and their negative (churn).

Written on scipy rather than taken from a package: `lifetimes` (last release 2020) and `btyd`
(a 2022 beta) are unmaintained, and PyMC-Marketing's Bayesian version brings PyMC and a
compiler for what is four parameters and a closed-form likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1


@dataclass(frozen=True)
class BGNBD:
    r: float
    alpha: float
    a: float
    b: float

    def p_alive(self, x, t_x, T) -> np.ndarray:
        """P(still active | x, t_x, T): 1 for a customer without a repeat purchase."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        with np.errstate(divide="ignore", invalid="ignore"):
            log_ratio = (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x))
            odds = np.where(x > 0, self.a / (self.b + x - 1) * np.exp(log_ratio), 0.0)
        return 1.0 / (1.0 + odds)

    def expected_purchases(self, t: float, x, t_x, T) -> np.ndarray:
        """E[purchases in (T, T + t] | x, t_x, T] (eq. 10 of the paper)."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = t / (alpha + T + t)
        head = (a + b + x - 1) / (a - 1)
        tail = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(
            r + x, b + x, a + b + x - 1, z
        )
        return head * tail * self.p_alive(x, t_x, T)


def log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> float:
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return float(np.sum(a1 + a2 + np.logaddexp(a3, a4)))


def fit_bgnbd(x, t_x, T) -> BGNBD:
    """Maximum-likelihood BG/NBD on customers' (x, t_x, T); parameters kept positive by
    fitting their logs (a > 1 so that expected purchases stay finite)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    if len(x) == 0 or np.any(T <= 0) or np.any(t_x > T) or np.any(x < 0):
        raise ValueError("BG/NBD needs x >= 0 and 0 <= t_x <= T with T > 0 for every customer")
    scale = float(np.mean(T)) or 1.0

    def loss(theta: np.ndarray) -> float:
        r, alpha, a, b = np.exp(theta)
        return -log_likelihood(np.array([r, alpha * scale, 1 + a, b]), x, t_x, T) / len(x)

    found = minimize(loss, np.zeros(4), method="L-BFGS-B", bounds=[(-8, 8)] * 4)
    r, alpha, a, b = np.exp(found.x)
    return BGNBD(r=float(r), alpha=float(alpha * scale), a=float(1 + a), b=float(b))
