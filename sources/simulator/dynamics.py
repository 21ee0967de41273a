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


def _thresholds(st: State, tr: Traits) -> tuple[np.ndarray, ...]:
    """Per row, the uniforms' cut points of the five moves of `transition`:
    (closing, worse, worse + better, p1, p1 + p2, q1, q1 + q2, j_flip)."""
    n = st.r.shape[0]
    r, f, p, j = st.r, st.f, st.p, st.j
    zero = np.zeros(n)
    stressed, distressed = f == STRESSED, f == DISTRESSED

    closing = np.where(distressed, 0.03, 0.0) + np.where(r == LOST, 0.006, 0.0)

    worse = np.choose(f, [0.008 + 0.06 * (1 - tr.fin) ** 2, 0.04 + 0.12 * (1 - tr.fin), zero])
    better = np.choose(f, [zero, 0.08 + 0.12 * tr.fin, 0.15 + 0.10 * tr.fin])

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

    engaged = np.where(r == DECLINING, 0.4, np.where(r == LOST, 0.1, 1.0))
    q1 = np.choose(p, [(0.05 + 0.08 * tr.tech) * engaged, np.full(n, 0.30), np.full(n, 0.22)])
    q2 = np.where(p == QUALIFYING, 0.08, 0.0)

    start = np.where((r == GROWING) | (r == MATURE), 0.01 + 0.05 * tr.codev, 0.0)
    j_flip = np.where(j == 1, 0.07, start)  # J ends (when 1) or starts (when 0) below this
    return closing, worse, worse + better, p1, p1 + p2, q1, q1 + q2, j_flip


def _outcomes(th: tuple[np.ndarray, ...], u: np.ndarray) -> tuple[np.ndarray, ...]:
    """Which branch each move takes: closes (0/1); F, R, P: 0 = first target, 1 = second,
    2 = stay (a move goes to its first target when u < p1, its second when u < p1 + p2);
    J flips (0/1)."""
    closing, w, wb, p1, p12, q1, q12, j_flip = th
    return (
        u[0] < closing,
        (u[1] >= w).astype(np.int8) + (u[1] >= wb),
        (u[2] >= p1).astype(np.int8) + (u[2] >= p12),
        (u[3] >= q1).astype(np.int8) + (u[3] >= q12),
        u[4] < j_flip,
    )


def _apply(st: State, burst: np.ndarray, o: tuple[np.ndarray, ...]) -> State:
    """Next month's state from this month's and the moves' outcomes."""
    r, f, p, j = st.r, st.f, st.p, st.j
    closed = st.closed | o[0]
    f_next = np.choose(o[1], [f + 1, f - 1, f])
    r_next = np.choose(o[2], [_R_T1[r], _R_T2[r], r])
    p_next = np.choose(o[3], [_P_T1[p], np.full_like(p, IDLE), p])
    p_next = np.where(burst, p_next, BUYING)
    j_next = np.where(o[4], 1 - j, j)
    frozen = st.closed
    return State(
        r=np.where(frozen, r, r_next),
        f=np.where(frozen, f, f_next),
        p=np.where(frozen, p, p_next),
        j=np.where(frozen, 0, j_next),
        closed=closed,
    )


def transition(st: State, tr: Traits, rng: np.random.Generator) -> State:
    """Next month's state. Consumes exactly five uniforms per row, in a fixed order."""
    u = rng.random((5, st.r.shape[0]))
    return _apply(st, tr.burst, _outcomes(_thresholds(st, tr), u))


# Every state (closed, R, F, P, J) as one code, for the per-company tables of `Chain`.
_SHAPE = (2, 5, 3, 3, 2)
N_STATES = int(np.prod(_SHAPE))
_DECODED = np.unravel_index(np.arange(N_STATES), _SHAPE)
CODE_STATE = State(
    r=_DECODED[1], f=_DECODED[2], p=_DECODED[3], j=_DECODED[4], closed=_DECODED[0] == 1
)


def encode(st: State) -> np.ndarray:
    return np.ravel_multi_index(
        (st.closed.astype(np.int64), st.r, st.f, st.p, st.j), _SHAPE, mode="clip"
    )


def _next_code_table() -> np.ndarray:
    """Next state code for every (burst, code, outcomes of the five moves)."""
    grid = np.indices((2, N_STATES, 2, 3, 3, 3, 2)).reshape(7, -1)
    st = CODE_STATE.take(grid[1])
    nxt = _apply(st, grid[0] == 1, (grid[2] == 1, grid[3], grid[4], grid[5], grid[6] == 1))
    return encode(nxt).reshape(2, N_STATES, -1)


class Chain:
    """`transition` and `order_rate` as tables over every state of a few companies: for
    stepping many replicas of the same companies (the oracle). Given the same uniforms it
    takes exactly the branches `transition` takes (tests/unit/test_simulator.py)."""

    _next = None

    def __init__(self, tr: Traits):
        if Chain._next is None:
            Chain._next = _next_code_table()
        self.tr = tr
        m = tr.size.shape[0]
        self.pseudo = CODE_STATE.take(np.tile(np.arange(N_STATES), m))
        self.pseudo_tr = tr.take(np.repeat(np.arange(m), N_STATES))
        # one row of cut points per (company, state): a replica's eight come in one read
        self.th = np.stack(_thresholds(self.pseudo, self.pseudo_tr), axis=1)
        # (burst, code) -> row of the next-code table, per company
        self.next_base = tr.burst.astype(np.int64) * N_STATES

    def step(self, code: np.ndarray, comp: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Next codes of rows in state `code` that replicate companies `comp`; five uniforms
        per row, as `transition`."""
        u = rng.random((5, code.shape[0]))
        k = comp * N_STATES + code
        o = _outcomes(tuple(self.th[k].T), u)
        flat = (self.next_base[comp] + code) * 108
        flat += o[0] * 54 + o[1] * 18 + o[2] * 6 + o[3] * 2 + o[4]
        return self._next.reshape(-1)[flat]

    def order_rate(self, month_of_year: int) -> tuple[np.ndarray, np.ndarray]:
        """`order_rate` of every (company, state), indexed by comp * N_STATES + code."""
        return order_rate(self.pseudo, self.pseudo_tr, month_of_year)


# first and second target of each relationship state / project phase
_R_T1 = np.array([GROWING, MATURE, DECLINING, LOST, GROWING])
_R_T2 = np.array([LOST, DECLINING, DECLINING, MATURE, LOST])
_P_T1 = np.array([QUALIFYING, BUYING, IDLE])
