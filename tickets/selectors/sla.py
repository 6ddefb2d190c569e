"""Reads of SLA set-up and SLA results: the admin's lists, a ticket's clock for screens, and the
breach rates of the dashboards (tickets opened in a period, per team or per branch)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from tenancy.models import Branch, Membership

from .. import rules
from ..models import (
    DONE_STATUSES,
    BusinessCalendar,
    CalendarDay,
    ExceptionKind,
    SlaPolicy,
    Team,
    Ticket,
    TicketCategory,
)
from .exceptions import reach_of

GROUPS = ("team", "branch")


# --- the admin's lists -----------------------------------------------------------------------------

def sla_policy_list(*, active: bool | None = None, category: str = "", priority: str = "") -> QuerySet[SlaPolicy]:
    """Policies with their contract (and its account) and calendar, most general first."""
    qs = SlaPolicy.objects.select_related("contract__customer", "calendar")
    if active is not None:
        qs = qs.filter(is_active=active)
    if category:
        qs = qs.filter(category=category)
    if priority:
        qs = qs.filter(priority=priority)
    return qs.order_by("-is_active", "contract_id", "category", "priority", "id")


def sla_policy_get(*, pk: int) -> SlaPolicy:
    return get_object_or_404(SlaPolicy.objects.select_related("contract__customer", "calendar"), pk=pk)


def calendar_list() -> QuerySet[BusinessCalendar]:
    """Calendars (default first) with how many dated days and policies each has."""
    return (BusinessCalendar.objects.annotate(day_count=Count("days", distinct=True),
                                              policy_count=Count("policies", distinct=True))
            .order_by("-is_default", "name", "id"))


def calendar_get(*, pk: int) -> BusinessCalendar:
    return get_object_or_404(BusinessCalendar.objects.all(), pk=pk)


def calendar_days(*, calendar_id: int, year: int | None = None) -> QuerySet[CalendarDay]:
    qs = CalendarDay.objects.filter(calendar_id=calendar_id)
    if year:
        qs = qs.filter(date__year=year)
    return qs.order_by("date", "id")


def calendar_years(*, calendar_id: int) -> list[int]:
    """The years that have dated days on a calendar, newest first."""
    return sorted({d.year for d in CalendarDay.objects.filter(calendar_id=calendar_id)
                   .values_list("date", flat=True)}, reverse=True)


# --- one ticket's clock, for screens ---------------------------------------------------------------

@dataclass(frozen=True)
class ClockState:
    """The state of one SLA target of a ticket.

    state: "none" (no target), "ok", "amber" (less than SLA_AMBER_PERCENT of its time left),
    "red" (overdue, or recorded as breached), "paused" (waiting for the customer), "met" (done;
    `breached` says whether it was late). `left` is the wall-clock time to the due time (negative
    when overdue; frozen while paused); `percent_used` the share of the wall-clock time from
    opening to due that has passed (0–100+; an approximation for working-time clocks)."""

    target: str
    state: str
    due: dt.datetime | None
    left: dt.timedelta | None
    percent_used: int | None
    breached: bool

    @property
    def seconds_left(self) -> int | None:
        return None if self.left is None else int(self.left.total_seconds())


def _clock_state(ticket: Ticket, target: str, now: dt.datetime, amber: int) -> ClockState:
    due = getattr(ticket, f"{target}_due")
    breached = bool(getattr(ticket, f"{target}_breached"))
    met = (ticket.first_responded_at is not None if target == "first_response"
           else ticket.status in DONE_STATUSES)
    if due is None:
        return ClockState(target, "none", None, None, None, breached)
    if met:
        return ClockState(target, "met", due, None, None, breached)
    at = ticket.sla_paused_at or now
    left = due - at
    total = (due - ticket.created_at).total_seconds() if ticket.created_at else 0
    used = (at - ticket.created_at).total_seconds() if ticket.created_at else 0
    percent = int(used * 100 // total) if total > 0 else 100
    if ticket.sla_paused_at is not None:
        state = "paused"
    elif breached or left.total_seconds() < 0:
        state = "red"
    elif total > 0 and left.total_seconds() * 100 < total * amber:
        state = "amber"
    else:
        state = "ok"
    return ClockState(target, state, due, left, max(percent, 0), breached)


def sla_state(ticket: Ticket, now: dt.datetime, *, target: str | None = None,
              amber_percent: int | None = None) -> ClockState:
    """The clock a screen shows for a ticket: the first response until it is given, then the
    resolution (or the `target` asked for). Pass `amber_percent` when showing many tickets,
    so the rule is read once (`sla_states` does)."""
    amber = rules.SLA_AMBER_PERCENT.value() if amber_percent is None else amber_percent
    if target is None:
        target = "first_response" if ticket.first_responded_at is None and ticket.first_response_due else "resolution"
    return _clock_state(ticket, target, now, amber)


def sla_states(tickets: list[Ticket], now: dt.datetime) -> list[Ticket]:
    """Set `.sla_clock` (a ClockState) on each ticket of a list; reads the amber rule once."""
    amber = rules.SLA_AMBER_PERCENT.value()
    for ticket in tickets:
        ticket.sla_clock = sla_state(ticket, now, amber_percent=amber)
    return tickets


# --- breach rates for the dashboards -----------------------------------------------------------------

@dataclass(frozen=True)
class BreachRate:
    key: int | None          # team or branch id; None = no team / no branch
    name: str
    total: int
    first_response_breaches: int
    resolution_breaches: int

    @staticmethod
    def _rate(count: int, total: int) -> Decimal | None:
        if not total:
            return None
        return (Decimal(count) * 100 / Decimal(total)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def first_response_rate(self) -> Decimal | None:
        """Percent of the tickets whose first response was late (one decimal)."""
        return self._rate(self.first_response_breaches, self.total)

    @property
    def resolution_rate(self) -> Decimal | None:
        return self._rate(self.resolution_breaches, self.total)

    def as_dict(self) -> dict:
        return {"key": self.key, "name": self.name, "total": self.total,
                "first_response_breaches": self.first_response_breaches,
                "resolution_breaches": self.resolution_breaches,
                "first_response_rate": self.first_response_rate, "resolution_rate": self.resolution_rate}


@dataclass(frozen=True)
class BreachRates:
    group_by: str
    start: dt.datetime
    end: dt.datetime
    rows: list[BreachRate]
    total: BreachRate


def sla_breach_rates(*, start: dt.datetime, end: dt.datetime, group_by: str = "team",
                     membership: Membership | None = None) -> BreachRates:
    """Tickets opened in [start, end) per team or branch: how many, how many answered late
    (first response) and resolved late, as counts and percentages. A branch manager's figures
    cover their branch subtree. One grouped query plus the names."""
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {GROUPS}")
    qs = Ticket.objects.filter(created_at__gte=start, created_at__lt=end)
    branch = reach_of(membership)
    if branch is not None:
        qs = qs.filter(branch__path__startswith=branch.path)
    field = f"{group_by}_id"
    counts = list(qs.order_by().values(field).annotate(
        total=Count("id"), fr=Count("id", filter=Q(first_response_breached=True)),
        rs=Count("id", filter=Q(resolution_breached=True))))
    model = Team if group_by == "team" else Branch
    ids = [row[field] for row in counts if row[field] is not None]
    names = dict(model.objects.filter(pk__in=ids).values_list("pk", "name"))
    nobody = _("No team") if group_by == "team" else _("No branch")
    rows = sorted((BreachRate(row[field], names.get(row[field], nobody) if row[field] else nobody, row["total"],
                              row["fr"], row["rs"]) for row in counts),
                  key=lambda r: (r.key is None, r.name, r.key or 0))
    total = BreachRate(None, _("All"), sum(r.total for r in rows), sum(r.first_response_breaches for r in rows),
                       sum(r.resolution_breaches for r in rows))
    return BreachRates(group_by=group_by, start=start, end=end, rows=rows, total=total)


# --- facts the fines detectors read (penalties.services.detectors) -------------------------------------

def tracking_gap_tickets(*, since):
    """Exception tickets the system opened because a parcel in transit went without a scan too long
    (the shipments exception rule), opened since `since`, with their branch and waybill."""
    return (Ticket.objects.filter(exception_kind=ExceptionKind.NO_SCAN, created_at__gte=since,
                                  branch__isnull=False)
            .select_related("branch", "waybill").order_by("created_at", "id"))


def overdue_complaints(*, since):
    """Complaints whose resolution clock (7 days by default, tickets SLA) ran out since `since`."""
    return (Ticket.objects.filter(category=TicketCategory.COMPLAINT, resolution_breached=True,
                                  resolution_due__gte=since)
            .select_related("branch", "assignee__branch", "waybill").order_by("resolution_due", "id"))
