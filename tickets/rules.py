"""The tickets app's business rules (DOMAIN.md §3): per-tenant settings with their defaults.

The tickets issue adds SLA policies per category × priority and business calendars; until then
exception tickets get their clocks from these two numbers."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tenancy.rules import Rule

FIRST_RESPONSE_MINUTES = Rule("tickets.first_response_minutes", 120,
                              _("Tickets: first response within (minutes)"), kind="int", min_value=5)
URGENT_FIRST_RESPONSE_MINUTES = Rule("tickets.urgent_first_response_minutes", 30,
                                     _("Urgent tickets (e.g. loss): first response within (minutes)"),
                                     kind="int", min_value=5)
RESOLUTION_HOURS = Rule("tickets.resolution_hours", 168,
                        _("Tickets: resolve within (hours; complaints by law within 7 days)"), kind="int",
                        min_value=1, max_value=168 * 4)
REOPEN_WINDOW_DAYS = Rule("tickets.reopen_window_days", 7, _("Tickets: may be reopened within (days)"),
                          kind="int", min_value=0, max_value=90)
