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


def test_a_large_training_window_is_searched_by_successive_halving(monkeypatch):
    from models_ml import fit as fitting
    from models_ml.targets import Target

    rng = np.random.default_rng(0)
    n = 4000
    xs = {k: pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)}) for k in
          ("train", "valid")}  # fmt: skip
    ys = {k: (v["a"] + rng.normal(size=n) > 0.5).astype(int).to_numpy() for k, v in xs.items()}
    cids = np.array([f"C{i:05d}" for i in range(n)])
    target = Target("t", "t", 30, (), ("all",), features=("a", "b"), categorical=frozenset())
    space = fitting.SEARCH_SPACE[:4]
    monkeypatch.setattr(fitting, "HALVING_ROWS", 1000)
    found = fitting.search(target, xs, ys, 0, space, cids)
    stages = [t.stage for t in found.trials]
    assert stages == ["sample"] * 4 + ["full"] * fitting.HALVING_KEEP
    sample_rows = {t.rows for t in found.trials if t.stage == "sample"}
    assert len(sample_rows) == 1 and 0.15 * n < sample_rows.pop() < 0.25 * n
    full = [t for t in found.trials if t.stage == "full"]
    assert found.params == max(full, key=lambda t: t.valid_roc_auc).params
    # below the threshold: one round, every config on everything
    monkeypatch.setattr(fitting, "HALVING_ROWS", 10 * n)
    assert {t.stage for t in fitting.search(target, xs, ys, 0, space, cids).trials} == {"full"}
