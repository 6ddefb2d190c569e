"""Reads of data-subject requests: the queue with its clocks, one request, the overview counts."""
from __future__ import annotations

import datetime as dt

from django.db.models import Case, CharField, Count, Q, QuerySet, Value, When
from django.shortcuts import get_object_or_404
from django.utils import timezone

from ..models import DataSubjectRequest, DsrExport
from ..models.requests import DSR_OPEN_STATUSES
from ..rules import DSR_AT_RISK_WORKING_DAYS


class Clock:
    OVERDUE = "overdue"
    AT_RISK = "at_risk"
    ON_TRACK = "on_track"
    CLOSED = "closed"


def at_risk_from(now: dt.datetime | None = None) -> dt.datetime:
    """A request due before this moment is at risk: within the rule's working days from now."""
    from ..services.requests import add_working_days

    return add_working_days(now or timezone.now(), DSR_AT_RISK_WORKING_DAYS.value())


def with_clock(qs: QuerySet, now: dt.datetime | None = None) -> QuerySet:
    now = now or timezone.now()
    return qs.annotate(clock=Case(
        When(~Q(status__in=DSR_OPEN_STATUSES), then=Value(Clock.CLOSED)),
        When(due_at__lt=now, then=Value(Clock.OVERDUE)),
        When(due_at__lt=at_risk_from(now), then=Value(Clock.AT_RISK)),
        default=Value(Clock.ON_TRACK), output_field=CharField()))


def dsr_list(*, status: str = "", kind: str = "", clock: str = "", owner_id: int | None = None,
             number: str = "", open_only: bool = False) -> QuerySet[DataSubjectRequest]:
    qs = with_clock(DataSubjectRequest.objects.select_related("owner__user", "customer"))
    if open_only:
        qs = qs.filter(status__in=DSR_OPEN_STATUSES)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if clock:
        qs = qs.filter(clock=clock)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if number:
        qs = qs.filter(number__icontains=number.strip())
    return qs.order_by("due_at", "id")


def dsr_get(*, pk: int) -> DataSubjectRequest:
    return get_object_or_404(with_clock(DataSubjectRequest.objects.select_related(
        "owner__user", "customer", "identity_verified_by", "created_by")), pk=pk)


def dsr_events(dsr: DataSubjectRequest):
    return dsr.events.select_related("actor").order_by("created_at", "id")


def dsr_exports(dsr: DataSubjectRequest) -> QuerySet[DsrExport]:
    return dsr.exports.select_related("requested_by", "downloaded_by").defer("content").order_by("-created_at")


def dsr_overview() -> dict:
    """Open requests by clock and by kind (one query each)."""
    qs = with_clock(DataSubjectRequest.objects.filter(status__in=DSR_OPEN_STATUSES))
    by_clock = dict(qs.values_list("clock").annotate(n=Count("id")).values_list("clock", "n"))
    by_kind = dict(qs.values_list("kind").annotate(n=Count("id")).values_list("kind", "n"))
    return {"open": sum(by_clock.values()), "overdue": by_clock.get(Clock.OVERDUE, 0),
            "at_risk": by_clock.get(Clock.AT_RISK, 0), "on_track": by_clock.get(Clock.ON_TRACK, 0),
            "by_kind": by_kind,
            "next_due": list(qs.select_related("owner__user").order_by("due_at")[:5])}
