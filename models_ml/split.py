"""Time-based train/validation/test split with an embargo of one label horizon.

Rows are snapshots (cid, as_of_date) whose labels look `horizon_days` ahead. A training
row's label window must close before the first validation date, and a validation row's
before the first test date; otherwise the model would learn from outcomes that overlap
the period it is judged on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class TimeSplit:
    train_dates: tuple[dt.date, ...]
    valid_dates: tuple[dt.date, ...]
    test_dates: tuple[dt.date, ...]

    def describe(self) -> dict[str, str]:
        def span(d):
            return f"{d[0]}..{d[-1]} ({len(d)} dates)" if d else "empty"

        return {
            "split_train": span(self.train_dates),
            "split_valid": span(self.valid_dates),
            "split_test": span(self.test_dates),
        }


class SplitError(ValueError):
    pass


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
