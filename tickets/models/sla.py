"""SLA policies and the business calendars their working-time clocks count in."""
from __future__ import annotations

import datetime as dt

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantScopedModel

from .tickets import TicketCategory, TicketPriority


class BusinessCalendar(TenantScopedModel):
    """Working hours on working weekdays in one time zone, with dated exceptions (public
    holidays off, and the weekend days China makes working days around them)."""

    name = models.CharField(_("name"), max_length=80)
    time_zone = models.CharField(_("time zone"), max_length=40, default="Asia/Shanghai")
    # ISO weekdays: 1 = Monday … 7 = Sunday.
    workdays = ArrayField(models.PositiveSmallIntegerField(), default=list, verbose_name=_("working weekdays"))
    work_start = models.TimeField(_("work starts"), default=dt.time(9, 0))
    work_end = models.TimeField(_("work ends"), default=dt.time(18, 0))
    # Optional break (lunch) inside the working hours; the clock stops during it.
    break_start = models.TimeField(_("break starts"), null=True, blank=True)
    break_end = models.TimeField(_("break ends"), null=True, blank=True)
    is_default = models.BooleanField(_("default calendar"), default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["-is_default", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant"], condition=Q(is_default=True), name="calendar_one_default"),
            models.CheckConstraint(condition=Q(work_end__gt=F("work_start")), name="calendar_hours_valid"),
            models.CheckConstraint(
                condition=Q(break_start__isnull=True, break_end__isnull=True)
                | Q(break_start__isnull=False, break_end__isnull=False, break_end__gt=F("break_start"),
                    break_start__gte=F("work_start"), break_end__lte=F("work_end")),
                name="calendar_break_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class CalendarDay(TenantScopedModel):
    """A date that differs from the weekly pattern: a holiday (not working) or a make-up
    working day (调休)."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="days",
                                 verbose_name=_("calendar"))
    date = models.DateField(_("date"))
    is_working = models.BooleanField(_("working day"), default=False)
    name = models.CharField(_("name"), max_length=80, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["tenant", "calendar", "date"], name="calendarday_once")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class SlaClock(models.TextChoices):
    BUSINESS = "business", _("Working time")
    CALENDAR = "calendar", _("Calendar time")


class SlaPolicy(TenantScopedModel):
    """First-response and resolution targets for tickets of a category and priority (empty =
    any), optionally only for one B-end contract. The most specific active policy wins."""

    name = models.CharField(_("name"), max_length=80)
    category = models.CharField(_("category"), max_length=20, choices=TicketCategory.choices, blank=True)
    priority = models.CharField(_("priority"), max_length=10, choices=TicketPriority.choices, blank=True)
    contract = models.ForeignKey("customers.Contract", on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="sla_policies", verbose_name=_("only for contract"))
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="policies", verbose_name=_("calendar (empty: the default)"))
    first_response_minutes = models.PositiveIntegerField(_("first response within (minutes)"))
    first_response_clock = models.CharField(_("first response clock"), max_length=10, choices=SlaClock.choices,
                                            default=SlaClock.BUSINESS)
    resolution_minutes = models.PositiveIntegerField(_("resolve within (minutes)"))
    resolution_clock = models.CharField(_("resolution clock"), max_length=10, choices=SlaClock.choices,
                                        default=SlaClock.CALENDAR)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["category", "priority", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "category", "priority", "contract"], nulls_distinct=False,
                                    condition=Q(is_active=True), name="slapolicy_one_active_per_key"),
            models.CheckConstraint(condition=Q(first_response_minutes__gt=0, resolution_minutes__gt=0),
                                   name="slapolicy_targets_positive"),
        ]

    def __str__(self) -> str:
        return self.name
