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
}
