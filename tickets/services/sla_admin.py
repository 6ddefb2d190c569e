"""The service-desk admin's writes of SLA set-up: business calendars with their dated days
(holidays, make-up working days) and SLA policies. Every field error names its field."""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterable, Iterator

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from tenancy.models import User
from tenancy.services import require_perm

from ..models import BusinessCalendar, CalendarDay, SlaClock, SlaPolicy, TicketCategory, TicketPriority

MANAGE_PERM = "tickets.manage_service_desk"
# Longest target a policy may set: a year of minutes (on either clock).
MAX_TARGET_MINUTES = 366 * 24 * 60

# --- calendars and their days ----------------------------------------------------------------------

def _zone(value: str) -> str:
    value = (value or "").strip()
    if value not in _time_zones():
        raise ValidationError({"time_zone": _("Unknown time zone (use a name like Asia/Shanghai).")})
    return value


@contextlib.contextmanager
def _field_errors() -> Iterator[dict]:
    errors: dict[str, list[str]] = {}
    yield errors
    if errors:
        raise ValidationError(errors)


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _validated_calendar(*, name, time_zone, workdays, work_start, work_end, break_start, break_end,
                        exclude_pk=None) -> dict:
    data = {"name": (name or "").strip()}
    with _field_errors() as errors:
        try:
            data["workdays"] = sorted({int(d) for d in (workdays or ())})
        except (TypeError, ValueError):
            data["workdays"] = []
        if not data["name"]:
            errors["name"] = [_("Give the calendar a name.")]
        elif len(data["name"]) > 80:
            errors["name"] = [_("At most 80 characters.")]
        elif BusinessCalendar.objects.filter(name=data["name"]).exclude(pk=exclude_pk).exists():
            errors["name"] = [_("Another calendar has this name.")]
        try:
            data["time_zone"] = _zone(time_zone)
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if not data["workdays"] or not set(data["workdays"]) <= set(range(1, 8)):
            errors["workdays"] = [_("Choose the working weekdays (Monday to Sunday).")]
        if work_start is None:
            errors["work_start"] = [_("Enter when work starts.")]
        if work_end is None:
            errors["work_end"] = [_("Enter when work ends.")]
        elif work_start is not None and work_end <= work_start:
            errors["work_end"] = [_("Work must end after it starts (on the same day).")]
        if (break_start is None) != (break_end is None):
            errors["break_end" if break_end is None else "break_start"] = [
                _("Enter both the start and the end of the break, or neither.")]
        elif break_start is not None:
            if break_end <= break_start:
                errors["break_end"] = [_("The break must end after it starts.")]
            elif work_start is not None and work_end is not None and not (
                    work_start <= break_start and break_end <= work_end):
                errors["break_start"] = [_("The break must lie within the working hours.")]
    data.update(work_start=work_start, work_end=work_end, break_start=break_start, break_end=break_end)
    return data


def calendar_create(*, actor: User, name: str, time_zone: str, workdays: Iterable[int], work_start: dt.time,
                    work_end: dt.time, break_start: dt.time | None = None, break_end: dt.time | None = None,
                    is_default: bool = False) -> BusinessCalendar:
    """A new business calendar; made the default, it takes over from the previous default."""
    require_perm(actor, MANAGE_PERM)
    data = _validated_calendar(name=name, time_zone=time_zone, workdays=workdays, work_start=work_start,
                               work_end=work_end, break_start=break_start, break_end=break_end)
    with transaction.atomic():
        current = BusinessCalendar.objects.select_for_update().filter(is_default=True).first()
        is_default = bool(is_default) or current is None
        if is_default and current is not None:
            current.is_default = False
            current.save(update_fields=["is_default"])
        return BusinessCalendar.objects.create(is_default=is_default, **data)


def calendar_update(*, actor: User, calendar: BusinessCalendar, name: str, time_zone: str, workdays: Iterable[int],
                    work_start: dt.time, work_end: dt.time, break_start: dt.time | None = None,
                    break_end: dt.time | None = None, is_default: bool = False) -> BusinessCalendar:
    """Change a calendar. Due times already set on tickets stay; new clocks use the change."""
    require_perm(actor, MANAGE_PERM)
    data = _validated_calendar(name=name, time_zone=time_zone, workdays=workdays, work_start=work_start,
                               work_end=work_end, break_start=break_start, break_end=break_end,
                               exclude_pk=calendar.pk)
    with transaction.atomic():
        calendar = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
        if calendar.is_default and not is_default:
            raise ValidationError({"is_default": _(
                "The company needs a default calendar: make another calendar the default instead.")})
        if is_default and not calendar.is_default:
            BusinessCalendar.objects.select_for_update().filter(is_default=True).update(is_default=False)
        for key, value in data.items():
            setattr(calendar, key, value)
        calendar.is_default = bool(is_default)
        calendar.save()
    return calendar


def calendar_delete(*, actor: User, calendar: BusinessCalendar) -> None:
    """Remove a calendar that is neither the default nor used by a policy."""
    require_perm(actor, MANAGE_PERM)
    with transaction.atomic():
        calendar = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
        if calendar.is_default:
            raise ValidationError({"is_default": _("The default calendar cannot be removed.")})
        if SlaPolicy.objects.filter(calendar=calendar).exists():
            raise ValidationError({"calendar": _("SLA policies use this calendar: change them first.")})
        calendar.delete()


def calendar_day_add(*, actor: User, calendar: BusinessCalendar, date: dt.date, is_working: bool,
                     name: str = "") -> CalendarDay:
    """A holiday (is_working False) or a make-up working day (True) on one date."""
    require_perm(actor, MANAGE_PERM)
    name = (name or "").strip()
    with _field_errors() as errors:
        if not isinstance(date, dt.date):
            errors["date"] = [_("Enter a date.")]
        elif not dt.date(2000, 1, 1) <= date <= dt.date(2100, 12, 31):
            errors["date"] = [_("Enter a date between 2000 and 2100.")]
        elif CalendarDay.objects.filter(calendar=calendar, date=date).exists():
            errors["date"] = [_("This date is already on the calendar; remove it first to change it.")]
        else:
            weekly = date.isoweekday() in (calendar.workdays or ())
            if bool(is_working) == weekly:
                errors["is_working"] = [_("This date is a working day by the weekly pattern anyway.") if weekly
                                        else _("This date is a day off by the weekly pattern anyway.")]
        if len(name) > 80:
            errors["name"] = [_("At most 80 characters.")]
    try:
        with transaction.atomic():
            return CalendarDay.objects.create(calendar=calendar, date=date, is_working=bool(is_working), name=name)
    except IntegrityError as exc:  # the same date added at the same moment by someone else
        raise ValidationError({"date": _("This date is already on the calendar.")}) from exc


def calendar_day_remove(*, actor: User, day: CalendarDay) -> None:
    require_perm(actor, MANAGE_PERM)
    CalendarDay.objects.filter(pk=day.pk).delete()


# --- policies --------------------------------------------------------------------

def _validated_policy(*, name, category, priority, contract, calendar, first_response_minutes,
                      first_response_clock, resolution_minutes, resolution_clock, is_active, exclude_pk=None) -> dict:
    data = {"name": (name or "").strip(), "category": category or "", "priority": priority or "",
            "contract": contract, "calendar": calendar, "first_response_clock": first_response_clock,
            "resolution_clock": resolution_clock, "is_active": bool(is_active)}
    with _field_errors() as errors:
        if not data["name"]:
            errors["name"] = [_("Give the policy a name.")]
        elif len(data["name"]) > 80:
            errors["name"] = [_("At most 80 characters.")]
        if data["category"] not in ("", *TicketCategory.values):
            errors["category"] = [_("Unknown category.")]
        if data["priority"] not in ("", *TicketPriority.values):
            errors["priority"] = [_("Unknown priority.")]
        for field, value in (("first_response_minutes", first_response_minutes),
                             ("resolution_minutes", resolution_minutes)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TARGET_MINUTES:
                errors[field] = [_("Enter whole minutes from 1 to %(max)d.") % {"max": MAX_TARGET_MINUTES}]
            else:
                data[field] = value
        for field in ("first_response_clock", "resolution_clock"):
            if data[field] not in SlaClock.values:
                errors[field] = [_("Choose working time or calendar time.")]
        if ("first_response_minutes" in data and "resolution_minutes" in data
                and first_response_clock == resolution_clock and resolution_minutes < first_response_minutes):
            errors["resolution_minutes"] = [_("On the same clock, resolving cannot take less time than the "
                                              "first response.")]
        if data["is_active"] and "category" not in errors and "priority" not in errors:
            clash = (SlaPolicy.objects.filter(is_active=True, category=data["category"], priority=data["priority"],
                                              contract=contract).exclude(pk=exclude_pk).first())
            if clash is not None:
                errors["category"] = [_("The active policy “%(name)s” already covers this category, priority and "
                                        "contract; change or deactivate it first.") % {"name": clash.name}]
    return data


def sla_policy_create(*, actor: User, name: str, first_response_minutes: int, resolution_minutes: int,
                      category: str = "", priority: str = "", contract=None, calendar: BusinessCalendar | None = None,
                      first_response_clock: str = SlaClock.BUSINESS, resolution_clock: str = SlaClock.CALENDAR,
                      is_active: bool = True) -> SlaPolicy:
    """A new SLA policy (empty category / priority / contract = any; no calendar = the default).
    New tickets use it; tickets already open keep their clocks until recomputed."""
    require_perm(actor, MANAGE_PERM)
    data = _validated_policy(name=name, category=category, priority=priority, contract=contract, calendar=calendar,
                             first_response_minutes=first_response_minutes, first_response_clock=first_response_clock,
                             resolution_minutes=resolution_minutes, resolution_clock=resolution_clock,
                             is_active=is_active)
    try:
        with transaction.atomic():
            return SlaPolicy.objects.create(**data)
    except IntegrityError as exc:
        raise ValidationError({"category": _("An active policy already covers this category, priority and "
                                             "contract.")}) from exc


def sla_policy_update(*, actor: User, policy: SlaPolicy, name: str, first_response_minutes: int,
                      resolution_minutes: int, category: str = "", priority: str = "", contract=None,
                      calendar: BusinessCalendar | None = None, first_response_clock: str = SlaClock.BUSINESS,
                      resolution_clock: str = SlaClock.CALENDAR, is_active: bool = True) -> SlaPolicy:
    """Change (or deactivate) a policy; all fields are given."""
    require_perm(actor, MANAGE_PERM)
    data = _validated_policy(name=name, category=category, priority=priority, contract=contract, calendar=calendar,
                             first_response_minutes=first_response_minutes, first_response_clock=first_response_clock,
                             resolution_minutes=resolution_minutes, resolution_clock=resolution_clock,
                             is_active=is_active, exclude_pk=policy.pk)
    try:
        with transaction.atomic():
            policy = SlaPolicy.objects.select_for_update().get(pk=policy.pk)
            for key, value in data.items():
                setattr(policy, key, value)
            policy.save()
    except IntegrityError as exc:
        raise ValidationError({"category": _("An active policy already covers this category, priority and "
                                             "contract.")}) from exc
    return policy
