"""The tickets app's business rules (DOMAIN.md §3): per-tenant settings with their defaults.

The SLA targets themselves are rows a tenant admin edits (tickets.models.SlaPolicy per category ×
priority, optionally per B-end contract, each on a business calendar — defaults from DOMAIN.md §3
made by `sla_defaults_ensure`); the three target numbers below are the fallback for a ticket no
policy matches. The rest are the knobs of the sweep, the queues, attachments, the public form and
the knowledge base."""
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

# SLA sweep (tickets.sla): warn at this share of a target's time, and what a breach does.
SLA_WARN_PERCENT = Rule("tickets.sla_warn_percent", 80, _("SLA: warn when this share of the time is used (%)"),
                        kind="int", min_value=10, max_value=99)
SLA_BREACH_RAISES_PRIORITY = Rule("tickets.sla_breach_raises_priority", True,
                                  _("SLA: a breach raises the ticket's priority one step"), kind="bool")
SLA_BREACH_REASSIGNS_TO_LEAD = Rule("tickets.sla_breach_reassigns_to_lead", False,
                                    _("SLA: a resolution breach hands the ticket to the team lead"), kind="bool")
# The share of the time left under which a queue shows a ticket's clock in amber.
SLA_AMBER_PERCENT = Rule("tickets.sla_amber_percent", 20, _("Queues: show a clock in amber below this share "
                                                             "of its time left (%)"), kind="int",
                         min_value=1, max_value=90)

# Attachments.
ATTACHMENT_MAX_MB = Rule("tickets.attachment_max_mb", 10, _("Attachments: largest file (MB)"), kind="int",
                         min_value=1, max_value=50)
ATTACHMENT_TYPES = Rule("tickets.attachment_types", "image/jpeg,image/png,image/webp,application/pdf,text/plain",
                        _("Attachments: allowed types (comma-separated MIME types)"), kind="text")
ATTACHMENTS_PER_TICKET = Rule("tickets.attachments_per_ticket", 20, _("Attachments: most files per ticket"),
                              kind="int", min_value=1, max_value=200)

# The company's public "contact customer service" form (/p/<company code>/support/).
PUBLIC_FORM_ENABLED = Rule("tickets.public_form_enabled", True, _("Public web form for service requests is on"),
                           kind="bool")

# Knowledge base: how many suggestions the ticket page shows.
KB_SUGGESTIONS = Rule("tickets.kb_suggestions", 5, _("Knowledge base: suggestions shown on a ticket"), kind="int",
                      min_value=0, max_value=20)
