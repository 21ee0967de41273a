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


def test_the_split_adapts_to_a_short_history_and_keeps_the_test_window_out_of_time():
    import numpy as np

    from models_ml.split import adaptive_split, months_needed

    embargo = dt.timedelta(days=180)
    full = adaptive_split(month_ends(30), 180)
    assert full.mode == "out_of_time" and len(full.test_dates) == 3
    short = adaptive_split(month_ends(18), 180)  # 6 training dates: enough
    assert short.mode == "out_of_time_short"
    assert max(short.valid_dates) + embargo <= min(short.test_dates)
    assert max(short.train_dates) + embargo <= min(short.valid_dates)
    assert len(short.train_dates) == 6
    # 16: one out-of-time training date fewer than 6, so the customer holdout trains on 10
    assert adaptive_split(month_ends(16), 180).mode == "customer_holdout"
    assert len(adaptive_split(month_ends(16), 180).train_dates) == 10
    # 12 labelled month-ends (18 months of history): validation on held-out customers
    dates = month_ends(12)
    holdout = adaptive_split(dates, 180)
    assert holdout.mode == "customer_holdout" and holdout.test_dates == (dates[-1],)
    assert max(holdout.train_dates) + embargo <= min(holdout.test_dates)
    assert holdout.describe()["split_mode"] == "customer_holdout"
    cids = np.array([f"CID{i:05d}" for i in range(5000)])
    held = holdout.validation_customers(cids)
    assert 0.17 < held.mean() < 0.23
    assert (held == holdout.validation_customers(cids)).all()  # stable
    assert months_needed(180, "customer_holdout") == 8 and months_needed(30, "out_of_time") == 9


def test_too_short_a_history_names_the_months_it_needs():
    from models_ml.split import adaptive_split

    with pytest.raises(SplitError, match=r"6 labelled snapshot date\(s\).*at least 8 month-ends"):
        adaptive_split(month_ends(6), 180)


def test_customer_holdout_rows_keep_customers_apart():
    import numpy as np

    from models_ml.fit import split_frame
    from models_ml.split import adaptive_split

    dates = month_ends(12)
    frame = pd.DataFrame(
        [{"cid": f"C{i:04d}", "as_of_date": d, "label": 0} for d in dates for i in range(500)]
    )
    split = adaptive_split(dates, 180)
    parts = split_frame(frame, split)
    assert not set(parts["train"]["cid"]) & set(parts["valid"]["cid"])
    assert set(parts["test"]["as_of_date"]) == {dates[-1]}
    assert len(parts["train"]) + len(parts["valid"]) == 500 * len(split.train_dates)
    assert np.isin(parts["valid"]["as_of_date"], split.train_dates).all()
