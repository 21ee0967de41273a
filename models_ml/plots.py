"""Figures an ML engineer would rather look at than read, logged with every training run."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import font_manager
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_curve

# Families that draw Chinese, in order of preference. WenQuanYi Micro Hei is the one
# `portrait setup system` installs (Debian's fonts-wqy-microhei, portrait.local.system's
# CJK_FONT); the others are what a developer's Mac or Windows machine already has.
CJK_FAMILIES = (
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "PingFang SC",
    "Microsoft YaHei",
    "SimHei",
)


def cjk_families() -> list[str]:
    """The CJK_FAMILIES matplotlib can find here (empty when none is installed)."""
    found = []
    for family in CJK_FAMILIES:
        try:
            font_manager.findfont(
                font_manager.FontProperties(family=family), fallback_to_default=False
            )
        except ValueError:
            continue
        found.append(family)
    return found


def cjk_rc() -> dict:
    """rcParams for a figure with Chinese labels, for ``plt.rc_context``: the CJK families
    found first, matplotlib's own sans-serif after them (Latin glyphs and a fallback), and
    an ASCII minus sign (these fonts lack U+2212). Scoped, not global: the other figures
    keep matplotlib's defaults."""
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [*cjk_families(), *plt.rcParams["font.sans-serif"]],
        "axes.unicode_minus": False,
    }


def _roc(y, p_model, p_base):
    fig, ax = plt.subplots(figsize=(5, 5))
    for label, p in (("LightGBM", p_model), ("best baseline", p_base)):
        if len(np.unique(y)) == 2 and np.isfinite(p).all():
            fpr, tpr, _ = roc_curve(y, p)
            ax.plot(fpr, tpr, label=label)
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test window)")
    ax.legend(loc="lower right")
    return fig


def _calibration(y, p, p_raw=None):
    fig, ax = plt.subplots(figsize=(5, 5))
    curves = [("LightGBM", p)] if p_raw is None else [("raw", p_raw), ("calibrated", p)]
    if len(np.unique(y)) == 2:
        for label, scores in curves:
            bins = min(10, max(2, int(np.sum(y)) // 2))
            frac, mean = calibration_curve(y, scores, n_bins=bins, strategy="quantile")
            ax.plot(mean, frac, "o-", label=label)
    ax.plot([0, 1], [0, 1], "k:", lw=1, label="perfect")
    ax.set(xlabel="mean predicted", ylabel="observed rate", title="Calibration (test window)")
    ax.legend(loc="upper left")
    return fig


def _lift(y, p):
    fig, ax = plt.subplots(figsize=(6, 4))
    order = np.argsort(-p, kind="stable")
    deciles = np.array_split(np.asarray(y)[order], 10)
    base = np.mean(y) if len(y) else 0
    lifts = [(d.mean() / base) if base and len(d) else 0 for d in deciles]
    ax.bar(range(1, 11), lifts)
    ax.axhline(1, color="k", ls=":", lw=1)
    ax.set(xlabel="score decile (1 = highest)", ylabel="lift", title="Lift by decile (test window)")
    return fig


def _importance(model, columns):
    fig, ax = plt.subplots(figsize=(6, 4))
    gains = pd.Series(model.booster_.feature_importance("gain"), index=columns).sort_values()
    ax.barh(gains.index, gains.values)
    ax.set(xlabel="total gain", title="Feature importance")
    fig.tight_layout()
    return fig


def _shap_summary(model, x: pd.DataFrame):
    contrib = model.booster_.predict(x, pred_contrib=True)[:, :-1]
    order = np.argsort(np.abs(contrib).mean(axis=0))
    fig, ax = plt.subplots(figsize=(7, 4))
    rng = np.random.default_rng(0)
    for row, j in enumerate(order):
        vals = x.iloc[:, j].to_numpy(dtype=float)
        finite = np.isfinite(vals)
        lo, hi = (np.nanmin(vals), np.nanmax(vals)) if finite.any() else (0.0, 1.0)
        color = np.where(finite, (vals - lo) / (hi - lo + 1e-12), 0.5)
        ax.scatter(
            contrib[:, j],
            row + rng.uniform(-0.3, 0.3, len(vals)),
            c=color,
            cmap="coolwarm",
            s=6,
        )
    ax.set_yticks(range(len(order)), [x.columns[j] for j in order])
    ax.axvline(0, color="k", lw=0.5)
    ax.set(xlabel="contribution to log-odds (SHAP, colour = feature value)", title="SHAP summary")
    fig.tight_layout()
    return fig


def model_plots(model, x_test: pd.DataFrame, y_test, p_test, p_base, p_raw=None) -> dict:
    """ROC, calibration (raw beside calibrated when a calibrator was fitted), lift,
    importance and SHAP summary on the test window."""
    same = p_raw is None or np.allclose(p_raw, p_test)
    figs = {
        "roc": _roc(y_test, p_test, p_base),
        "calibration": _calibration(y_test, p_test, None if same else p_raw),
        "lift": _lift(y_test, p_test),
        "feature_importance": _importance(model, list(x_test.columns)),
        "shap_summary": _shap_summary(model, x_test),
    }
    return figs


def segment_scatter(coords: np.ndarray, labels: np.ndarray, names: dict[int, str]):
    """Customers on the first two principal components, coloured by segment."""
    fig, ax = plt.subplots(figsize=(7, 5))
    for seg in sorted(names):
        mask = labels == seg
        ax.scatter(coords[mask, 0], coords[mask, 1], s=12, label=f"{seg}: {names[seg]}")
    ax.set(xlabel="PC1", ylabel="PC2", title="Customer segments (PCA of behaviour features)")
    ax.legend(loc="best", fontsize=7)
    fig.tight_layout()
    return fig


def close_all() -> None:
    plt.close("all")
