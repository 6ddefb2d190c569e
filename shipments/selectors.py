"""Reads of the shipments app used by other apps (sales trends, customer 360, segments)."""
from __future__ import annotations

import datetime as dt
import re

from django.db.models import Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from .models import CustomerDailyVolume


def weekly_parcels(*, customer_ids: list[int], weeks: int = 12, today: dt.date | None = None) -> dict[int, list[int]]:
    """Parcels per ISO week (oldest first, `weeks` points ending with the current week) for each
    customer, in one query."""
    today = today or timezone.localdate()
    this_monday = today - dt.timedelta(days=today.weekday())
    first_monday = this_monday - dt.timedelta(weeks=weeks - 1)
    series = {pk: [0] * weeks for pk in customer_ids}
    if not customer_ids:
        return series
    rows = (CustomerDailyVolume.objects.filter(customer_id__in=customer_ids, day__gte=first_monday, day__lte=today)
            .annotate(week=TruncWeek("day")).values("customer_id", "week").annotate(parcels=Sum("parcels")))
    for row in rows:
        week = row["week"].date() if hasattr(row["week"], "date") else row["week"]
        index = (week - first_monday).days // 7
        if 0 <= index < weeks:
            series[row["customer_id"]][index] = row["parcels"]
    return series


def customer_volume_summary(*, customer_id: int, days: int = 90, today: dt.date | None = None) -> dict:
    """Daily parcels and revenue of one customer over the last `days` days, for the 360 chart."""
    today = today or timezone.localdate()
    since = today - dt.timedelta(days=days - 1)
    rows = {r["day"]: r for r in CustomerDailyVolume.objects.filter(customer_id=customer_id, day__gte=since)
            .values("day", "parcels", "revenue", "returned")}
    labels, parcels = [], []
    total_parcels, total_revenue, total_returned = 0, 0, 0
    for offset in range(days):
        day = since + dt.timedelta(days=offset)
        row = rows.get(day)
        labels.append(day.isoformat())
        parcels.append(row["parcels"] if row else 0)
        if row:
            total_parcels += row["parcels"]
            total_revenue += row["revenue"]
            total_returned += row["returned"]
    return {"labels": labels, "parcels": parcels, "total_parcels": total_parcels,
            "total_revenue": total_revenue, "total_returned": total_returned, "days": days}


# --- waybills (API) --------------------------------------------------------------------------------

def waybill_api_list(*, number: str = "", status: str = "", customer_id=None):
    """Waybills for the API list, newest first; exact number, status and customer filters."""
    from django.db.models import Q

    from .models import Waybill

    qs = Waybill.objects.order_by("-id")
    if number:
        qs = qs.filter(number=number.strip().upper())
    if status:
        qs = qs.filter(status=status)
    if customer_id:
        try:
            customer_id = int(customer_id)
        except (TypeError, ValueError):
            return qs.none()
        qs = qs.filter(Q(sender_id=customer_id) | Q(receiver_id=customer_id))
    return qs


def waybill_api_detail_queryset():
    """Waybills with their timeline (events by time), tickets and consents prefetched."""
    from django.db.models import Prefetch

    from tickets.models import Ticket

    from .models import DeliveryConsent, TrackingEvent, Waybill

    return Waybill.objects.prefetch_related(
        Prefetch("events", queryset=TrackingEvent.objects.order_by("event_time", "id"), to_attr="timeline"),
        Prefetch("tickets", queryset=Ticket.objects.order_by("-created_at"), to_attr="ticket_list"),
        Prefetch("consents", queryset=DeliveryConsent.objects.order_by("recorded_at"), to_attr="consent_list"),
    )


# --- waybills (HTML pages) -----------------------------------------------------------------------

_NUMBER_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{5,39}$")  # what ingest accepts as a number
_CUSTOMER_NUMBER = re.compile(r"^[BC]\d{8}$", re.IGNORECASE)
_PHONE_SHAPE = re.compile(r"^\+?[\d\s\-()]{7,20}$")


def waybill_search(*, q: str = "", status: str = ""):
    """Waybills newest first (by id, for keyset paging) matching what an agent typed: a waybill
    number (exact, any case: numbers are stored upper-case — uses the unique index), a
    sender's or receiver's phone number (blind index), or a customer number (the waybills the
    customer sent or receives). An empty `q` lists every waybill."""
    from django.db.models import Q

    from customers.selectors import customer_list
    from tenancy.selectors import blind_indexes_for

    from .models import Waybill

    qs = Waybill.objects.select_related("sender", "receiver", "responsible_branch").order_by("-id")
    if status:
        qs = qs.filter(status=status)
    q = (q or "").strip()
    if not q:
        return qs
    matches = []
    if _NUMBER_SHAPE.match(q):
        matches.append(Q(number=q.upper()))
    if _PHONE_SHAPE.match(q) and sum(ch.isdigit() for ch in q) >= 7:
        bidxs = blind_indexes_for("phone", q)  # every unretired index key: lookups work mid-rotation
        if bidxs:
            matches += [Q(sender_phone_bidx__in=bidxs), Q(receiver_phone_bidx__in=bidxs)]
    if _CUSTOMER_NUMBER.match(q):
        customers = customer_list(search=q, include_merged=True).values("pk")
        matches += [Q(sender_id__in=customers), Q(receiver_id__in=customers)]
    if not matches:
        return qs.none()
    match = matches[0]
    for more in matches[1:]:
        match |= more
    return qs.filter(match)


def waybill_get(*, pk: int):
    """One waybill with its customers and branches, or 404."""
    from django.shortcuts import get_object_or_404

    from .models import Waybill

    return get_object_or_404(Waybill.objects.select_related(
        "sender", "receiver", "origin_branch", "destination_branch", "responsible_branch"), pk=pk)


def waybill_is_overdue(waybill, *, today: dt.date | None = None) -> bool:
    """Past its promised delivery date and not delivered or returned yet."""
    from .models import TERMINAL_STATUSES

    today = today or timezone.localdate()
    return bool(waybill.promised_date and waybill.promised_date < today
                and waybill.status not in TERMINAL_STATUSES)


def waybill_timeline(*, waybill_id: int) -> list:
    """Every tracking event of one waybill by event time (the month partitions are searched
    through the (tenant, waybill, event time) index of each)."""
    from .models import TrackingEvent

    return list(TrackingEvent.objects.filter(waybill_id=waybill_id).select_related("site_branch")
                .order_by("event_time", "id"))


def waybill_consents(*, waybill_id: int) -> list:
    from .models import DeliveryConsent

    return list(DeliveryConsent.objects.filter(waybill_id=waybill_id).select_related("recorded_by__user")
                .order_by("recorded_at", "id"))


def customer_recent_waybills(*, customer_id: int, limit: int = 10) -> list:
    """A customer's latest waybills as sender or receiver, newest first, in ONE query: the union
    of two index-ordered top-N reads (sender index, receiver index), however many parcels the
    customer has."""
    from .models import Waybill

    order = ("-shipped_at", "-id")
    sent = Waybill.objects.filter(sender_id=customer_id).order_by(*order)[:limit]
    received = Waybill.objects.filter(receiver_id=customer_id).order_by(*order)[:limit]
    return list(sent.union(received).order_by(*order)[:limit])


def waybill_parties(query: str) -> list[int]:
    """Customer ids of the sender and receiver of the waybill numbered `query` (exact), if any."""
    from .models import Waybill

    number = (query or "").strip().upper()
    if not 6 <= len(number) <= 40:
        return []
    row = Waybill.objects.filter(number=number).values_list("sender_id", "receiver_id").first()
    return [pk for pk in (row or ()) if pk is not None]
