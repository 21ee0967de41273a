"""Time-based train/validation/test split with an embargo of one label horizon.

Rows are snapshots (cid, as_of_date) whose labels look `horizon_days` ahead. A training
row's label window must close before the first validation date, and a validation row's
before the first test date; otherwise the model would learn from outcomes that overlap
the period it is judged on.

The split adapts to the history it has (``adaptive_split``), trying in order:

- ``out_of_time``: 3 test dates, 3 validation dates, training before, an embargo of one
  horizon between each (a 180-day target needs 19 labelled month-ends);
- ``out_of_time_short``: 1 test date and 1 validation date, still out of time (15);
- ``customer_holdout``: the test window out of time; training and validation on the same
  dates before it, validation being 20 % of the customers (by a hash of the CID), so early
  stopping and calibration see customers the trees did not (8).

A mode is taken when it leaves at least MIN_TRAIN_DATES (6) training dates; otherwise the
next is tried, and the one with the most training dates is used. The test window is always
out of time, so the figures judge the future. A labelled month-end
of a 180-day target is one at least 180 days before the newest snapshot: add 6 months of
unlabelled history to these counts (docs/models.md, "Minimum data").
"""

from __future__ import annotations

import datetime as dt
import math
import zlib
from dataclasses import dataclass

import numpy as np

OUT_OF_TIME, OUT_OF_TIME_SHORT, CUSTOMER_HOLDOUT = (
    "out_of_time",
    "out_of_time_short",
    "customer_holdout",
)
# The share of customers held out for validation in the customer_holdout mode.
HOLDOUT_SHARE = 0.2
# An out-of-time mode is taken only with this many training dates (half a year of
# month-ends); with fewer, the next mode, which trains on more dates, is tried.
MIN_TRAIN_DATES = 6


@dataclass(frozen=True)
class TimeSplit:
    train_dates: tuple[dt.date, ...]
    valid_dates: tuple[dt.date, ...]
    test_dates: tuple[dt.date, ...]
    mode: str = OUT_OF_TIME

    def describe(self) -> dict[str, str]:
        def span(d):
            return f"{d[0]}..{d[-1]} ({len(d)} dates)" if d else "empty"

        return {
            "split_mode": self.mode,
            "split_train": span(self.train_dates),
            "split_valid": span(self.valid_dates),
            "split_test": span(self.test_dates),
        }

    def validation_customers(self, cids: np.ndarray) -> np.ndarray:
        """Which rows' customers are the validation ones in the customer_holdout mode (20 %
        by a CRC32 of the CID, stable across runs)."""
        return customer_share(cids, HOLDOUT_SHARE)


def customer_share(cids: np.ndarray, share: float) -> np.ndarray:
    """A stable `share` of the customers (CRC32 of the CID), as a row mask."""
    cut = share * 2**32
    return np.fromiter((zlib.crc32(str(c).encode()) < cut for c in cids), bool, len(cids))


class SplitError(ValueError):
    pass


# Labelled dates each mode needs at the least, given the embargo in snapshot dates (a month-end
# per month: 180 days -> 6), beyond the windows themselves.
def months_needed(horizon_days: int, mode: str) -> int:
    embargo = math.ceil(horizon_days / 30.4)
    return {
        OUT_OF_TIME: 3 + embargo + 3 + embargo + 1,
        OUT_OF_TIME_SHORT: 1 + embargo + 1 + embargo + 1,
        CUSTOMER_HOLDOUT: 1 + embargo + 1,
    }[mode]


def adaptive_split(
    dates: list[dt.date],
    horizon_days: int,
    *,
    positives: dict[dt.date, int] | None = None,
    window_positives: int = 0,
) -> TimeSplit:
    """The first mode of the module docstring that the labelled dates allow with at least
    MIN_TRAIN_DATES training dates; failing that, the possible mode with the most."""
    tried, possible = [], []
    for mode, n in ((OUT_OF_TIME, 3), (OUT_OF_TIME_SHORT, 1)):
        try:
            split = time_split(
                dates, horizon_days, n, n, positives=positives, window_positives=window_positives
            )
        except SplitError as exc:
            tried.append(f"{mode}: {exc}")
            continue
        split = TimeSplit(split.train_dates, split.valid_dates, split.test_dates, mode)
        if len(split.train_dates) >= MIN_TRAIN_DATES:
            return split
        possible.append(split)
    dates = sorted(set(dates))
    embargo = dt.timedelta(days=horizon_days)
    if dates:
        test = _grow(dates, 1, positives, window_positives)
        while len(test) > 1 and not [d for d in dates if d + embargo <= test[0]]:
            test = test[1:]
        pool = [d for d in dates if d + embargo <= test[0]]
        if pool:
            possible.append(TimeSplit(tuple(pool), tuple(pool), tuple(test), CUSTOMER_HOLDOUT))
    if possible:  # the most training dates; ties: the earlier (more out-of-time) mode
        return max(possible, key=lambda s: len(s.train_dates) - 0.1 * possible.index(s))
    need = months_needed(horizon_days, CUSTOMER_HOLDOUT)
    raise SplitError(
        f"{len(dates)} labelled snapshot date(s) for a {horizon_days}-day label: the split "
        f"needs at least {need} month-ends (one test date, a {horizon_days}-day embargo, one "
        f"training date), 19 for the full out-of-time split. Tried {'; '.join(tried)}."
    )


def _grow(pool: list[dt.date], n: int, positives: dict[dt.date, int] | None, target: int):
    """The newest `n` dates of the pool, plus older ones until they hold `target` positives."""
    window = pool[-n:] if n else []
    if positives is None or target <= 0:
        return window
    while sum(positives.get(d, 0) for d in window) < target and len(window) < len(pool):
        window = pool[-(len(window) + 1) :]
    return window


def time_split(
    dates: list[dt.date],
    horizon_days: int,
    n_test: int = 3,
    n_valid: int = 3,
    *,
    positives: dict[dt.date, int] | None = None,
    window_positives: int = 0,
) -> TimeSplit:
    """Newest `n_test` dates for test, the `n_valid` before the embargo for validation, the
    rest before the next embargo for training. Given `positives` per date, the test and
    validation windows grow (older dates first) until each holds `window_positives`, while
    keeping at least one date for training."""
    dates = sorted(set(dates))
    if len(dates) < n_test + n_valid + 1:
        raise SplitError(f"Only {len(dates)} labelled snapshot dates: too few to split in time.")
    embargo = dt.timedelta(days=horizon_days)
    test = _grow(dates, n_test, positives, window_positives)
    # A grown test window gives back its oldest dates if validation and training no longer fit.
    while len(test) > n_test and not _has_history(dates, test[0], embargo, n_valid):
        test = test[1:]
    valid_pool = [d for d in dates if d + embargo <= test[0]]
    valid = _grow(valid_pool, n_valid, positives, window_positives)
    while len(valid) > n_valid and not [d for d in dates if d + embargo <= valid[0]]:
        valid = valid[1:]
    if not valid:
        raise SplitError(
            f"No snapshot is {horizon_days} days before the test window {test[0]}: "
            "not enough history for a leakage-free validation set."
        )
    train = [d for d in dates if d + embargo <= valid[0]]
    if not train:
        raise SplitError(
            f"No snapshot is {horizon_days} days before the validation window {valid[0]}: "
            "not enough history to train without leakage."
        )
    return TimeSplit(tuple(train), tuple(valid), tuple(test))


def _has_history(dates: list[dt.date], start: dt.date, embargo: dt.timedelta, n_valid: int):
    """Whether `n_valid` validation dates and one training date fit before a window at `start`."""
    valid_pool = [d for d in dates if d + embargo <= start]
    if len(valid_pool) < n_valid:
        return False
    return any(d + embargo <= valid_pool[-n_valid] for d in dates)
