"""The customers app's business rules: every number a tenant may set differently, with the
default it starts from (DOMAIN.md §1, §7). Read with `RULE.value()` inside a tenant scope."""
from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from tenancy.rules import Rule

# Segments (recomputed daily over the last SEGMENT_WINDOW_DAYS of daily volume).
SEGMENT_WINDOW_DAYS = Rule("customers.segment_window_days", 90, _("Segments: days of history considered"),
                           kind="int", min_value=7, max_value=730)
HIGH_VALUE_REVENUE = Rule("customers.high_value_revenue", Decimal("10000.00"),
                          _("High-value: revenue in the window at least (CNY)"), min_value=Decimal("0"))
PRICE_SENSITIVE_MAX_AVG_FEE = Rule("customers.price_sensitive_max_avg_fee", Decimal("8.00"),
                                   _("Price-sensitive: average fee per parcel at most (CNY)"), min_value=Decimal("0"))
PRICE_SENSITIVE_MIN_PARCELS = Rule("customers.price_sensitive_min_parcels", 30,
                                   _("Price-sensitive: only with at least this many parcels"), kind="int", min_value=1)
HIGH_RETURN_RATE = Rule("customers.high_return_rate", Decimal("0.05"),
                        _("High return rate: returned share at least (0–1)"), min_value=Decimal("0"),
                        max_value=Decimal("1"))
HIGH_RETURN_MIN_PARCELS = Rule("customers.high_return_min_parcels", 20,
                               _("High return rate: only with at least this many parcels"), kind="int", min_value=1)

# Duplicate detection.
NAME_SIMILARITY_MIN = Rule("customers.name_similarity_min", Decimal("0.60"),
                           _("Duplicates: name similarity (0–1) that flags two accounts in one city"),
                           min_value=Decimal("0.30"), max_value=Decimal("1"))

# Prices: the charged weight is the actual weight rounded up to this step.
WEIGHT_STEP_KG = Rule("customers.weight_step_kg", Decimal("1.0"), _("Charged weight: round up to a multiple of (kg)"),
                      min_value=Decimal("0.1"), max_value=Decimal("5"))

# Sales workspace.
CONTRACT_EXPIRY_WARNING_DAYS = Rule("customers.contract_expiry_warning_days", 30,
                                    _("Contracts: warn this many days before the end"), kind="int", min_value=1)
LEAD_FIRST_CONTACT_HOURS = Rule("customers.lead_first_contact_hours", 24,
                                _("Leads: remind the owner when not contacted within (hours)"), kind="int",
                                min_value=1)

SEGMENT_CODES = ("high_value", "price_sensitive", "monthly_settlement", "high_return_rate")
SEGMENT_LABELS = {
    "high_value": _("High-value"),
    "price_sensitive": _("Price-sensitive"),
    "monthly_settlement": _("Monthly settlement"),
    "high_return_rate": _("High return rate"),
}

# Churn scan (DOMAIN.md §7): each signal adds points to a 0–100 score; the score's band is the risk.
CHURN_RECENT_DAYS = Rule("customers.churn_recent_days", 30, _("Churn: recent window (days)"), kind="int",
                         min_value=7, max_value=90)
CHURN_BASELINE_DAYS = Rule("customers.churn_baseline_days", 90,
                           _("Churn: baseline window before the recent one (days)"), kind="int", min_value=30,
                           max_value=365)
CHURN_MIN_BASELINE_PARCELS = Rule("customers.churn_min_baseline_parcels", 10,
                                  _("Churn: volume drop counts only with at least this many parcels in the baseline"),
                                  kind="int", min_value=1)
CHURN_VOLUME_DROP_MIN_PCT = Rule("customers.churn_volume_drop_min_pct", 30,
                                 _("Churn: volume drop counts from this drop against the baseline (%)"),
                                 kind="int", min_value=1, max_value=100)
CHURN_VOLUME_DROP_POINTS_PER_PCT = Rule("customers.churn_volume_drop_points_per_pct", Decimal("0.80"),
                                        _("Churn: points per percent of volume drop"), min_value=Decimal("0"),
                                        max_value=Decimal("1"))
CHURN_COMPLAINT_POINTS = Rule("customers.churn_complaint_points", 15,
                              _("Churn: points per unresolved complaint"), kind="int", min_value=0, max_value=100)
CHURN_COMPLAINT_MAX_POINTS = Rule("customers.churn_complaint_max_points", 30,
                                  _("Churn: at most this many points from unresolved complaints"), kind="int",
                                  min_value=0, max_value=100)
CHURN_LOW_SATISFACTION_POINTS = Rule("customers.churn_low_satisfaction_points", 20,
                                     _("Churn: points for a CSAT ≤ 2 or NPS ≤ 6 answer in the recent window"),
                                     kind="int", min_value=0, max_value=100)
CHURN_CLAIMS_PAID_POINTS = Rule("customers.churn_claims_paid_points", 15,
                                _("Churn: points for claims paid in the recent window"), kind="int", min_value=0,
                                max_value=100)
CHURN_UNDER_COMMITMENT_SHARE = Rule("customers.churn_under_commitment_share", Decimal("1.00"),
                                    _("Churn: B-end volume below this share of the contract's monthly commitment"),
                                    min_value=Decimal("0"), max_value=Decimal("1"))
CHURN_UNDER_COMMITMENT_POINTS = Rule("customers.churn_under_commitment_points", 20,
                                     _("Churn: points for volume under the contract commitment"), kind="int",
                                     min_value=0, max_value=100)
CHURN_MEDIUM_SCORE = Rule("customers.churn_medium_score", 25, _("Churn: medium risk from this score"), kind="int",
                          min_value=1, max_value=100)
CHURN_HIGH_SCORE = Rule("customers.churn_high_score", 55, _("Churn: high risk from this score"), kind="int",
                        min_value=1, max_value=100)
RETENTION_TASK_DUE_DAYS = Rule("customers.retention_task_due_days", 3,
                               _("Retention tasks: due this many days after the alert"), kind="int", min_value=0,
                               max_value=60)
