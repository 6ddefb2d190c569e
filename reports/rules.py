"""The reports app's business rules (read with `RULE.value()` inside a tenant scope)."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tenancy.rules import Rule

DEFAULT_MONTHS = Rule("reports.default_months", 6, _("Dashboards: months shown when no dates are chosen"),
                      kind="int", min_value=1, max_value=36)
MAX_RANGE_DAYS = Rule("reports.max_range_days", 1100, _("Dashboards: longest date range one may ask for (days)"),
                      kind="int", min_value=31, max_value=3660)
ROLLUP_REFRESH_DAYS = Rule("reports.rollup_refresh_days", 14,
                           _("Dashboards: days of shipments counted again on every refresh"),
                           kind="int", min_value=1, max_value=120)
# The regulator's complaint line (12305) forwards appeals; staff tag the ticket with this word.
APPEAL_TAG = Rule("reports.appeal_tag", "12305", _("Dashboards: ticket tag that marks a regulator appeal"),
                  kind="text")
# Complaints are shown per 10,000 shipments, appeals per million (the regulator's KPI).
COMPLAINTS_PER = 10_000
APPEALS_PER = 1_000_000
TICKET_REFRESH_DAYS = Rule("reports.ticket_refresh_days", 45,
                           _("Dashboards: days of tickets counted again on every refresh (SLA outcomes settle)"),
                           kind="int", min_value=7, max_value=366)
SURVEY_REFRESH_DAYS = Rule("reports.survey_refresh_days", 30,
                           _("Dashboards: days of surveys counted again on every refresh (answers arrive)"),
                           kind="int", min_value=7, max_value=366)
CHURN_CACHE_MINUTES = Rule("reports.churn_cache_minutes", 10,
                           _("Dashboards: minutes the churn risk counts are kept before counting again"),
                           kind="int", min_value=0, max_value=1440)
