"""SLA clocks of tickets (DOMAIN.md §3, ARCHITECTURE.md §5): which policy applies, the due and
warning times, pausing while waiting for the customer, the periodic sweep that warns, marks
breaches and escalates, the tenant's default calendar and policies, and the admin's writes.

Policy choice. The most specific *active* policy wins: one for a contract in force of the
ticket's customer (on the day the clock starts) > category + priority > category > priority >
the catch-all (empty category and priority); inside the contract level the same order applies.
Without any matching policy the tickets rules apply (FIRST_RESPONSE_MINUTES, or
URGENT_FIRST_RESPONSE_MINUTES for urgent tickets, and RESOLUTION_HOURS), counted on the calendar
clock like the exception tickets always were.

Clocks. A policy's target counts on the "business" clock (working time of its calendar, or of
the tenant's default calendar; Mon–Fri 9–18 with lunch when the tenant has none) or on the
"calendar" clock (every second). A warning is due at SLA_WARN_PERCENT of a target, in the
target's own measure.

Pauses. `sla_pause` stops the clocks (sets `sla_paused_at`); `sla_resume` moves every due and
warning time that is still ahead of the pause (of targets not met yet) by the clock time the
pause lasted, in each clock's own measure — working minutes for a business clock (a pause over a
weekend costs nothing), real minutes for a calendar clock. The ticket's timeline is the record
of pauses: `sla_recompute` re-derives the targets from `created_at` and re-applies every
completed pause found in it (status events into and out of waiting_customer), so the credit a
pause granted survives a change of priority or category, measured in the new policy's clocks.

The sweep lives in `sla_sweep.py`, the admin's writes (calendars, days, policies) in
`sla_admin.py`; both are re-exported here so every SLA service has one import path:
`from tickets.services.sla import …`.
"""
from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import rules
from ..calendars import CalendarTime, Clock, standard_working_time, working_time_for
from ..models import (
    DONE_STATUSES,
    BusinessCalendar,
    CalendarDay,
    SlaClock,
    SlaPolicy,
    Ticket,
    TicketCategory,
    TicketEvent,
    TicketEventKind,
    TicketPriority,
    TicketStatus,
)
from .sla_admin import (
    MANAGE_PERM,
    MAX_TARGET_MINUTES,
    calendar_create,
    calendar_day_add,
    calendar_day_remove,
    calendar_delete,
    calendar_update,
    sla_policy_create,
    sla_policy_update,
)
from .sla_sweep import SweepResult, sla_sweep

FIRST_RESPONSE, RESOLUTION = "first_response", "resolution"


# --- policy choice and due times -----------------------------------------------------------------

@dataclass(frozen=True)
class SlaDues:
    policy_id: int | None
    first_response_due: dt.datetime
    resolution_due: dt.datetime
    first_response_warn_at: dt.datetime
    resolution_warn_at: dt.datetime


@dataclass(frozen=True)
class SlaRequest:
    """One ticket's clock start, for `sla_dues_many`."""

    category: str
    priority: str
    customer_id: int | None
    start: dt.datetime


@dataclass(frozen=True)
class _Targets:
    policy_id: int | None
    calendar_id: int | None
    first_minutes: int
    first_clock: str
    resolution_minutes: int
    resolution_clock: str


def _specificity(policy: SlaPolicy) -> tuple[bool, int]:
    both = bool(policy.category) and bool(policy.priority)
    return policy.contract_id is not None, 3 if both else 2 if policy.category else 1 if policy.priority else 0


class _Resolver:
    """Reads what the dues need once (the active policies, contracts in force per customer,
    calendars with their days, the warning share) and remembers each answer, so many tickets
    cost a handful of queries. Lives for one call (or one `sla_batch()` block)."""

    def __init__(self):
        self._policies: list[SlaPolicy] | None = None
        self._contracts: dict[tuple[int, dt.date], frozenset[int]] = {}
        self._calendars: dict[int | None, BusinessCalendar | None] = {}
        self._clocks: dict[tuple[str, int | None], Clock] = {}
        self._warn: dict[dt.date, int] = {}
        self._chosen: dict[tuple, SlaPolicy | None] = {}
        self._dues: dict[tuple, SlaDues] = {}

    def policies(self) -> list[SlaPolicy]:
        if self._policies is None:
            self._policies = list(SlaPolicy.objects.filter(is_active=True).order_by("id"))
        return self._policies

    def contracts_in_force(self, customer_id: int | None, on: dt.date) -> frozenset[int]:
        if not customer_id or not any(p.contract_id for p in self.policies()):
            return frozenset()
        key = (customer_id, on)
        if key not in self._contracts:
            from customers.models import Contract, ContractStatus

            self._contracts[key] = frozenset(Contract.objects.filter(
                customer_id=customer_id, status=ContractStatus.ACTIVE, start_date__lte=on, end_date__gte=on,
            ).values_list("id", flat=True))
        return self._contracts[key]

    def policy_for(self, category: str, priority: str, customer_id: int | None, on: dt.date) -> SlaPolicy | None:
        key = (category, priority, customer_id, on)
        if key not in self._chosen:
            contracts = self.contracts_in_force(customer_id, on)
            candidates = [p for p in self.policies()
                          if p.category in ("", category) and p.priority in ("", priority)
                          and (p.contract_id is None or p.contract_id in contracts)]
            # Most specific first; among equals the oldest policy (lowest id) — deterministic.
            self._chosen[key] = max(candidates, key=lambda p: (_specificity(p), -p.pk), default=None)
        return self._chosen[key]

    def calendar(self, calendar_id: int | None) -> BusinessCalendar | None:
        """A calendar by id, or (None) the tenant's default one; None when there is none."""
        if calendar_id not in self._calendars:
            qs = BusinessCalendar.objects.all()
            self._calendars[calendar_id] = (qs.filter(pk=calendar_id) if calendar_id else
                                            qs.filter(is_default=True)).first()
        return self._calendars[calendar_id]

    def clock(self, kind: str, calendar_id: int | None) -> Clock:
        key = (kind, calendar_id)
        if key not in self._clocks:
            calendar = self.calendar(calendar_id)
            zone = calendar.time_zone if calendar else settings.TIME_ZONE
            clock = None
            if kind != SlaClock.CALENDAR:
                clock = working_time_for(calendar) if calendar else standard_working_time()
            # A calendar without any working time (the admin pages refuse one, the database
            # does not) counts real time rather than never coming due.
            self._clocks[key] = CalendarTime(zone) if clock is None or clock.is_empty else clock
        return self._clocks[key]

    def warn_percent(self, on: dt.date) -> int:
        if on not in self._warn:
            self._warn[on] = rules.SLA_WARN_PERCENT.value(on=on)
        return self._warn[on]

    def targets(self, category: str, priority: str, customer_id: int | None, on: dt.date) -> _Targets:
        policy = self.policy_for(category, priority, customer_id, on)
        if policy is not None:
            return _Targets(policy.pk, policy.calendar_id, policy.first_response_minutes,
                            policy.first_response_clock, policy.resolution_minutes, policy.resolution_clock)
        first = (rules.URGENT_FIRST_RESPONSE_MINUTES if priority == TicketPriority.URGENT
                 else rules.FIRST_RESPONSE_MINUTES).value(on=on)
        return _Targets(None, None, first, SlaClock.CALENDAR, rules.RESOLUTION_HOURS.value(on=on) * 60,
                        SlaClock.CALENDAR)

    def dues(self, category: str, priority: str, customer_id: int | None, start: dt.datetime) -> SlaDues:
        key = (category, priority, customer_id, start)
        if key not in self._dues:
            on = timezone.localdate(start)
            targets = self.targets(category, priority, customer_id, on)
            percent = self.warn_percent(on)
            first = _due_and_warning(self.clock(targets.first_clock, targets.calendar_id), start,
                                     targets.first_minutes, percent)
            resolution = _due_and_warning(self.clock(targets.resolution_clock, targets.calendar_id), start,
                                          targets.resolution_minutes, percent)
            self._dues[key] = SlaDues(policy_id=targets.policy_id, first_response_due=first[0],
                                      resolution_due=resolution[0], first_response_warn_at=first[1],
                                      resolution_warn_at=resolution[1])
        return self._dues[key]


def _due_and_warning(clock: Clock, start: dt.datetime, minutes: int, percent: int) -> tuple[dt.datetime, dt.datetime]:
    due = clock.add(start, minutes)
    # Whole seconds of the warning share: exact, whatever the percentage.
    warn = clock.add_delta(start, dt.timedelta(seconds=minutes * 60 * percent // 100))
    return due, warn


_batch: ContextVar[_Resolver | None] = ContextVar("tickets_sla_batch", default=None)


@contextlib.contextmanager
def sla_batch() -> Iterator[None]:
    """Inside this block `sla_policy_for` / `sla_dues_for` share what they read (policies,
    calendars, rules) and remember their answers: for code that opens many tickets at once.
    Policies or calendars changed inside the block are not seen by it."""
    token = _batch.set(_batch.get() or _Resolver())
    try:
        yield
    finally:
        _batch.reset(token)


def _resolver() -> _Resolver:
    return _batch.get() or _Resolver()


def sla_policy_for(*, category: str, priority: str, customer_id: int | None = None,
                   on: dt.date | None = None) -> SlaPolicy | None:
    """The most specific active policy for a ticket of this category, priority and customer on
    day `on` (default today), or None when the tenant has none that matches."""
    return _resolver().policy_for(category or "", priority or "", customer_id, on or timezone.localdate())


def sla_dues_for(*, category: str, priority: str, customer_id: int | None, start: dt.datetime) -> SlaDues:
    """Due and warning times of a ticket whose clocks start at `start` (policy or rules).
    A few queries per call; for many tickets use `sla_dues_many` or a `sla_batch()` block."""
    return _resolver().dues(category or "", priority or "", customer_id, start)


def sla_dues_many(requests: Sequence[SlaRequest]) -> list[SlaDues]:
    """`sla_dues_for` of many tickets in one go (same order); identical requests are computed once
    and policies, contracts and calendars are read once."""
    resolver = _batch.get() or _Resolver()
    return [resolver.dues(r.category or "", r.priority or "", r.customer_id, r.start) for r in requests]


# --- one ticket's clocks (called by the ticket services under the row lock) ----------------------

def _apply(ticket: Ticket, dues: SlaDues) -> None:
    ticket.sla_policy_id = dues.policy_id
    ticket.first_response_due = dues.first_response_due
    ticket.first_response_warn_at = dues.first_response_warn_at
    ticket.resolution_due = dues.resolution_due
    ticket.resolution_warn_at = dues.resolution_warn_at


def sla_start(ticket: Ticket, *, now: dt.datetime) -> Ticket:
    """Set the policy, due and warning times of a new ticket; its clocks start at `created_at`
    (or `now` when that is not set yet). Changes the instance only."""
    if ticket.created_at is None:
        ticket.created_at = now
    _apply(ticket, sla_dues_for(category=ticket.category, priority=ticket.priority,
                                customer_id=ticket.customer_id, start=ticket.created_at))
    ticket.sla_paused_at = None
    ticket.first_response_warned = ticket.resolution_warned = False
    ticket.first_response_breached = ticket.resolution_breached = False
    return ticket


def _pauses(ticket: Ticket) -> list[tuple[dt.datetime, dt.datetime]]:
    """Completed waiting-for-customer periods of a ticket, from its timeline, oldest first."""
    waiting = TicketStatus.WAITING_CUSTOMER
    events = (TicketEvent.objects.filter(ticket_id=ticket.pk, kind=TicketEventKind.STATUS)
              .filter(Q(to_status=waiting) | Q(from_status=waiting))
              .order_by("created_at", "id").values_list("from_status", "to_status", "created_at"))
    pauses, began = [], None
    for from_status, to_status, at in events:
        if to_status == TicketStatus.WAITING_CUSTOMER and began is None:
            began = at
        elif from_status == TicketStatus.WAITING_CUSTOMER and began is not None:
            if at > began:
                pauses.append((began, at))
            began = None
    return pauses


def _shift(clock: Clock, moment: dt.datetime | None, paused_at: dt.datetime, credit: dt.timedelta):
    """A due or warning time still ahead when the clock stopped moves by the pause's clock time."""
    if moment is None or moment <= paused_at or credit <= dt.timedelta(0):
        return moment
    return clock.add_delta(moment, credit)


def sla_recompute(ticket: Ticket, *, now: dt.datetime) -> Ticket:
    """Re-evaluate the targets after a change of priority or category (instance only).

    Targets not met yet are derived again from `created_at` under the policy that now applies,
    then every completed pause of the timeline is credited again in the new clocks (see the
    module's docstring); a pause still running is credited by `sla_resume` as usual. A target
    already met keeps its times. A breach already recorded stays recorded; a warning is given
    again when the new warning time is still ahead."""
    resolver = _resolver()
    start = ticket.created_at or now
    on = timezone.localdate(start)
    targets = resolver.targets(ticket.category, ticket.priority, ticket.customer_id, on)
    dues = resolver.dues(ticket.category, ticket.priority, ticket.customer_id, start)
    pauses = _pauses(ticket) if ticket.pk else []
    ticket.sla_policy_id = dues.policy_id
    plan = []
    if ticket.first_responded_at is None:
        plan.append((FIRST_RESPONSE, targets.first_clock, dues.first_response_due, dues.first_response_warn_at))
    if ticket.status not in DONE_STATUSES:
        plan.append((RESOLUTION, targets.resolution_clock, dues.resolution_due, dues.resolution_warn_at))
    for target, kind, due, warn in plan:
        clock = resolver.clock(kind, targets.calendar_id)
        for began, ended in pauses:
            credit = clock.elapsed_delta(began, ended)
            due, warn = _shift(clock, due, began, credit), _shift(clock, warn, began, credit)
        setattr(ticket, f"{target}_due", due)
        setattr(ticket, f"{target}_warn_at", warn)
        if warn > now and not getattr(ticket, f"{target}_breached"):
            setattr(ticket, f"{target}_warned", False)
    return ticket


def sla_pause(ticket: Ticket, *, now: dt.datetime) -> Ticket:
    """Stop the clocks (entering waiting_customer). Instance only; pausing twice keeps the first."""
    if ticket.sla_paused_at is None:
        ticket.sla_paused_at = now
    return ticket


def _clocks_of(ticket: Ticket) -> tuple[Clock, Clock]:
    resolver = _resolver()
    policy = SlaPolicy.objects.filter(pk=ticket.sla_policy_id).first() if ticket.sla_policy_id else None
    if policy is None:
        clock = resolver.clock(SlaClock.CALENDAR, None)
        return clock, clock
    return (resolver.clock(policy.first_response_clock, policy.calendar_id),
            resolver.clock(policy.resolution_clock, policy.calendar_id))


def sla_resume(ticket: Ticket, *, now: dt.datetime) -> Ticket:
    """Restart the clocks (leaving waiting_customer): each due and warning time of a target not
    met yet that was still ahead when the clocks stopped moves by the clock time of the pause
    (working time for a business clock, real time for a calendar clock). Instance only."""
    paused_at, ticket.sla_paused_at = ticket.sla_paused_at, None
    if paused_at is None or now <= paused_at:
        return ticket
    first_clock, resolution_clock = _clocks_of(ticket)
    if ticket.first_responded_at is None:
        credit = first_clock.elapsed_delta(paused_at, now)
        ticket.first_response_due = _shift(first_clock, ticket.first_response_due, paused_at, credit)
        ticket.first_response_warn_at = _shift(first_clock, ticket.first_response_warn_at, paused_at, credit)
    if ticket.status not in DONE_STATUSES:
        credit = resolution_clock.elapsed_delta(paused_at, now)
        ticket.resolution_due = _shift(resolution_clock, ticket.resolution_due, paused_at, credit)
        ticket.resolution_warn_at = _shift(resolution_clock, ticket.resolution_warn_at, paused_at, credit)
    return ticket


# --- the tenant's defaults -------------------------------------------------------------------------

# China's public holidays (days off) and make-up working days (调休) as the State Council set them
# (国办发明电〔2025〕7号, 2026). 2027 is added when its schedule is published (usually November).
HOLIDAY_NAMES = {
    # gettext_lazy by its own name: makemessages does not know an alias such as `_lazy`.
    "new_year": gettext_lazy("New Year's Day"), "spring": gettext_lazy("Spring Festival"),
    "qingming": gettext_lazy("Qingming Festival"), "labour": gettext_lazy("Labour Day"),
    "dragon_boat": gettext_lazy("Dragon Boat Festival"),
    "mid_autumn": gettext_lazy("Mid-Autumn Festival"), "national": gettext_lazy("National Day"),
}
CN_HOLIDAYS: dict[int, list[tuple[str, str, str, list[str]]]] = {
    2026: [
        # (holiday, first day off, last day off, [make-up working days])
        ("new_year", "2026-01-01", "2026-01-03", ["2026-01-04"]),
        ("spring", "2026-02-15", "2026-02-23", ["2026-02-14", "2026-02-28"]),
        ("qingming", "2026-04-04", "2026-04-06", []),
        ("labour", "2026-05-01", "2026-05-05", ["2026-05-09"]),
        ("dragon_boat", "2026-06-19", "2026-06-21", []),
        ("mid_autumn", "2026-09-25", "2026-09-27", []),
        ("national", "2026-10-01", "2026-10-07", ["2026-09-20", "2026-10-10"]),
    ],
}


def cn_holiday_days(year: int) -> list[tuple[dt.date, bool, str]]:
    """(date, is_working, name) of one year's schedule; empty for a year not published here."""
    days = []
    for key, first, last, makeup in CN_HOLIDAYS.get(year, []):
        name = str(HOLIDAY_NAMES[key])
        day, last_day = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
        while day <= last_day:
            days.append((day, False, name))
            day += dt.timedelta(days=1)
        days += [(dt.date.fromisoformat(d), True, _("%(name)s make-up working day") % {"name": name})
                 for d in makeup]
    return sorted(days)


@dataclass(frozen=True)
class DefaultPolicy:
    category: str
    priority: str
    first_minutes: int
    first_clock: str
    resolution_minutes: int
    resolution_clock: str


DAY = 24 * 60
B, C = SlaClock.BUSINESS, SlaClock.CALENDAR
# Per DOMAIN.md §3: complaints 2 working hours / 7 calendar days (the law's 7 days); urgent
# tickets (any category, e.g. loss) a first response within 30 real minutes. The other numbers
# are our choice, documented in the report: tracking inquiries and delivery urges are quick
# (1 h / 30 working min first response, done within a day), address changes must beat the
# courier (30 working min, one working day), claims need evidence and approval (4 working hours,
# 30 days). Everything else (delay, damage, loss, other) falls to the catch-all: the rules'
# 120 working minutes and 7 days. Urgent variants of each category keep its resolution target.
DEFAULT_POLICIES = [
    DefaultPolicy("", "", 120, B, 7 * DAY, C),
    DefaultPolicy("", TicketPriority.URGENT, 30, C, 3 * DAY, C),
    DefaultPolicy(TicketCategory.COMPLAINT, "", 120, B, 7 * DAY, C),
    DefaultPolicy(TicketCategory.TRACKING_INQUIRY, "", 60, B, DAY, C),
    DefaultPolicy(TicketCategory.DELIVERY_URGE, "", 30, B, DAY, C),
    DefaultPolicy(TicketCategory.ADDRESS_CHANGE, "", 30, B, 8 * 60, B),
    DefaultPolicy(TicketCategory.CLAIM, "", 240, B, 30 * DAY, C),
]
DEFAULT_POLICIES += [
    DefaultPolicy(p.category, TicketPriority.URGENT, 30, C, p.resolution_minutes, p.resolution_clock)
    for p in DEFAULT_POLICIES if p.category
]


def _default_policy_name(p: DefaultPolicy) -> str:
    if p.category and p.priority:
        return _("%(category)s, %(priority)s") % {"category": TicketCategory(p.category).label,
                                                    "priority": TicketPriority(p.priority).label}
    if p.category:
        return str(TicketCategory(p.category).label)
    if p.priority:
        return _("Any category, %(priority)s") % {"priority": TicketPriority(p.priority).label}
    return _("Any ticket (default)")


def sla_defaults_ensure() -> dict:
    """Give the current tenant a default business calendar (Mon–Fri 9:00–18:00, lunch 12:00–13:00,
    Asia/Shanghai, China's public holidays and make-up days) and the default SLA policies, where
    missing: a tenant that already has a default calendar keeps it as it is, and a policy is only
    added where no active policy has the same category, priority and no contract. Idempotent."""
    created = {"calendar": False, "days": 0, "policies": 0}
    with transaction.atomic():
        if not BusinessCalendar.objects.filter(is_default=True).exists():
            calendar = BusinessCalendar.objects.create(
                name=_("Standard working hours"), time_zone="Asia/Shanghai", workdays=[1, 2, 3, 4, 5],
                work_start=dt.time(9), work_end=dt.time(18), break_start=dt.time(12), break_end=dt.time(13),
                is_default=True)
            rows = [CalendarDay(calendar=calendar, date=day, is_working=working, name=name)
                    for year in sorted(CN_HOLIDAYS) for day, working, name in cn_holiday_days(year)]
            CalendarDay.objects.bulk_create(rows)
            created.update(calendar=True, days=len(rows))
        existing = set(SlaPolicy.objects.filter(is_active=True, contract__isnull=True)
                       .values_list("category", "priority"))
        new = [SlaPolicy(name=_default_policy_name(p), category=p.category, priority=p.priority,
                         first_response_minutes=p.first_minutes, first_response_clock=p.first_clock,
                         resolution_minutes=p.resolution_minutes, resolution_clock=p.resolution_clock)
               for p in DEFAULT_POLICIES if (p.category, p.priority) not in existing]
        SlaPolicy.objects.bulk_create(new)
        created["policies"] = len(new)
    return created


__all__ = [
    "MANAGE_PERM", "MAX_TARGET_MINUTES", "SlaDues", "SlaRequest", "SweepResult", "calendar_create",
    "calendar_day_add", "calendar_day_remove", "calendar_delete", "calendar_update", "cn_holiday_days",
    "sla_batch", "sla_defaults_ensure", "sla_dues_for", "sla_dues_many", "sla_pause", "sla_policy_create",
    "sla_policy_for", "sla_policy_update", "sla_recompute", "sla_resume", "sla_start", "sla_sweep",
]
