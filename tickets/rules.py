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

# Satisfaction surveys (DOMAIN.md §7): CSAT after a ticket closes, NPS after a sampled delivery.
SURVEY_CSAT_ENABLED = Rule("tickets.survey_csat_enabled", True, _("Surveys: ask for CSAT after a ticket closes"),
                           kind="bool")
SURVEY_NPS_SAMPLE_PERCENT = Rule("tickets.survey_nps_sample_percent", 10,
                                 _("Surveys: share of deliveries asked for NPS (%)"), kind="int",
                                 min_value=0, max_value=100)
SURVEY_CSAT_WINDOW_HOURS = Rule("tickets.survey_csat_window_hours", 72,
                                _("Surveys: the sweep asks about tickets closed within (hours)"), kind="int",
                                min_value=1, max_value=24 * 30)
SURVEY_NPS_WINDOW_HOURS = Rule("tickets.survey_nps_window_hours", 48,
                               _("Surveys: the sweep asks about deliveries within (hours)"), kind="int",
                               min_value=1, max_value=24 * 30)
SURVEY_PERSON_COOLDOWN_DAYS = Rule("tickets.survey_person_cooldown_days", 30,
                                   _("Surveys: at most one survey per person within (days)"), kind="int",
                                   min_value=0, max_value=365)
SURVEY_LINK_VALID_DAYS = Rule("tickets.survey_link_valid_days", 14, _("Surveys: an answer link is valid for (days)"),
                              kind="int", min_value=1, max_value=90)
SURVEY_MAX_SEND_ATTEMPTS = Rule("tickets.survey_max_send_attempts", 5,
                                _("Surveys: give up sending after this many failed attempts"), kind="int",
                                min_value=1, max_value=20)
SURVEY_RESEND_AFTER_MINUTES = Rule("tickets.survey_resend_after_minutes", 2,
                                   _("Surveys: the sweep queues a survey still unsent after (minutes)"),
                                   kind="int", min_value=1, max_value=24 * 60)
SURVEY_CSAT_FOLLOW_UP_AT_MOST = Rule("tickets.survey_csat_follow_up_at_most", 2,
                                     _("Surveys: a CSAT score at or below this opens a follow-up ticket"),
                                     kind="int", min_value=1, max_value=5)
SURVEY_NPS_FOLLOW_UP_AT_MOST = Rule("tickets.survey_nps_follow_up_at_most", 6,
                                    _("Surveys: an NPS score at or below this opens a follow-up ticket"),
                                    kind="int", min_value=0, max_value=10)
SURVEY_COMMENT_MAX_LENGTH = Rule("tickets.survey_comment_max_length", 1000,
                                 _("Surveys: longest comment (characters)"), kind="int", min_value=50, max_value=5000)
