"""The numbers of personal-data compliance (DOMAIN.md §6), per company and versioned by date
(tenancy.rules): request clocks, retention periods per data class, key ages, consent defaults."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tenancy.rules import Rule

from .models import ConsentPurpose

# --- data-subject request clocks ---
DSR_WORKING_DAYS_PIPL = Rule("compliance.dsr_working_days_pipl", 15,
                             _("Data-subject requests (PIPL): answer within (working days)"), kind="int",
                             min_value=1, max_value=60)
DSR_MONTHS_GDPR = Rule("compliance.dsr_months_gdpr", 1,
                       _("Data-subject requests (GDPR): answer within (months)"), kind="int",
                       min_value=1, max_value=3)
DSR_AT_RISK_WORKING_DAYS = Rule("compliance.dsr_at_risk_working_days", 3,
                                _("Data-subject requests: a clock is at risk this many working days before "
                                  "it runs out"), kind="int", min_value=0, max_value=30)
DSR_EXPORT_VALID_DAYS = Rule("compliance.dsr_export_valid_days", 7,
                             _("Data-subject access exports: the file can be downloaded for (days)"), kind="int",
                             min_value=1, max_value=30)

# --- retention periods per data class (months; 0 switches the class off) ---
RETAIN_WAYBILL_RECEIVER_MONTHS = Rule(
    "compliance.retain_waybill_receiver_months", 6,
    _("Retention: anonymise the sender's and receiver's details on a waybill this many months after it was "
      "delivered or returned (0 = never)"),
    kind="int", min_value=0, max_value=120)
RETAIN_CLOSED_TICKET_MONTHS = Rule(
    "compliance.retain_closed_ticket_months", 36,
    _("Retention: anonymise the personal data of tickets closed this many months ago (0 = never)"),
    kind="int", min_value=0, max_value=240)
RETAIN_ACCESS_LOG_MONTHS = Rule(
    "compliance.retain_access_log_months", 36,
    _("Retention: delete access-log rows older than (months; at least 6; 0 = keep for ever)"),
    kind="int", min_value=0, max_value=240)
RETAIN_IMPORT_FILE_DAYS = Rule(
    "compliance.retain_import_file_days", 30,
    _("Retention: delete uploaded import files this many days after the import (0 = never)"),
    kind="int", min_value=0, max_value=3650)
RETAIN_DSR_EXPORT_DAYS = Rule(
    "compliance.retain_dsr_export_days", 30,
    _("Retention: delete data-subject export files this many days after they were built"),
    kind="int", min_value=1, max_value=365)

RETENTION_BATCH_SIZE = 1000

# --- keys ---
KEY_ROTATION_AGE_DAYS = Rule("compliance.key_rotation_age_days", 365,
                             _("Keys: a company key older than this many days is due for rotation"), kind="int",
                             min_value=30, max_value=3650)
KEY_ROTATION_BATCH_SIZE = 500

# --- consent ---
# What a person's answer is before they have given one: service notifications are part of the
# delivery contract (PIPL Art. 13(2)) and go out until withdrawn; surveys and marketing need an
# explicit yes.
CONSENT_DEFAULT = {
    ConsentPurpose.SERVICE: True,
    ConsentPurpose.SURVEYS: False,
    ConsentPurpose.MARKETING: False,
}

# --- incidents ---
INCIDENT_AUTHORITY_HOURS = Rule("compliance.incident_authority_hours", 24,
                                _("Incidents: report a data leak to the postal authority within (hours)"),
                                kind="int", min_value=1, max_value=720)
DEFAULT_AUTHORITY = _("Local postal administration")

