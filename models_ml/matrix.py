"""The model matrix: feature frames as the float inputs a model reads, with no warehouse."""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable

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


def to_model_matrix(
    frame: pd.DataFrame, columns: list[str], categorical: Iterable[str] | None = None
) -> pd.DataFrame:
    """The model's input columns as floats; a missing column is an error, not a silent NaN.
    Categorical columns (`categorical`, by default targets.CATEGORICAL_FEATURES) become
    category codes; any other column must hold numbers (booleans count): a value that is not
    one is refused with the column, the count and examples, never read as missing."""
    require_columns(list(frame.columns), columns)
    categorical = CATEGORICAL_FEATURES if categorical is None else frozenset(categorical)
    x = frame.loc[:, columns].copy()
    for col in columns:
        if col in categorical:
            codes = {v: category_code(v) for v in x[col].dropna().unique()}
            x[col] = x[col].map(codes)
            continue
        numbers = pd.to_numeric(x[col], errors="coerce")
        bad = numbers.isna() & x[col].notna()
        if bad.any():
            examples = ", ".join(repr(v) for v in x.loc[bad, col].drop_duplicates().head(3))
            raise FeatureError(
                f"Column {col!r} is not numeric: {int(bad.sum())} of {len(x)} rows hold values"
                f" such as {examples}. Declare it categorical (targets.CATEGORICAL_FEATURES, or"
                " `categorical=` for an external frame), convert it, or leave it out."
            )
        x[col] = numbers
    return x.astype("float64")
