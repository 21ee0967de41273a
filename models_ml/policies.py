"""The scoring policies a target's fit compares on its test window: the boosted trees
(``fit.search``) and the classical baselines a data team would try first: a one-hot logistic
regression, a WoE scorecard for credit, BG/NBD buy-till-you-die for churn and purchase.

Each baseline reads the model matrix (the float columns LightGBM reads, category codes
included), gives ``predict_proba`` and per-feature ``contributions`` in log-odds (so reason
codes work as for the booster; BG/NBD's by occlusion), and is stored as plain JSON
(``to_dict`` / ``from_dict``): the registry never unpickles a model (MLflow's scikit-learn
flavour would, and refuses to unless ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION`` lets any
registered artefact run code).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from models_ml.btyd import BGNBD, fit_bgnbd
from models_ml.calibrate import IDENTITY, Calibrator, fit_calibrator
from models_ml.scorecard import fit_scorecard

LIGHTGBM, LOGISTIC, SCORECARD, BTYD = "lightgbm", "logistic", "scorecard", "bgnbd"

# The columns of customer_features BG/NBD reads: the orders of the two years before the cutoff
# (x = their count - 1), and the days since the first and the last of them (T, T - t_x).
BTYD_COLUMNS = (
    "orders_365d",
    "orders_prev_365d",
    "days_since_first_order_730d",
    "days_since_last_order",
)

# A category level seen fewer times than this in training shares the "other" column.
MIN_LEVEL_ROWS = 20


def _frame(x, features: list[str]) -> pd.DataFrame:
    if isinstance(x, pd.DataFrame):
        return x.loc[:, features]
    return pd.DataFrame(np.asarray(x, dtype=float), columns=features)


def _proba(logit: np.ndarray) -> np.ndarray:
    p = expit(logit)
    return np.column_stack([1 - p, p])


class OneHotLogistic:
    """Logistic regression on the model matrix: category codes one-hot encoded (levels with
    fewer than MIN_LEVEL_ROWS training rows, unknown ones and missing pooled in "other"),
    numbers median-imputed with a missing indicator, signed-log1p'd; every design column
    standardised on the training rows (constant ones drop out)."""

    kind = LOGISTIC

    def __init__(self, features: Iterable[str], categorical: Iterable[str] = ()):
        self.features = list(features)
        self.categorical = [c for c in self.features if c in set(categorical)]
        self.numeric = [c for c in self.features if c not in set(self.categorical)]

    def _raw(self, frame: pd.DataFrame) -> np.ndarray:
        num = frame.loc[:, self.numeric].to_numpy(dtype=float)
        missing = np.isnan(num)
        filled = np.where(missing, self.medians, num)
        parts = [np.sign(filled) * np.log1p(np.abs(filled)), missing.astype(float)]
        for col in self.categorical:
            codes = frame[col].to_numpy(dtype=float)
            known = np.isin(codes, self.levels[col])
            parts.append((codes[:, None] == np.asarray(self.levels[col])[None, :]).astype(float))
            parts.append((~known)[:, None].astype(float))
        return np.hstack(parts) if parts else np.zeros((len(frame), 0))

    def design(self, x) -> np.ndarray:
        return (self._raw(_frame(x, self.features)) - self.mean) / self.scale

    def fit(self, x, y, *, balance_classes: bool = False, seed: int = 42) -> OneHotLogistic:
        frame = _frame(x, self.features)
        num = frame.loc[:, self.numeric].to_numpy(dtype=float)
        with np.errstate(all="ignore"):
            medians = np.nanmedian(num, axis=0) if len(num) else np.zeros(len(self.numeric))
        self.medians = np.nan_to_num(medians)
        self.levels = {}
        index = {c: i for i, c in enumerate(self.features)}
        groups = [index[c] for c in self.numeric] * 2  # values, then missing indicators
        for col in self.categorical:
            counts = frame[col].value_counts(dropna=True)
            self.levels[col] = sorted(float(v) for v in counts[counts >= MIN_LEVEL_ROWS].index)
            groups += [index[col]] * (len(self.levels[col]) + 1)
        self.groups = np.asarray(groups, dtype=int)
        raw = self._raw(frame)
        self.mean = raw.mean(axis=0)
        scale = raw.std(axis=0)
        self.scale = np.where(scale > 0, scale, 1.0)
        model = LogisticRegression(
            C=1.0,
            max_iter=5000,
            random_state=seed,
            class_weight="balanced" if balance_classes else None,
        ).fit((raw - self.mean) / self.scale, np.asarray(y, dtype=int))
        self.coef, self.intercept = model.coef_[0], float(model.intercept_[0])
        return self

    def decision_function(self, x) -> np.ndarray:
        return self.design(x) @ self.coef + self.intercept

    def predict_proba(self, x) -> np.ndarray:
        return _proba(self.decision_function(x))

    def contributions(self, x) -> np.ndarray:
        """Each feature's share of the log-odds: its design columns' coefficient x
        standardised value (zero on average over the training rows); they add up to the
        log-odds less the intercept."""
        terms = self.design(x) * self.coef
        out = np.zeros((terms.shape[0], len(self.features)))
        np.add.at(out.T, self.groups, terms.T)
        return out

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "features": self.features,
            "categorical": self.categorical,
            "medians": self.medians.tolist(),
            "levels": self.levels,
            "groups": self.groups.tolist(),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
        }

    @classmethod
    def from_dict(cls, d: dict) -> OneHotLogistic:
        model = cls(d["features"], d["categorical"])
        model.medians = np.asarray(d["medians"], dtype=float)
        model.levels = {k: [float(v) for v in vs] for k, vs in d["levels"].items()}
        model.groups = np.asarray(d["groups"], dtype=int)
        model.mean, model.scale, model.coef = (
            np.asarray(d[k], dtype=float) for k in ("mean", "scale", "coef")
        )
        model.intercept = float(d["intercept"])
        return model


class BinnedLogit:
    """An additive log-odds model of per-feature lookup tables: the WoE scorecard as served.
    A numeric feature's table is (splits, value per bin, value when missing), bins as
    numpy.digitize(right=False) cuts them; a categorical feature's is {code: value} with a
    value for unknown codes and for missing. The values are the scorecard's coefficient x
    WoE, taken from optbinning's own transform (``from_scorecard``), so the two agree."""

    kind = SCORECARD

    def __init__(self, features, intercept: float, tables: dict[str, dict], means: list[float]):
        self.features = list(features)
        self.intercept = float(intercept)
        self.tables = tables
        self.means = np.asarray(means, dtype=float)
        self.card = None  # the fitted optbinning scorecard (points table), when fitted here

    def terms(self, x) -> np.ndarray:
        frame = _frame(x, self.features)
        out = np.zeros((len(frame), len(self.features)))
        for j, col in enumerate(self.features):
            values, table = frame[col].to_numpy(dtype=float), self.tables[col]
            missing = np.isnan(values)
            if table["type"] == "numeric":
                bins = np.digitize(np.where(missing, 0.0, values), table["splits"], right=False)
                looked = np.asarray(table["values"], dtype=float)[bins]
            else:
                levels = {float(k): v for k, v in table["levels"].items()}
                looked = np.array([levels.get(v, table["other"]) for v in values], dtype=float)
            out[:, j] = np.where(missing, table["missing"], looked)
        return out

    def decision_function(self, x) -> np.ndarray:
        return self.terms(x).sum(axis=1) + self.intercept

    def predict_proba(self, x) -> np.ndarray:
        return _proba(self.decision_function(x))

    def contributions(self, x) -> np.ndarray:
        return self.terms(x) - self.means

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "features": self.features,
            "intercept": self.intercept,
            "tables": self.tables,
            "means": self.means.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> BinnedLogit:
        return cls(d["features"], d["intercept"], d["tables"], d["means"])

    @classmethod
    def from_scorecard(
        cls, x, y, features: list[str], categorical: Iterable[str] = ()
    ) -> BinnedLogit:
        """Fit optbinning's WoE scorecard (models_ml.scorecard) on the training rows and
        read its tables back through its own transform, bin by bin."""
        frame = _frame(x, features)
        # a column with one value or none (a source the export lacks) cannot be binned: it
        # gets a table of zeros and the scorecard is fitted on the others
        binned = [c for c in features if frame[c].nunique(dropna=True) > 1]
        if not binned:
            raise ValueError("no feature holds two values: nothing to bin")
        categorical = [c for c in binned if c in set(categorical)]
        card = fit_scorecard(frame, y, binned, categorical)
        process = card.scorecard.binning_process_
        coef = dict(zip(binned, card.scorecard.estimator_.coef_[0], strict=True))
        unseen = float(-(2**30))  # a code no category maps to (codes are non-negative)

        def woe(col: str, probes: list[float]) -> list[float]:
            probe = pd.DataFrame({c: np.zeros(len(probes)) for c in binned})
            probe[col] = probes
            return process.transform(probe, metric="woe")[col].to_numpy(dtype=float).tolist()

        tables = {}
        for col in features:
            if col not in coef:
                tables[col] = {"type": "numeric", "splits": [], "values": [0.0], "missing": 0.0}
                continue
            if col in categorical:
                levels = sorted(float(v) for v in frame[col].dropna().unique())
                looked = woe(col, [*levels, unseen, np.nan])
                tables[col] = {
                    "type": "categorical",
                    "levels": {
                        repr(v): coef[col] * w for v, w in zip(levels, looked[:-2], strict=True)
                    },
                    "other": coef[col] * looked[-2],
                    "missing": coef[col] * looked[-1],
                }
                continue
            splits = [float(s) for s in process.get_binned_variable(col).splits]
            # bin i of digitize(right=False) holds [splits[i-1], splits[i]): probe its left edge
            probes = [splits[0] - 1.0 if splits else 0.0, *splits, np.nan]
            looked = woe(col, probes)
            tables[col] = {
                "type": "numeric",
                "splits": splits,
                "values": [coef[col] * w for w in looked[:-1]],
                "missing": coef[col] * looked[-1],
            }
        intercept = float(card.scorecard.estimator_.intercept_[0])
        model = cls(features, intercept, tables, [0.0] * len(features))
        model.means = model.terms(frame).mean(axis=0)
        model.card = card
        return model


def btyd_inputs(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T, buyer) per row from the BTYD columns; rows without an order in the two
    years (buyer False) get x = 0, t_x = 0, T = 1."""
    orders = np.nan_to_num(frame["orders_365d"].to_numpy(float)) + np.nan_to_num(
        frame["orders_prev_365d"].to_numpy(float)
    )
    first = frame["days_since_first_order_730d"].to_numpy(float)
    last = frame["days_since_last_order"].to_numpy(float)
    buyer = (orders > 0) & np.isfinite(first) & np.isfinite(last)
    T = np.where(buyer, np.maximum(np.nan_to_num(first), 1.0), 1.0)
    x = np.where(buyer, np.maximum(orders - 1, 0.0), 0.0)
    t_x = np.where(x > 0, np.clip(T - np.nan_to_num(last), 0.0, T), 0.0)
    return x, t_x, T, buyer


class BGNBDPolicy:
    """BG/NBD on the order history: P(a purchase in the horizon) for purchase intent, P(none)
    for churn (`event="no_purchase"`), from the expected purchases read as a Poisson mean,
    then Platt-calibrated on the validation window (`calibrate`)."""

    kind = BTYD

    def __init__(self, horizon_days: int = 30, event: str = "purchase"):
        self.features = list(BTYD_COLUMNS)
        self.horizon_days = horizon_days
        self.event = event
        self.calibrator: Calibrator = IDENTITY

    def fit(self, x) -> BGNBDPolicy:
        frame = _frame(x, self.features)
        nx, t_x, T, buyer = btyd_inputs(frame)
        if buyer.sum() < 10:
            raise ValueError("BG/NBD needs at least 10 customers with an order in two years")
        self.model = fit_bgnbd(nx[buyer], t_x[buyer], T[buyer])
        # the typical buyer, against whom each input's effect is measured (contributions)
        self.reference = frame[buyer].median().to_numpy(dtype=float)
        return self

    def raw(self, x) -> np.ndarray:
        nx, t_x, T, buyer = btyd_inputs(_frame(x, self.features))
        with np.errstate(all="ignore"):
            expected = self.model.expected_purchases(float(self.horizon_days), nx, t_x, T)
        expected = np.where(buyer, np.nan_to_num(expected, nan=0.0, posinf=50.0), 0.0)
        p_buy = 1.0 - np.exp(-expected)
        return 1.0 - p_buy if self.event == "no_purchase" else p_buy

    def calibrate(self, x_valid, y_valid) -> BGNBDPolicy:
        self.calibrator = fit_calibrator(np.asarray(y_valid), self.raw(x_valid), "platt")
        return self

    def predict_proba(self, x) -> np.ndarray:
        p = self.calibrator.apply(self.raw(x))
        return np.column_stack([1 - p, p])

    def contributions(self, x) -> np.ndarray:
        """Each input's effect on the score's log-odds by occlusion: the log-odds less those
        with that one input set to the typical buyer's value (BG/NBD's score is not a sum over
        its inputs, so these need not add up to it)."""
        frame = _frame(x, self.features).reset_index(drop=True)

        def logit(f: pd.DataFrame) -> np.ndarray:
            p = np.clip(self.predict_proba(f)[:, 1], 1e-6, 1 - 1e-6)
            return np.log(p / (1 - p))

        base = logit(frame)
        out = np.zeros((len(frame), len(self.features)))
        for j, col in enumerate(self.features):
            out[:, j] = base - logit(frame.assign(**{col: self.reference[j]}))
        return out

    def to_dict(self) -> dict:
        m = self.model
        return {
            "kind": self.kind,
            "features": self.features,
            "horizon_days": self.horizon_days,
            "event": self.event,
            "params": {"r": m.r, "alpha": m.alpha, "a": m.a, "b": m.b},
            "reference": self.reference.tolist(),
            "calibration": self.calibrator.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> BGNBDPolicy:
        policy = cls(int(d["horizon_days"]), d["event"])
        policy.model = BGNBD(**{k: float(v) for k, v in d["params"].items()})
        policy.calibrator = Calibrator.from_dict(d["calibration"])
        policy.reference = np.asarray(d["reference"], dtype=float)
        return policy


KINDS = {c.kind: c for c in (OneHotLogistic, BinnedLogit, BGNBDPolicy)}


def from_dict(d: dict):
    """A baseline back from its JSON (``to_dict``)."""
    try:
        return KINDS[d["kind"]].from_dict(d)
    except KeyError:
        raise ValueError(f"unknown baseline kind {d.get('kind')!r}") from None


def fit_baseline(
    name: str,
    x_train: pd.DataFrame,
    y_train: np.ndarray,
    *,
    features: list[str],
    categorical: Iterable[str],
    horizon_days: int,
    churn: bool,
    balance_classes: bool,
    seed: int,
    x_valid: pd.DataFrame | None = None,
    y_valid: np.ndarray | None = None,
):
    """Fit baseline `name` on the training window (BG/NBD: Platt-calibrated on valid)."""
    if name == LOGISTIC:
        return OneHotLogistic(features, categorical).fit(
            x_train, y_train, balance_classes=balance_classes, seed=seed
        )
    if name == SCORECARD:
        return BinnedLogit.from_scorecard(x_train, y_train, features, categorical)
    if name == BTYD:
        policy = BGNBDPolicy(horizon_days, "no_purchase" if churn else "purchase").fit(x_train)
        if x_valid is not None and y_valid is not None:
            policy.calibrate(x_valid, y_valid)
        return policy
    raise ValueError(f"unknown baseline {name!r}")
