"""The training recipe on any table: a data scientist's frame with a binary label and a date
goes through the same time split, bounded LightGBM search, logistic baseline, calibration and
metrics as the warehouse's targets (``fit.fit``), with no warehouse and no MLflow.

    from models_ml.recipe import fit_frame
    result = fit_frame(loans, label="defaulted", date="applied_on", key="loan_id",
                       categorical=["purpose", "housing"], horizon_days=90)
    result.metrics["roc_auc"], result.baseline_metrics["roc_auc"], result.feature_names

Column names are made safe for LightGBM (which refuses JSON's special characters) and the
map kept in ``feature_names``; text columns must be declared ``categorical`` (any other
non-numeric column is refused by name, never read as missing)."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from models_ml.fit import SEARCH_SPACE, FitResult, fit
from models_ml.matrix import FeatureError
from models_ml.targets import Target


def safe_names(columns: Iterable[str]) -> dict[str, str]:
    """Original column -> a name LightGBM accepts (letters, digits, `_`), unique."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for col in columns:
        name = re.sub(r"\W+", "_", str(col), flags=re.UNICODE).strip("_") or "feature"
        if name[0].isdigit():
            name = f"f_{name}"
        base, n = name, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        out[col] = name
    return out


def fit_frame(
    frame: pd.DataFrame,
    *,
    label: str,
    date: str,
    key: str | None = None,
    features: list[str] | None = None,
    categorical: Iterable[str] = (),
    horizon_days: int = 0,
    calibration: str | None = "auto",
    window_positives: int = 10,
    balance_classes: bool = False,
    seed: int = 42,
    search_space: tuple[dict[str, float], ...] = SEARCH_SPACE,
    name: str = "external",
) -> FitResult:
    """Fit the recipe on `frame`: `label` (0/1), `date` (the rows' point in time: the newest
    dates are the test window, the ones `horizon_days` before it validation, older ones
    training), `key` (a row ID; the index when None), `features` (default: every other
    column), `categorical` (the text columns among them)."""
    missing = [c for c in (label, date, *([key] if key else [])) if c not in frame.columns]
    if missing:
        raise FeatureError(f"The frame lacks column(s) {', '.join(map(repr, missing))}.")
    features = features or [c for c in frame.columns if c not in (label, date, key)]
    undeclared = set(categorical) - set(features)
    if undeclared:
        raise FeatureError(f"categorical names columns that are not features: {sorted(undeclared)}")
    values = set(pd.unique(frame[label].dropna()))
    if not values <= {0, 1} or frame[label].isna().any():
        raise FeatureError(
            f"The label {label!r} must be 0/1 with no missing value (found {sorted(values)[:5]}"
            f"{', missing values' if frame[label].isna().any() else ''})."
        )
    names = safe_names(features)
    renamed = frame.loc[:, features].rename(columns=names)
    renamed["label"] = frame[label].astype(int).to_numpy()
    renamed["as_of_date"] = pd.to_datetime(frame[date]).dt.date.to_numpy()
    renamed["cid"] = (frame[key] if key else frame.index).astype(str).to_numpy()
    target = Target(
        name=name,
        description=f"{label} from an external frame",
        horizon_days=horizon_days,
        band_edges=(),
        band_names=("all",),
        features=tuple(names.values()),
        calibration=calibration,
        window_positives=window_positives,
        balance_classes=balance_classes,
        categorical=frozenset(names[c] for c in categorical),
    )
    result = fit(renamed, target, seed=seed, search_space=search_space)
    result.feature_names = names
    return result
