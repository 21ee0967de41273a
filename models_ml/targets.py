"""The prediction targets: label, horizon, eligibility, features and how scores read to people."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Feature columns of features.customer_features the models use, with the business words a
# reason code shows (what a high value of the feature means): first the ERP families (orders,
# rhythm, mix, payment), then the lab, CRM, service, project and registry families.
ERP_FEATURE_WORDS: dict[str, str] = {
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
    "late_15d_share_90d": "share of invoices over 15 days late (90 days)",
    "late_15d_share_365d": "share of invoices over 15 days late (365 days)",
    "overdue_15d_invoices": "invoices over 15 days past due",
    "days_since_last_payment": "days since the last payment",
    "last_paid_days_late": "days late of the last settled invoice",
}
RELATIONSHIP_FEATURE_WORDS: dict[str, str] = {
    # samples and lab
    "sample_requests_30d": "sample requests in the last 30 days",
    "sample_requests_90d": "sample requests in the last 90 days",
    "qualification_samples_90d": "samples for qualifying a material (90 days)",
    "sample_requests_365d": "sample requests in the last 365 days",
    "sample_conversion_365d": "share of samples followed by an order",
    "avg_sample_feedback_days_365d": "days from sample shipment to test feedback",
    "sample_pass_rate_365d": "share of sample tests passed",
    "tight_spec_share_365d": "share of sample requests with tight specs",
    # engagement
    "days_since_last_contact": "days since the last CRM contact",
    "interactions_365d": "CRM touchpoints in the last 365 days",
    "visit_interactions_365d": "visits in the last 365 days",
    "phone_interactions_365d": "phone calls in the last 365 days",
    "wechat_interactions_365d": "WeChat messages in the last 365 days",
    "email_interactions_365d": "e-mails in the last 365 days",
    "exhibition_interactions_365d": "exhibition meetings in the last 365 days",
    "online_meeting_interactions_365d": "online meetings in the last 365 days",
    "customer_initiated_inquiries_90d": "inquiries the customer started (90 days)",
    "inbound_share_365d": "share of touchpoints the customer started",
    "avg_contact_gap_days_90d": "days the customer takes to answer (90 days)",
    "avg_contact_gap_days_365d": "days the customer takes to answer (365 days)",
    "contact_gap_trend": "slower answers than over the year",
    "crm_contacts": "contacts at the customer",
    "rd_contact_share": "share of R&D contacts",
    # service
    "tickets_365d": "service tickets in the last 365 days",
    "tickets_90d": "service tickets in the last 90 days",
    "quality_tickets_365d": "quality complaints (365 days)",
    "delivery_tickets_365d": "delivery problems (365 days)",
    "technical_tickets_365d": "technical questions (365 days)",
    "return_tickets_365d": "returns (365 days)",
    "replacement_tickets_365d": "replacement requests (365 days)",
    "billing_tickets_365d": "billing questions (365 days)",
    "consultation_tickets_365d": "consultations (365 days)",
    "high_severity_tickets_365d": "high-severity tickets (365 days)",
    "critical_tickets_365d": "critical tickets (365 days)",
    "complaint_tickets_365d": "complaints (365 days)",
    "avg_satisfaction_365d": "service satisfaction (365 days)",
    "avg_satisfaction_90d": "service satisfaction (90 days)",
    "satisfaction_trend_90d": "satisfaction trend (90 days vs the year)",
    "technical_rejections_365d": "technical rejections (365 days)",
    # cooperation
    "active_projects": "running projects",
    "active_codev_projects": "running co-development projects",
    "active_trial_projects": "product trials running",
    "days_since_trial_completed": "days since a product trial was completed",
    "days_since_trial_cancelled": "days since a product trial was cancelled",
    "joint_projects_365d": "co-development projects (365 days)",
    "new_projects_365d": "projects started in the last 365 days",
    "new_project_share_365d": "share of new projects (365 days)",
    "new_project_share_prev_365d": "share of new projects the year before",
    # firmographics (the text ones are LightGBM categoricals, see CATEGORICAL_FEATURES)
    "customer_type": "customer type",
    "industry": "industry",
    "region": "region",
    "company_age_years": "company age (years)",
    "registered_capital_cny": "registered capital (CNY)",
    "registry_status": "registry status",
    "is_deregistered": "deregistered or licence revoked",
}

FEATURE_WORDS: dict[str, str] = {**ERP_FEATURE_WORDS, **RELATIONSHIP_FEATURE_WORDS}

# Text feature columns the models take as LightGBM categoricals (data.to_model_matrix codes them).
CATEGORICAL_FEATURES: frozenset[str] = frozenset(
    {"customer_type", "industry", "region", "registry_status"}
)

# Which features each target reads; docs/models.md has the figures behind each choice. Churn: the
# ERP families and the relationship signals below (all columns did no better); the product
# trials and qualification samples show the project phase, which the 20x world's churn
# needed most (ratio to the oracle 0.923 -> 0.940 over three test windows). Purchase:
# every family. Credit risk: the ERP families and the signs of financial stress outside the
# payment record (service load and billing disputes, slower answers, deregistration) - on a
# 20x world (143 test positives) they lift the ratio to the oracle from 0.92 to 0.93; on the
# default world's 10 test positives no credit figure is settled within +/- 0.05.
ERP_FEATURES: tuple[str, ...] = tuple(ERP_FEATURE_WORDS)
CREDIT_SIGNALS: tuple[str, ...] = (
    "tickets_90d",
    "tickets_365d",
    "billing_tickets_365d",
    "avg_satisfaction_90d",
    "avg_contact_gap_days_90d",
    "contact_gap_trend",
    "customer_initiated_inquiries_90d",
    "is_deregistered",
    "registry_status",
)
CHURN_SIGNALS: tuple[str, ...] = (
    "sample_requests_30d",
    "sample_requests_90d",
    "qualification_samples_90d",
    "sample_requests_365d",
    "days_since_last_contact",
    "interactions_365d",
    "customer_initiated_inquiries_90d",
    "inbound_share_365d",
    "avg_contact_gap_days_90d",
    "avg_contact_gap_days_365d",
    "contact_gap_trend",
    "tickets_365d",
    "complaint_tickets_365d",
    "avg_satisfaction_365d",
    "satisfaction_trend_90d",
    "active_projects",
    "active_trial_projects",
    "days_since_trial_completed",
    "days_since_trial_cancelled",
    "joint_projects_365d",
    "new_project_share_365d",
    "is_deregistered",
)


@dataclass(frozen=True)
class Target:
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
    # Text features taken as LightGBM categoricals; None: CATEGORICAL_FEATURES (the warehouse's).
    categorical: frozenset[str] | None = None
    # The classical baselines compared with LightGBM on the test window (models_ml.policies):
    # "logistic" (one-hot), "scorecard" (WoE), "bgnbd" (buy till you die).
    baselines: tuple[str, ...] = ("logistic",)

    @property
    def categorical_features(self) -> frozenset[str]:
        return CATEGORICAL_FEATURES if self.categorical is None else self.categorical

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


TARGETS: dict[str, Target] = {
    "churn_180d": Target(
        name="churn_180d",
        description="No order in the 180 days after the snapshot (active customers only).",
        horizon_days=180,
        band_edges=(0.3, 0.6),
        band_names=("low", "medium", "high"),
        features=ERP_FEATURES + CHURN_SIGNALS,
        # Platt (strictly monotone: the ranking and so the AUC stay as they are) so that the
        # bands read as probabilities; early-stopped boosters are far from calibrated.
        calibration="platt",
        baselines=("logistic", "bgnbd"),
    ),
    "purchase_30d": Target(
        name="purchase_30d",
        description="At least one order in the 30 days after the snapshot.",
        horizon_days=30,
        band_edges=(0.2, 0.5),
        band_names=("cold", "warm", "hot"),
        calibration="platt",
        baselines=("logistic", "bgnbd"),
    ),
    "default_90dpd_180d": Target(
        name="default_90dpd_180d",
        description=(
            "Credit risk: an invoice becomes 90 days past due within the 180 days after the "
            "snapshot (customers invoiced in the last year). The score is a calibrated PD."
        ),
        horizon_days=180,
        # Grades by probability of default: A < 1%, B < 2%, C < 5%, D < 10%, E >= 10%.
        band_edges=(0.01, 0.02, 0.05, 0.10),
        band_names=("A", "B", "C", "D", "E"),
        features=ERP_FEATURES + CREDIT_SIGNALS,
        calibration="auto",
        window_positives=10,
        baselines=("logistic", "scorecard"),
        # Not balanced: weighting the 3 % positives up to half the weight made the ranking
        # worse on every world large enough to tell (20x world: 0.88 vs 0.92 ratio to the
        # oracle); the calibrator maps the mildly weighted scores to probabilities.
    ),
}


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise ValueError(f"Unknown target {name!r}; known targets: {', '.join(TARGETS)}") from None
