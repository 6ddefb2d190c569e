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
