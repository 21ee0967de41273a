"""The pure fit: windows too thin to train or judge a model are refused."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from models_ml.fit import TooFewPositivesError, check_windows
from models_ml.split import time_split
from models_ml.targets import get_target


def test_training_refuses_a_window_with_too_few_positives():
    dates = [d.date() for d in pd.date_range(dt.date(2023, 1, 31), periods=30, freq="ME")]
    split = time_split(dates, 180)
    ys = {"train": np.r_[np.ones(20), np.zeros(80)], "valid": np.r_[np.ones(3), np.zeros(50)]}
    ys["test"] = ys["train"]
    with pytest.raises(TooFewPositivesError, match=r"valid \(3 positives, 50 negatives\)"):
        check_windows(get_target("default_90dpd_180d"), ys, split)


def test_fit_imports_neither_mlflow_nor_the_warehouse():
    import subprocess
    import sys

    code = (
        "import sys, models_ml.fit; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mlflow', 'psycopg') "
        "or m == 'portrait.db'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
