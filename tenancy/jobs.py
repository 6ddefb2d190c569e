"""The registry of periodic jobs as people see them, read from the beat schedule and `JOBS` in
courier_crm/celery.py (one place, so the two cannot drift), with each job's schedule in words and
its next fire time in the schedule's time zone (CELERY_TIMEZONE)."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from celery.schedules import crontab
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext


@dataclass(frozen=True)
class PeriodicJob:
    key: str
    label: str
    description: str
    platform_task: str
    schedule: crontab
    tenant_tasks: tuple[str, ...]

    @property
    def schedule_text(self) -> str:
        return schedule_in_words(self.schedule)

    def next_run(self, now: dt.datetime | None = None) -> dt.datetime:
        return next_fire_time(self.schedule, now)


def periodic_jobs() -> list[PeriodicJob]:
    """Every beat entry, in schedule order, with its label and tenant tasks."""
    from courier_crm.celery import JOBS, app

    jobs = []
    for key, entry in app.conf.beat_schedule.items():
        label, description, tenant_tasks = JOBS[key]
        jobs.append(PeriodicJob(key=key, label=str(label), description=str(description),
                                platform_task=entry["task"], schedule=entry["schedule"],
                                tenant_tasks=tuple(tenant_tasks)))
    return jobs


def tenant_jobs() -> list[PeriodicJob]:
    """The jobs that do work per company (the ones its job-monitoring page shows)."""
    return [job for job in periodic_jobs() if job.tenant_tasks]


def tracked_task_names() -> list[str]:
    return [name for job in periodic_jobs() for name in job.tenant_tasks]


def next_fire_time(schedule: crontab, now: dt.datetime | None = None) -> dt.datetime:
    """The first time after `now` the crontab fires, as an aware datetime in the schedule's zone."""
    now = now or timezone.now()
    local_now = now.astimezone(schedule.tz)
    probe = crontab(minute=schedule._orig_minute, hour=schedule._orig_hour,
                    day_of_week=schedule._orig_day_of_week, day_of_month=schedule._orig_day_of_month,
                    month_of_year=schedule._orig_month_of_year, app=schedule.app, nowfun=lambda: local_now)
    return (local_now + probe.remaining_estimate(local_now)).replace(second=0, microsecond=0)


_EVERY = re.compile(r"^\*/(\d+)$")
_RANGE = re.compile(r"^(\d+)-(\d+)$")


def schedule_in_words(schedule: crontab) -> str:
    """"every 5 minutes", "daily at 02:40", "hourly at :25", "hourly at :05, 08:00–20:59" — and the
    crontab fields themselves for a shape not listed here."""
    minute, hour = str(schedule._orig_minute), str(schedule._orig_hour)
    rest = (str(schedule._orig_day_of_month), str(schedule._orig_month_of_year), str(schedule._orig_day_of_week))
    if rest == ("*", "*", "*"):
        every = _EVERY.match(minute)
        if every and hour == "*":
            n = int(every.group(1))
            return ngettext("every minute", "every %(n)d minutes", n) % {"n": n}
        if minute.isdigit() and hour.isdigit():
            return _("daily at %(time)s") % {"time": f"{int(hour):02d}:{int(minute):02d}"}
        if minute.isdigit() and hour == "*":
            return _("hourly at :%(minute)s") % {"minute": f"{int(minute):02d}"}
        hours = _RANGE.match(hour)
        if minute.isdigit() and hours:
            first, last = (int(h) for h in hours.groups())
            return _("hourly at :%(minute)s, %(first)s–%(last)s") % {
                "minute": f"{int(minute):02d}", "first": f"{first:02d}:00", "last": f"{last:02d}:59"}
    return _("cron %(fields)s") % {"fields": " ".join((minute, hour, *rest))}


class DeadLetterResolution(models.TextChoices):
    """How a tenant admin closed a dead letter (`DeadLetter.resolution`)."""

    RETRIED = "retried", _lazy("Sent again")
    DISMISSED = "dismissed", _lazy("Dismissed")
