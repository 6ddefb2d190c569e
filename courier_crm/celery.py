"""The Celery app and the one beat schedule of the project.

Every periodic job is declared here, in code, so the schedule is reviewed like code. Jobs that
work per tenant fan out from a platform task into one task per tenant carrying `tenant_id`.
"""
import os

from celery import Celery
from celery.schedules import crontab

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
}
