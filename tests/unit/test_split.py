"""The time split: a label horizon between windows, rare windows grown to hold positives."""

import datetime as dt

import pandas as pd
import pytest

from models_ml.split import SplitError, time_split


def month_ends(n, start=dt.date(2023, 1, 31)):
    return [d.date() for d in pd.date_range(start, periods=n, freq="ME")]


def test_time_split_leaves_a_label_horizon_between_windows():
    dates = month_ends(30)
    split = time_split(dates, horizon_days=180)
    assert split.test_dates == tuple(dates[-3:])
    assert max(split.valid_dates) + dt.timedelta(days=180) <= min(split.test_dates)
    assert max(split.train_dates) + dt.timedelta(days=180) <= min(split.valid_dates)
    assert not set(split.train_dates) & set(split.valid_dates)


def test_time_split_refuses_too_little_history():
    with pytest.raises(SplitError, match="not enough history"):
        time_split(month_ends(12), horizon_days=180)


def test_rare_windows_grow_until_they_hold_enough_positives():
    dates = month_ends(36)
    positives = dict.fromkeys(dates, 2)
    split = time_split(dates, 180, positives=positives, window_positives=10)
    assert len(split.test_dates) == 5 and len(split.valid_dates) == 5
    assert max(split.valid_dates) + dt.timedelta(days=180) <= min(split.test_dates)
    assert max(split.train_dates) + dt.timedelta(days=180) <= min(split.valid_dates)
    # Without a target the windows keep their default size.
    assert len(time_split(dates, 180, positives=positives).test_dates) == 3
