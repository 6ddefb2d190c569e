"""Waybills, tracking events and exception tickets for tests, made the way production makes
them: through the ingest service (which opens the exception tickets itself)."""
from __future__ import annotations

import datetime as dt

from django.utils import timezone

from shipments.models import Waybill
from shipments.services import tracking_events_ingest
from tenancy.scoping import tenant_scope
from tickets.models import Ticket

H = dt.timedelta(hours=1)


def recent(days: float = 3) -> dt.datetime:
    """A recent moment (events must fall inside the ingest window)."""
    return (timezone.now() - dt.timedelta(days=days)).replace(microsecond=0)


def event(event_id: str, number: str, event_type: str, when: dt.datetime, site: str = "", **extra) -> dict:
    raw = {"event_id": event_id, "waybill_number": number, "event_type": event_type, "event_time": when.isoformat(),
           **extra}
    if site:
        raw["site"] = site
    return raw


def waybill_events(number: str, *, start: dt.datetime, site: str, final: str | None = "damaged", label: str = "",
                   sender_customer: str = "", sender_phone: str = "", receiver_phone: str = "",
                   receiver_name: str = "李四", promised: dt.date | None = None) -> list[dict]:
    """Created (with the waybill's details) → picked up → arrived at `site` → `final` (if any)."""
    details = {"sender_name": f"{label}张三", "receiver_name": f"{label}{receiver_name}",
               "receiver_address": f"{label}上海市浦东新区张杨路1588号2栋1203室", "receiver_province": "上海",
               "receiver_city": "上海", "origin": site, "destination": site, "product": "standard",
               "weight_kg": "1.5", "declared_value": "300", "insured_amount": "300", "service_fee": "12.50"}
    if sender_customer:
        details["sender_customer"] = sender_customer
    if sender_phone:
        details["sender_phone"] = sender_phone
    if receiver_phone:
        details["receiver_phone"] = receiver_phone
    if promised:
        details["promised_date"] = promised.isoformat()
    events = [
        event(f"{number}-1", number, "created", start, site, waybill=details),
        event(f"{number}-2", number, "picked_up", start + H, site, operator=f"{label}快递员"),
        event(f"{number}-3", number, "arrived_at_site", start + 2 * H, site, attributes={"note": f"{label}到件"}),
    ]
    if final:
        events.append(event(f"{number}-4", number, final, start + 3 * H, site, operator=f"{label}快递员",
                            attributes={"reason": f"{label}外包装破损"}))
    return events


def ingest(tw, events: list[dict]):
    with tenant_scope(tw.tenant):
        result = tracking_events_ingest(events)
    assert not result.rejected, result.rejected
    return result


def exception_tickets(tw, count: int, *, prefix: str, branch=None, kind: str = "damaged",
                      start: dt.datetime | None = None) -> list[Ticket]:
    """`count` waybills with an exception scan at `branch` (default: the manager's branch):
    one open exception ticket each, oldest first."""
    branch = branch or tw.branch
    start = start or recent()
    events = []
    for i in range(count):
        events += waybill_events(f"{prefix}{i:05d}", start=start + i * dt.timedelta(minutes=1), site=branch.code,
                                 final=kind)
    ingest(tw, events)
    with tenant_scope(tw.tenant):
        return list(Ticket.objects.filter(waybill__number__startswith=prefix).order_by("created_at", "id"))


def get_waybill(tw, number: str) -> Waybill:
    with tenant_scope(tw.tenant):
        return Waybill.objects.get(number=number)
