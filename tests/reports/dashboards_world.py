"""Figures for the dashboard tests: waybills picked up per branch, complaint and appeal tickets,
tickets with SLA outcomes, in both companies, written straight to their tables (what the
dashboards read; how they got there is other apps' business and tested there)."""
from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone

from reports import services
from shipments.models import Waybill
from tenancy.scoping import tenant_scope
from tickets.models import Team, Ticket

_numbers = itertools.count(1)


def local_noon(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


def months_ago(months: int, day: int = 10) -> dt.date:
    today = timezone.localdate()
    index = today.year * 12 + today.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, day)


def waybills(tw, branch, count: int, day: dt.date, *, delivered: int = 0) -> None:
    with tenant_scope(tw.tenant):
        for i in range(count):
            n = next(_numbers)
            Waybill.objects.create(number=f"RPT{tw.tenant.code}{n:08d}", origin_branch=branch,
                                   destination_branch=branch, shipped_at=local_noon(day),
                                   delivered_at=local_noon(day) + dt.timedelta(days=1) if i < delivered else None)


def ticket(tw, branch, day: dt.date, *, category="complaint", team=None, tags=(), fr_late=False, rs_late=False):
    with tenant_scope(tw.tenant):
        n = next(_numbers)
        return Ticket.objects.create(number=f"T{tw.tenant.code}{n:08d}", category=category, channel="phone",
                                     subject="快件投诉", branch=branch, team=team, tags=list(tags),
                                     created_at=local_noon(day), first_response_breached=fr_late,
                                     resolution_breached=rs_late)


def team(tw, code: str, name: str) -> Team:
    with tenant_scope(tw.tenant):
        return Team.objects.create(code=code, name=name)


def rollup(tw) -> int:
    with tenant_scope(tw.tenant):
        return services.rollup_rebuild()
