"""The model matrix: feature frames as the float inputs a model reads, with no warehouse."""

from __future__ import annotations

import math
import zlib

import pandas as pd

from models_ml.targets import CATEGORICAL_FEATURES

# Category codes are taken modulo this (LightGBM wants non-negative integers below 2**31).
CATEGORY_CODES = 2**20


class FeatureError(RuntimeError):
    """The feature snapshot cannot feed the model (missing table, date or column)."""


def category_code(value: object) -> float:
    """A text category as a stable non-negative integer code (NaN when missing): the same value
    gets the same code in training and scoring, with no vocabulary to store beside the model."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    return float(zlib.crc32(str(value).encode("utf-8")) % CATEGORY_CODES)


def require_columns(available: list[str], columns: list[str]) -> None:
    """A missing column is an error, not a silent NaN."""
    missing = [c for c in columns if c not in available]
    if missing:
        raise FeatureError(
            f"The feature snapshot lacks column(s) the model needs: {', '.join(missing)}. "
            "Rebuild features with the dbt project version the model was trained on, or retrain."
        )


def to_model_matrix(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The model's input columns as floats; a missing column is an error, not a silent NaN.
    Categorical columns (targets.CATEGORICAL_FEATURES) become category codes."""
    require_columns(list(frame.columns), columns)
    x = frame.loc[:, columns].copy()
    for col in columns:
        if col in CATEGORICAL_FEATURES:
            codes = {v: category_code(v) for v in x[col].dropna().unique()}
            x[col] = x[col].map(codes)
    return x.apply(pd.to_numeric, errors="coerce").astype("float64")
