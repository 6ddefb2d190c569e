"""Reads of retention: each data class's policy as it stands today (period, version, the cut-off
it gives), the runs of the retention job, and the summary the compliance overview shows."""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tenancy.rules import Rule, rule_value_with_version

from .. import rules
from ..models import AccessLog, JobStatus, RetentionRun

MONTHS = "months"
DAYS = "days"

OPEN_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
FINISHED_STATUSES = (JobStatus.DONE, JobStatus.FAILED)

# Retention may never delete access-log rows younger than the database keeps them
# (AccessLog.purge_after): a shorter policy is applied as this many months, and the cut-off is
# also kept behind the database's own floor in days.
ACCESS_LOG_MIN_MONTHS = 6
ACCESS_LOG_FLOOR_DAYS = AccessLog.purge_after[1]


@dataclass(frozen=True)
class DataClass:
    key: str
    label: Promise
    rule: Rule
    unit: str
    action: Promise


DATA_CLASSES: tuple[DataClass, ...] = (
    DataClass("waybills", _("Waybill sender and receiver details"), rules.RETAIN_WAYBILL_RECEIVER_MONTHS, MONTHS,
              _("anonymised after delivery")),
    DataClass("tickets", _("Personal data of closed tickets"), rules.RETAIN_CLOSED_TICKET_MONTHS, MONTHS,
              _("anonymised after closing")),
    DataClass("access_log", _("Personal-data access log"), rules.RETAIN_ACCESS_LOG_MONTHS, MONTHS,
              _("deleted")),
    DataClass("import_files", _("Uploaded customer import files"), rules.RETAIN_IMPORT_FILE_DAYS, DAYS,
              _("file and row errors deleted after the import finished")),
    DataClass("dsr_exports", _("Data-subject access export files"), rules.RETAIN_DSR_EXPORT_DAYS, DAYS,
              _("file deleted after it was built")),
)
DATA_CLASS_KEYS = tuple(c.key for c in DATA_CLASSES)
UNIT_LABELS = {MONTHS: _("months"), DAYS: _("days")}


def data_class(key: str) -> DataClass:
    for item in DATA_CLASSES:
        if item.key == key:
            return item
    raise KeyError(key)


@dataclass(frozen=True)
class RetentionPolicy:
    """One data class's policy on a day. `cutoff` None means the class is switched off (period 0);
    `applied_period` differs from `period` only where a floor applies (the access log)."""

    key: str
    label: Promise
    action: Promise
    rule_key: str
    period: int
    unit: str
    version: str
    applied_period: int
    floored: bool
    cutoff: dt.datetime | None

    @property
    def unit_label(self) -> Promise:
        return UNIT_LABELS[self.unit]

    @property
    def since(self) -> dt.date | None:
        """The day the company's own setting took effect (None while the default applies)."""
        return None if self.version == "default" else dt.date.fromisoformat(self.version)

    @property
    def is_off(self) -> bool:
        return self.cutoff is None


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same local wall-clock time `months` calendar months earlier (the 31st of a shorter
    month becomes its last day)."""
    local = timezone.localtime(moment)
    index = local.year * 12 + (local.month - 1) - months
    year, month = divmod(index, 12)
    day = min(local.day, calendar.monthrange(year, month + 1)[1])
    return local.replace(year=year, month=month + 1, day=day)


def access_log_floor(now: dt.datetime) -> dt.datetime:
    """The youngest cut-off the database accepts for the access log. The database measures from
    its own clock, so a `now` in the future is not trusted beyond the real time."""
    return min(now, timezone.now()) - dt.timedelta(days=ACCESS_LOG_FLOOR_DAYS)


def _policy(item: DataClass, now: dt.datetime) -> RetentionPolicy:
    period, version = rule_value_with_version(item.rule, on=timezone.localdate(now))
    period = int(period)
    applied, floored, cutoff = period, False, None
    if period > 0:
        if item.unit == DAYS:
            cutoff = now - dt.timedelta(days=period)
        else:
            if item.key == "access_log" and period < ACCESS_LOG_MIN_MONTHS:
                applied, floored = ACCESS_LOG_MIN_MONTHS, True
            cutoff = months_before(now, applied)
        if item.key == "access_log":
            cutoff = min(cutoff, access_log_floor(now))
    return RetentionPolicy(key=item.key, label=item.label, action=item.action, rule_key=item.rule.key,
                           period=period, unit=item.unit, version=version, applied_period=applied, floored=floored,
                           cutoff=cutoff)


def retention_policies(*, now: dt.datetime | None = None) -> list[RetentionPolicy]:
    """Every data class's policy in force on `now`'s day (one rule read per class)."""
    now = now or timezone.now()
    return [_policy(item, now) for item in DATA_CLASSES]


def retention_runs() -> QuerySet[RetentionRun]:
    """The company's retention runs, newest first."""
    return RetentionRun.objects.select_related("requested_by").order_by("-started_at", "-id")


def retention_run_get(*, pk: int) -> RetentionRun:
    """A run of the current company (RetentionRun.DoesNotExist otherwise)."""
    return retention_runs().get(pk=pk)


def retention_open_run() -> RetentionRun | None:
    """The queued or running run, if any (the page polls it and offers no second "run now")."""
    return retention_runs().filter(status__in=OPEN_STATUSES).first()


def run_class_rows(run: RetentionRun) -> list[dict]:
    """A run's results per data class, in the classes' order, labelled (for pages and the API)."""
    rows = []
    for item in DATA_CLASSES:
        entry = (run.results or {}).get(item.key)
        if entry is None:
            continue
        cutoff = entry.get("cutoff")
        rows.append({
            "key": item.key, "label": item.label, "status": entry.get("status", ""),
            "period": entry.get("period"), "unit": entry.get("unit", item.unit),
            "unit_label": UNIT_LABELS.get(entry.get("unit", item.unit), ""),
            "applied_period": entry.get("applied_period"), "floored": bool(entry.get("floored")),
            "version": entry.get("version", ""),
            "cutoff": dt.datetime.fromisoformat(cutoff) if cutoff else None,
            "rows": entry.get("rows", 0), "batches": entry.get("batches", 0), "error": entry.get("error", ""),
        })
    return rows


SUMMARY_RUNS = 30


def retention_summary(*, now: dt.datetime | None = None) -> dict:
    """For the compliance overview: the open run, the last run, and per data class its policy and
    the last run that worked on it (when, rows changed, status) — one query for the runs plus one
    rule read per class."""
    runs = list(retention_runs()[:SUMMARY_RUNS])
    policies = retention_policies(now=now)
    classes = []
    for policy in policies:
        last = None
        for run in runs:
            entry = (run.results or {}).get(policy.key)
            if entry and entry.get("status") in ("done", "failed", "off"):
                last = {"run": run, "at": run.finished_at or run.started_at, "rows": entry.get("rows", 0),
                        "status": entry.get("status"), "error": entry.get("error", "")}
                break
        classes.append({"key": policy.key, "label": policy.label, "policy": policy, "last": last})
    return {
        "open_run": next((r for r in runs if r.status in OPEN_STATUSES), None),
        "last_run": next((r for r in runs if r.status in FINISHED_STATUSES), None),
        "classes": classes,
    }
