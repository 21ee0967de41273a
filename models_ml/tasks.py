"""The prediction tasks: label, horizon, eligibility, features and how scores read to people."""

from __future__ import annotations

from dataclasses import dataclass, field

# Feature columns of features.customer_features the models use, with the business words a
# reason code shows (what a high value of the feature means).
FEATURE_WORDS: dict[str, str] = {
    "days_since_last_order": "days since the last order",
    "customer_tenure_days": "days as a customer",
    "orders_90d": "orders in the last 90 days",
    "orders_180d": "orders in the last 180 days",
    "orders_365d": "orders in the last 365 days",
    "revenue_cny_90d": "order value in the last 90 days (CNY)",
    "revenue_cny_180d": "order value in the last 180 days (CNY)",
    "revenue_cny_365d": "order value in the last 365 days (CNY)",
    "revenue_cny_prev_90d": "order value 91-180 days ago (CNY)",
    "revenue_trend_90d": "order value trend (last 90 days vs the 90 before)",
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

    @property
    def registered_model_name(self) -> str:
        return f"portrait_{self.name}"

    @property
    def experiment_name(self) -> str:
        return f"portrait/{self.name}"

    def band(self, score: float) -> str:
        for edge, name in zip(self.band_edges, self.band_names, strict=False):
            if score < edge:
                return name
        return self.band_names[-1]


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
}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"Unknown task {name!r}; known tasks: {', '.join(TASKS)}") from None
