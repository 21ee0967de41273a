"""The latent monthly process, vectorised over rows (companies, or Monte Carlo replicas of them).

State during a month: relationship R (prospect, growing, mature, declining, lost), financial
state F (healthy, stressed, distressed), project phase P (idle, qualifying, buying — only
burst buyers leave `buying`), co-development J (0/1) and `closed` (deregistered, absorbing).
Everything a month emits is drawn from the state of that month; the state of the next month
depends only on this month's state and the static traits, so the oracle can replay the future
from any month-end.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

PROSPECT, GROWING, MATURE, DECLINING, LOST = range(5)
HEALTHY, STRESSED, DISTRESSED = range(3)
IDLE, QUALIFYING, BUYING = range(3)

# Order intensity multipliers by calendar month (Spring Festival dip in February).
SEASON = np.array([0.95, 0.6, 1.05, 1.05, 1.05, 1.1, 0.95, 0.95, 1.05, 0.9, 1.05, 1.2])
R_ORDER = np.array([0.0, 0.8, 1.0, 0.35, 0.0])
P_ORDER = np.array([0.1, 0.25, 2.2])
F_ORDER = np.array([1.0, 0.85, 0.4])

# Payment delay after the due date, by financial state when the order is placed (days).
DELAY_LOW = np.array([-10, 15, 30])
DELAY_HIGH = np.array([15, 75, 80])  # inclusive; < 90 so only distress makes 90+ dpd


@dataclass
class Traits:
    size: np.ndarray
    tech: np.ndarray
    loyalty: np.ndarray
    codev: np.ndarray
    fin: np.ndarray
    burst: np.ndarray
    research: np.ndarray
    terms: np.ndarray

    def take(self, idx: np.ndarray) -> Traits:
        return Traits(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


@dataclass
class State:
    r: np.ndarray
    f: np.ndarray
    p: np.ndarray
    j: np.ndarray
    closed: np.ndarray

    def take(self, idx: np.ndarray) -> State:
        return State(**{f.name: getattr(self, f.name)[idx].copy() for f in fields(self)})

    def copy(self) -> State:
        return State(**{f.name: getattr(self, f.name).copy() for f in fields(self)})


def base_rate(tr: Traits) -> np.ndarray:
    """Orders per month of a mature, healthy steady buyer."""
    return 0.4 + 3.2 * tr.size**1.3


def order_rate(st: State, tr: Traits, month_of_year: int) -> tuple[np.ndarray, np.ndarray]:
    """(orders per month including cancelled ones, probability an order is cancelled)."""
    p_mult = np.where(tr.burst, P_ORDER[st.p], 1.0)
    lam = (
        base_rate(tr)
        * R_ORDER[st.r]
        * p_mult
        * F_ORDER[st.f]
        * np.where(st.j == 1, 1.25, 1.0)
        * SEASON[month_of_year - 1]
    )
    lam = np.where(st.closed, 0.0, lam)
    cancel = 0.03 + 0.08 * (st.r == DECLINING) + 0.12 * (st.f == DISTRESSED)
    return lam, cancel


def _move(u, current, p1, t1, p2, t2):
    """Go to t1 when u < p1, to t2 when p1 <= u < p1 + p2, else stay."""
    return np.where(u < p1, t1, np.where(u < p1 + p2, t2, current))


def transition(st: State, tr: Traits, rng: np.random.Generator) -> State:
    """Next month's state. Consumes exactly five uniforms per row, in a fixed order."""
    n = st.r.shape[0]
    u = rng.random((5, n))
    r, f, p, j = st.r, st.f, st.p, st.j
    zero = np.zeros(n)
    stressed, distressed = f == STRESSED, f == DISTRESSED

    closing = np.where(distressed, 0.03, 0.0) + np.where(r == LOST, 0.006, 0.0)
    closed = st.closed | (u[0] < closing)

    worse = np.choose(f, [0.008 + 0.06 * (1 - tr.fin) ** 2, 0.04 + 0.12 * (1 - tr.fin), zero])
    better = np.choose(f, [zero, 0.08 + 0.12 * tr.fin, 0.15 + 0.10 * tr.fin])
    f_next = _move(u[1], f, worse, f + 1, better, f - 1)

    decline = (
        0.004
        + 0.035 * (1 - tr.loyalty) ** 1.5
        + 0.012 * (1 - tr.tech)
        + 0.025 * stressed
        + 0.06 * distressed
    ) * np.where(j == 1, 0.5, 1.0)
    convert = 0.04 + 0.10 * tr.tech + 0.12 * (tr.burst & (p == QUALIFYING))
    p1 = np.choose(r, [convert, np.full(n, 0.10), decline, 0.10 + 0.08 * (1 - tr.loyalty),
                       np.full(n, 0.015)])  # fmt: skip
    p2 = np.choose(r, [np.full(n, 0.015), 0.6 * decline, zero, 0.07 + 0.12 * tr.loyalty, zero])
    r_next = _move(u[2], r, p1, _R_T1[r], p2, _R_T2[r])

    engaged = np.where(r == DECLINING, 0.4, np.where(r == LOST, 0.1, 1.0))
    q1 = np.choose(p, [(0.05 + 0.08 * tr.tech) * engaged, np.full(n, 0.30), np.full(n, 0.22)])
    q2 = np.where(p == QUALIFYING, 0.08, 0.0)
    p_next = _move(u[3], p, q1, _P_T1[p], q2, IDLE)
    p_next = np.where(tr.burst, p_next, BUYING)

    start = np.where((r == GROWING) | (r == MATURE), 0.01 + 0.05 * tr.codev, 0.0)
    j_next = np.where(j == 1, np.where(u[4] < 0.07, 0, 1), np.where(u[4] < start, 1, 0))

    frozen = st.closed
    return State(
        r=np.where(frozen, r, r_next),
        f=np.where(frozen, f, f_next),
        p=np.where(frozen, p, p_next),
        j=np.where(frozen, 0, j_next),
        closed=closed,
    )


# first and second target of each relationship state / project phase
_R_T1 = np.array([GROWING, MATURE, DECLINING, LOST, GROWING])
_R_T2 = np.array([LOST, DECLINING, DECLINING, MATURE, LOST])
_P_T1 = np.array([QUALIFYING, BUYING, IDLE])
