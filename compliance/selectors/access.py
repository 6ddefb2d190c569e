"""Reads of the compliance app."""
from __future__ import annotations

from datetime import date

from django.db.models import QuerySet

from ..models import AccessLog


def access_log_list(
    *,
    actor=None,
    action: str | None = None,
    actor_id: int | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AccessLog]:
    qs = AccessLog.objects.select_related("actor").order_by("-created_at", "-id")
    if action:
        qs = qs.filter(action=action)
    if actor_id:
        qs = qs.filter(actor_id=actor_id)
    if target_type:
        qs = qs.filter(target_type=target_type)
    if target_id:
        qs = qs.filter(target_id=target_id)
    if date_from:
        qs = qs.filter(created_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(created_at__date__lte=date_to)
    return qs


def access_log_for_record(*, target_type: str, target_id: int) -> QuerySet[AccessLog]:
    """Who looked at this record's personal data (shown on the record's own page)."""
    return access_log_list(target_type=target_type, target_id=target_id)


def access_log_for_records(records: list[tuple[str, int]], limit: int = 20) -> list[AccessLog]:
    """Who looked at any of these records' personal data (a customer and its phones, addresses,
    contacts), newest first — one query."""
    from django.db.models import Q

    if not records:
        return []
    by_type: dict[str, list[int]] = {}
    for target_type, target_id in records:
        by_type.setdefault(target_type, []).append(target_id)
    condition = Q()
    for target_type, ids in by_type.items():
        condition |= Q(target_type=target_type, target_id__in=ids)
    return list(AccessLog.objects.filter(condition).select_related("actor").order_by("-created_at", "-id")[:limit])


def access_bursts(*, since, threshold: int) -> list[dict]:
    """Users who revealed or exported personal data more than `threshold` times within one clock
    hour since `since`: one row per user and hour, with the access-log ids (newest 200) — one query."""
    from django.contrib.postgres.aggregates import ArrayAgg
    from django.db.models import Count
    from django.db.models.functions import TruncHour

    return list(
        AccessLog.objects.filter(created_at__gte=since)
        .annotate(hour=TruncHour("created_at")).values("actor_id", "hour")
        .annotate(count=Count("id"), ids=ArrayAgg("id", order_by="-id"))
        .filter(count__gt=threshold).order_by("hour", "actor_id")
    )
