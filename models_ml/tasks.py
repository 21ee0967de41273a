"""The prediction tasks: label, horizon, eligibility, features and how scores read to people."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Feature columns of features.customer_features the models use, with the business words a
# reason code shows (what a high value of the feature means).
FEATURE_WORDS: dict[str, str] = {
    "days_since_last_order": "days since the last order",
    "orders_90d": "orders in the last 90 days",
    "orders_180d": "orders in the last 180 days",
    "orders_365d": "orders in the last 365 days",
    "orders_prev_365d": "orders in the year before last",
    "revenue_cny_90d": "order value in the last 90 days (CNY)",
    "revenue_cny_180d": "order value in the last 180 days (CNY)",
    "revenue_cny_365d": "order value in the last 365 days (CNY)",
    "revenue_cny_prev_90d": "order value 91-180 days ago (CNY)",
    "revenue_trend_90d": "order value trend (last 90 days vs the 90 before)",
    "avg_order_changes_365d": "changes per order",
    "cancelled_order_share_365d": "share of orders cancelled",
    "avg_order_gap_days_365d": "days between orders",
    "order_gap_cv_365d": "irregularity of the order rhythm",
    "material_families_365d": "material families bought",
    "top_family_share_365d": "dependence on one material family",
    "avg_price_to_list_365d": "price paid against list price",
    "invoices_365d": "invoices in the last 365 days",
    "avg_days_late_365d": "average days paid late (365 days)",
    "max_days_late_365d": "worst days paid late (365 days)",
    "avg_days_late_90d": "average days paid late (90 days)",
    "late_invoice_share_365d": "share of invoices paid late",
    "overdue_balance_cny": "overdue balance (CNY)",
    "open_balance_cny": "open balance (CNY)",
    "oldest_open_days_late": "days past due of the oldest open invoice",
    "credit_limit_use": "use of the credit limit",
}


@dataclass(frozen=True)
class Task:
    name: str
    description: str
    horizon_days: int
    # Band thresholds on the score, ascending, and the band names (one more than thresholds).
    band_edges: tuple[float, ...]
    band_names: tuple[str, ...]
    features: tuple[str, ...] = field(default_factory=lambda: tuple(FEATURE_WORDS))
    # Map raw model scores to probabilities fitted on the validation window: "platt",
    # "isotonic", "auto" (isotonic once the window holds enough positives) or None.
    calibration: str | None = None
    # Rare outcomes: grow the validation and test windows (whole snapshot dates, newest
    # first) until each holds this many positives, so their metrics mean something.
    window_positives: int = 0
    # Weight positives up to balance the classes in training (the calibrator then maps the
    # inflated scores back to probabilities); otherwise a mild weight keeps scores honest.
    balance_classes: bool = False

    @property
    def registered_model_name(self) -> str:
        return f"portrait_{self.name}"

    @property
    def experiment_name(self) -> str:
        return f"portrait/{self.name}"

    def bands(self, scores: np.ndarray) -> np.ndarray:
        """Band names of many scores at once: a score on an edge belongs to the band above."""
        index = np.searchsorted(np.asarray(self.band_edges), scores, side="right")
        return np.asarray(self.band_names, dtype=object)[index]

    def band(self, score: float) -> str:
        return self.bands(np.asarray([score]))[0]


TASKS: dict[str, Task] = {
    "churn_180d": Task(
        name="churn_180d",
        description="No order in the 180 days after the snapshot (active customers only).",
        horizon_days=180,
        band_edges=(0.3, 0.6),
        band_names=("low", "medium", "high"),
    ),
    "purchase_30d": Task(
        name="purchase_30d",
        description="At least one order in the 30 days after the snapshot.",
        horizon_days=30,
        band_edges=(0.2, 0.5),
        band_names=("cold", "warm", "hot"),
    ),
    "default_90dpd_180d": Task(
        name="default_90dpd_180d",
        description=(
            "Credit risk: an invoice becomes 90 days past due within the 180 days after the "
            "snapshot (customers invoiced in the last year). The score is a calibrated PD."
        ),
        horizon_days=180,
        # Grades by probability of default: A < 1%, B < 2%, C < 5%, D < 10%, E >= 10%.
        band_edges=(0.01, 0.02, 0.05, 0.10),
        band_names=("A", "B", "C", "D", "E"),
        calibration="auto",
        window_positives=10,
        balance_classes=True,
    ),
}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"Unknown task {name!r}; known tasks: {', '.join(TASKS)}") from None
