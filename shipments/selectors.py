"""Reads of the shipments app used by other apps (sales trends, customer 360, segments)."""
from __future__ import annotations

import datetime as dt

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
        qs = qs.filter(number=number.strip())
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
