"""The Celery app and the one beat schedule of the project.

Every periodic job is declared here, in code, so the schedule is reviewed like code. Jobs that
work per tenant fan out from a platform task into one task per tenant carrying `tenant_id`.
`JOBS`, right below the schedule, names each entry for people (the job-monitoring page) and lists
the tenant tasks it fans out to; a test keeps its keys equal to the schedule's.
"""
import os

from celery import Celery
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "courier_crm.settings.base")

app = Celery("courier_crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Expired sessions are removed nightly so the session table stays small.
    "platform-clear-expired-sessions": {
        "task": "tenancy.tasks.platform_clear_expired_sessions",
        "schedule": crontab(hour=3, minute=17),
    },
    # Each tenant's keyring is checked daily; keys past their rotation age are reported.
    "platform-key-age-report": {
        "task": "tenancy.tasks.platform_key_age_sweep",
        "schedule": crontab(hour=4, minute=5),
    },
    # Rule-based customer segments from the daily volume, recomputed nightly (only changed rows).
    "customers-segments": {
        "task": "customers.tasks.platform_segments_sweep",
        "schedule": crontab(hour=2, minute=30),
    },
    # Duplicate customers (same phone / ID / email, similar account names in one city).
    "customers-duplicates": {
        "task": "customers.tasks.platform_duplicates_sweep",
        "schedule": crontab(hour=3, minute=40),
    },
    # Follow-up and first-contact reminders; hourly in working hours, so a new overdue item or a
    # lead waiting too long surfaces the same morning (notifications are unique per key).
    # Imports whose task message was lost are queued again; checked files nobody confirmed
    # within 7 days are wiped (they hold personal data).
    "customers-import-sweep": {
        "task": "customers.import_tasks.platform_customer_import_sweep",
        "schedule": crontab(minute="*/10"),
    },
    "customers-sales-reminders": {
        "task": "customers.tasks.platform_sales_reminders_sweep",
        "schedule": crontab(hour="8-20", minute=5),
    },
    # Time-based exception rules (no scan for 24 h, past the promised date): every 15 minutes, by
    # database state; one open ticket per waybill and kind, so repeats open nothing.
    "shipments-exception-sweep": {
        "task": "shipments.tasks.platform_exception_sweep",
        "schedule": crontab(minute="*/15"),
    },
    # SLA clocks of open tickets: warnings, breaches and escalations, every 5 minutes by database
    # state (each effect is recorded once on the ticket, so a late or repeated run is harmless).
    "tickets-sla-sweep": {
        "task": "tickets.tasks.platform_sla_sweep",
        "schedule": crontab(minute="*/5"),
    },
    # Public replies still pending a couple of minutes after they were written (their delivery
    # message was lost) are queued again; delivery sends a pending message once, under a lock.
    "tickets-outbound-sweep": {
        "task": "tickets.tasks.platform_outbound_sweep",
        "schedule": crontab(minute="*/3"),
    },
    # Fine ledger: a signed checkpoint of each company's chain head every 15 minutes when entries
    # were added; the whole chain verified nightly; fines detectors hourly (each fact proposes once),
    # which also re-queues requested verifications whose message was lost.
    "penalties-ledger-checkpoints": {
        "task": "penalties.tasks.platform_ledger_checkpoints",
        "schedule": crontab(minute="*/15"),
    },
    "penalties-ledger-verify": {
        "task": "penalties.tasks.platform_ledger_verify",
        "schedule": crontab(hour=2, minute=50),
    },
    "penalties-detectors": {
        "task": "penalties.tasks.platform_detectors",
        "schedule": crontab(minute=25),
    },
    # Data-subject requests: exports whose build message was lost (or whose worker died) are queued
    # again every ten minutes; each morning handlers are reminded of clocks at risk or overdue.
    "compliance-dsr-sweep": {
        "task": "compliance.tasks.platform_dsr_sweep",
        "schedule": crontab(minute="*/10"),
    },
    "compliance-dsr-reminders": {
        "task": "compliance.tasks.platform_dsr_reminders",
        "schedule": crontab(hour=8, minute=30),
    },
    # Retention: each company's policies applied daily in batches (safe to repeat); also runs a
    # requested "run now" whose message was lost.
    "compliance-retention": {
        "task": "compliance.tasks.platform_retention_sweep",
        "schedule": crontab(hour=1, minute=20),
    },
    # Key rotations whose message was lost, or whose worker died (no heartbeat for five minutes),
    # are queued again; a rotation resumes from the batch it had reached.
    "compliance-key-rotation-sweep": {
        "task": "compliance.tasks.keys.platform_key_rotation_sweep",
        "schedule": crontab(minute="*/5"),
    },
    # Tracking-event partitions for this month and the next two (ingest also creates a missing one).
    "shipments-tracking-partitions": {
        "task": "shipments.tasks.platform_tracking_partitions",
        "schedule": crontab(hour=1, minute=10),
    },
    # Churn scan: each customer's health from volume against its own baseline, complaints, low
    # CSAT/NPS and paid claims, after the nightly segments; one alert per customer and day.
    "customers-churn-scan": {
        "task": "customers.tasks.platform_churn_sweep",
        "schedule": crontab(hour=2, minute=40),
    },
    # Satisfaction surveys: closed tickets and delivered waybills without a survey row are found by
    # database state every 5 minutes (one survey per ticket / waybill, so repeats send nothing).
    "tickets-survey-sweep": {
        "task": "tickets.tasks.platform_survey_sweep",
        "schedule": crontab(minute="*/5"),
    },
    # Report rollups (daily KPI tables) refreshed every half hour; a refresh rewrites the same rows.
    "reports-rollup": {
        "task": "reports.tasks.platform_rollup_sweep",
        "schedule": crontab(minute="*/30"),
    },
}

# beat entry → (label, one-line description, the tenant tasks it fans out to). Platform-only
# entries (no tenant task) keep no per-company state and are not shown to companies.
JOBS = {
    "platform-clear-expired-sessions": (
        _("Expired sessions"), _("Removes expired login sessions."), []),
    "platform-key-age-report": (
        _("Key age check"), _("Reports encryption keys past their rotation age."),
        ["tenancy.tasks.tenant_key_age_check"]),
    "customers-segments": (
        _("Customer segments"), _("Recomputes rule-based customer segments from the daily volume."),
        ["customers.tasks.segments_recompute"]),
    "customers-duplicates": (
        _("Duplicate customers"), _("Finds customers sharing a phone, ID or email, or a similar name in one city."),
        ["customers.tasks.duplicates_scan"]),
    "customers-import-sweep": (
        _("Customer imports"), _("Queues imports whose message was lost; wipes unconfirmed files after 7 days."),
        ["customers.import_tasks.customer_import_sweep"]),
    "customers-sales-reminders": (
        _("Sales reminders"), _("Reminds of overdue follow-ups and leads waiting for a first contact."),
        ["customers.tasks.sales_reminders_send"]),
    "shipments-exception-sweep": (
        _("Waybill exceptions"), _("Opens exception tickets for waybills without a scan or past the promised date."),
        ["shipments.tasks.exception_sweep"]),
    "tickets-sla-sweep": (
        _("SLA clocks"), _("Warns, marks breaches and escalates open tickets and claims."),
        ["tickets.tasks.sla_sweep_tenant"]),
    "tickets-outbound-sweep": (
        _("Reply delivery"), _("Sends again public replies whose delivery message was lost."),
        ["tickets.tasks.outbound_sweep"]),
    "penalties-ledger-checkpoints": (
        _("Ledger checkpoints"), _("Signs a checkpoint of the fine ledger when entries were added."),
        ["penalties.tasks.ledger_checkpoint_tenant"]),
    "penalties-ledger-verify": (
        _("Ledger verification"), _("Verifies the whole fine ledger chain."),
        ["penalties.tasks.ledger_verify_tenant"]),
    "penalties-detectors": (
        _("Fine detectors"), _("Proposes violations from tracking gaps, late complaints and reveal anomalies."),
        ["penalties.tasks.detectors_tenant", "penalties.tasks.verification_requests_sweep"]),
    "compliance-dsr-sweep": (
        _("Privacy request exports"), _("Queues data-subject exports whose build was lost or stopped."),
        ["compliance.tasks.dsr_exports_sweep"]),
    "compliance-dsr-reminders": (
        _("Privacy request reminders"), _("Reminds handlers of request clocks at risk or overdue."),
        ["compliance.tasks.dsr_clock_reminders"]),
    "compliance-retention": (
        _("Data retention"), _("Anonymises or deletes personal data past its retention period."),
        ["compliance.tasks.retention_run"]),
    "compliance-key-rotation-sweep": (
        _("Key rotations"), _("Resumes key rotations whose message was lost or whose worker stopped."),
        ["compliance.tasks.keys.key_rotation_sweep"]),
    "shipments-tracking-partitions": (
        _("Tracking partitions"), _("Creates the tracking-event partitions of the coming months."), []),
    "customers-churn-scan": (
        _("Churn scan"), _("Scores each customer's churn risk and opens retention tasks for new high risks."),
        ["customers.tasks.churn_scan"]),
    "tickets-survey-sweep": (
        _("Satisfaction surveys"), _("Sends CSAT and NPS surveys for closed tickets and delivered waybills."),
        ["tickets.tasks.survey_sweep"]),
    "reports-rollup": (
        _("Report rollups"), _("Refreshes the KPI tables behind the dashboards."),
        ["reports.tasks.rollup_refresh"]),
}
