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


def time_split(
    dates: list[dt.date], horizon_days: int, n_test: int = 3, n_valid: int = 3
) -> TimeSplit:
    dates = sorted(set(dates))
    if len(dates) < n_test + n_valid + 1:
        raise SplitError(f"Only {len(dates)} labelled snapshot dates: too few to split in time.")
    test = dates[-n_test:]
    embargo = dt.timedelta(days=horizon_days)
    valid_pool = [d for d in dates if d + embargo <= test[0]]
    valid = valid_pool[-n_valid:]
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
