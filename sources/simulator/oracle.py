"""The oracle: true outcome probabilities given the latent state at a month-end, and the
realised labels.

Probabilities come from replaying the latent process K times from the exact state at the
month-end (`dynamics.transition`), with the same rules the simulation uses. For churn and
purchase the order count given a replayed state path is Poisson, so each replica contributes
its exact no-order probability (lower variance than counting); for default each replica
draws future orders, invoices and recovery days and checks every invoice.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from sources.simulator import dynamics as dyn
from sources.simulator.writer import Calendar

HORIZON = 6  # months after as_of that can hold a day of (as_of, as_of + 180 days]
CHUNK = 1024  # companies per Monte Carlo block
BACKGROUND_MIN_COMPANIES = 500  # from here on the oracle runs in a worker process
_CAN_PAY = (dyn.CODE_STATE.f != dyn.DISTRESSED) & ~dyn.CODE_STATE.closed


class Replayer:
    """Runs `probabilities` for each month-end in submission order, with one generator.

    In the background it runs in one worker process (the generator lives there; jobs run one
    after another, so the draws and the results are the same as in the foreground) while the
    simulation writes the next months: on two cores a large world takes about the longer
    of the two instead of their sum.
    """

    def __init__(self, cal: Calendar, rng: np.random.Generator, k: int, background: bool):
        self.cal, self.rng, self.k = cal, rng, k
        self.pool = None
        if background:
            self.pool = ProcessPoolExecutor(
                1,
                mp_context=multiprocessing.get_context("spawn"),  # no fork of a threaded parent
                initializer=_start_worker,
                initargs=(cal, rng, k),
            )

    def submit(self, st, tr, inv, m: int) -> Callable[[], tuple]:
        """Queue month-end `m`; returns a function that waits for its probabilities."""
        if self.pool is None:
            res = probabilities(st, tr, inv, m, self.cal, self.rng, self.k)
            return lambda: res
        return self.pool.submit(_worker_job, st, tr, inv, m).result

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def __enter__(self) -> Replayer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def use_background(n: int) -> bool:
    """A worker process pays off from a few hundred companies, given a second core (and a
    process allowed to have children: daemonic multiprocessing workers are not)."""
    return (
        n >= BACKGROUND_MIN_COMPANIES
        and (os.cpu_count() or 1) > 1
        and not multiprocessing.current_process().daemon
    )


_WORKER: dict = {}  # the worker process's calendar, generator and replica count


def _start_worker(cal: Calendar, rng: np.random.Generator, k: int) -> None:
    _WORKER.update(cal=cal, rng=rng, k=k)


def _worker_job(st, tr, inv, m):
    return probabilities(st, tr, inv, m, _WORKER["cal"], _WORKER["rng"], _WORKER["k"])


def probabilities(
    st: dyn.State,
    tr: dyn.Traits,
    inv: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    m: int,
    cal: Calendar,
    rng: np.random.Generator,
    k: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p_churn_180d, p_default_90dpd_180d, p_purchase_30d) for the rows of `st` at the end of
    month `m`. `inv` = (row, due_day, scheduled_pay_day, frozen) of the unpaid invoices."""
    n = st.r.shape[0]
    out = [np.zeros(n), np.zeros(n), np.zeros(n)]
    inv_row = inv[0]
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        sel = (inv_row >= lo) & (inv_row < hi)
        sub_inv = (inv_row[sel] - lo, inv[1][sel], inv[2][sel], inv[3][sel])
        idx = np.arange(lo, hi)
        res = _block(st.take(idx), tr.take(idx), sub_inv, m, cal, rng, k)
        for o, r in zip(out, res, strict=True):
            o[lo:hi] = r
    return out[0], out[1], out[2]


def _block(st, tr, inv, m, cal, rng, k):
    n = st.r.shape[0]
    chain = dyn.Chain(tr)
    comp = np.repeat(np.arange(n), k)
    code = np.repeat(dyn.encode(st), k)
    rows = n * k
    d_end = cal.month_start[m + 1] - 1  # as_of: the last day of month m
    starts = np.array([cal.month_start[m + h] for h in range(1, HORIZON + 2)])
    days = np.array([cal.month_days[m + h] for h in range(1, HORIZON + 1)])
    w180 = np.clip(d_end + 180 - starts[:HORIZON] + 1, 0, days)
    w30 = np.clip(d_end + 30 - starts[:HORIZON] + 1, 0, days)

    log_churn = np.zeros(rows)
    log_purchase = np.zeros(rows)
    can_pay = np.zeros((rows, HORIZON), dtype=bool)
    future = []  # (replica row, due day, scheduled pay day, month index h of the order)
    for h in range(1, HORIZON + 1):
        code = chain.step(code, comp, rng)
        lam, cancel = chain.order_rate(cal.month_of_year(m + h))
        eff = (lam * (1 - cancel))[comp * dyn.N_STATES + code]
        log_churn -= eff * w180[h - 1] / days[h - 1]
        log_purchase -= eff * w30[h - 1] / days[h - 1]
        can_pay[:, h - 1] = _CAN_PAY[code]
        if h <= 2:  # later orders cannot reach 90 dpd inside the window
            cnt = rng.poisson(eff)
            r_ord = np.repeat(np.arange(rows), cnt)
            day = starts[h - 1] + rng.integers(0, days[h - 1], size=r_ord.size)
            lead = rng.integers(3, 21, size=r_ord.size)
            f = dyn.CODE_STATE.f[code[r_ord]]
            delay = rng.integers(dyn.DELAY_LOW[f], dyn.DELAY_HIGH[f] + 1)
            due = day + lead + tr.terms[comp[r_ord]]
            future.append((r_ord, due, due + delay))
    recovery = rng.integers(0, 10, size=(rows, HORIZON))

    # existing invoices, one copy per replica
    e_row = (inv[0][:, None] * k + np.arange(k)[None, :]).ravel()
    e_due = np.repeat(inv[1], k)
    e_s = np.repeat(inv[2], k)
    e_frozen = np.repeat(inv[3], k)
    rows_all = np.concatenate([e_row] + [f[0] for f in future])
    due_all = np.concatenate([e_due] + [f[1] for f in future])
    s_all = np.concatenate([e_s] + [f[2] for f in future])
    frozen_all = np.concatenate([e_frozen] + [np.zeros(f[0].size, dtype=bool) for f in future])

    default_day = due_all + 90
    in_window = (default_day > d_end) & (default_day <= d_end + 180)
    rows_all, s_all, frozen_all, default_day = (
        rows_all[in_window],
        s_all[in_window],
        frozen_all[in_window],
        default_day[in_window],
    )
    # month index (1..HORIZON) in which the scheduled payment falls
    h_s = np.searchsorted(starts, s_all, side="right")
    h_s = np.clip(h_s, 1, HORIZON)
    # only invoices not paid as scheduled can default: frozen ones, and those whose payment
    # falls in a month the company cannot pay (distressed or closed)
    late = frozen_all | ~can_pay[rows_all, h_s - 1]
    rows_all, default_day = rows_all[late], default_day[late]
    frozen_from = np.where(frozen_all[late], 0, h_s[late])
    hs = np.arange(1, HORIZON + 1)[None, :]
    ok = can_pay[rows_all] & (hs > frozen_from[:, None])
    has = ok.any(axis=1)
    first = ok.argmax(axis=1)
    pay_day = np.where(has, starts[first] + recovery[rows_all, first], np.iinfo(np.int64).max)
    defaults = pay_day > default_day
    hit = np.bincount(rows_all[defaults], minlength=rows) > 0

    p_churn = np.exp(log_churn).reshape(n, k).mean(axis=1)
    p_purchase = 1 - np.exp(log_purchase).reshape(n, k).mean(axis=1)
    p_default = hit.reshape(n, k).mean(axis=1)
    return p_churn, p_default, p_purchase


def labels(
    n: int,
    cal: Calendar,
    entry_day: np.ndarray,
    closed_day: np.ndarray,
    order_company: np.ndarray,
    order_day: np.ndarray,
    inv_company: np.ndarray,
    inv_issue: np.ndarray,
    inv_default: np.ndarray,
) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Realised (churn, default, purchase) per month index as float arrays, NaN = no label."""
    span = 1 << 20
    o_key = np.sort(order_company.astype(np.int64) * span + order_day + (span // 2))
    i_key = np.sort(inv_company.astype(np.int64) * span + inv_issue + (span // 2))
    dflt = inv_default >= 0
    d_key = np.sort(inv_company[dflt].astype(np.int64) * span + inv_default[dflt] + (span // 2))
    base = np.arange(n, dtype=np.int64) * span + (span // 2)
    last_day = cal.end_day - 1

    def count(keys, lo, hi):  # events with day in (lo, hi]
        return np.searchsorted(keys, base + hi, side="right") - np.searchsorted(
            keys, base + lo, side="right"
        )

    out = {}
    for m in range(cal.months):
        d = cal.month_start[m + 1] - 1
        churn = np.full(n, np.nan)
        default = np.full(n, np.nan)
        purchase = np.full(n, np.nan)
        if d + 180 <= last_day:
            elig = count(o_key, d - 365, d) > 0
            churn[elig] = (count(o_key, d, d + 180) == 0)[elig]
            elig = count(i_key, d - 365, d) > 0
            default[elig] = (count(d_key, d, d + 180) > 0)[elig]
        if d + 30 <= last_day:
            elig = (entry_day <= d) & (closed_day > d)
            purchase[elig] = (count(o_key, d, d + 30) > 0)[elig]
        out[m] = (churn, default, purchase)
    return out
