"""The compliance overview (auditors and tenant admins): open requests by clock, retention's last
runs, key ages, incidents, and who revealed or exported personal data lately."""
from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.utils import timezone

from ..models import AccessAction, AccessLog

VOLUME_DAYS = 30
VOLUME_TOP = 20


def access_volumes(*, days: int = VOLUME_DAYS, limit: int = VOLUME_TOP, now: dt.datetime | None = None) -> list[dict]:
    """Reveals and exports per person over the last `days` days, the busiest first: one aggregate
    query over the access log grouped by actor (with a count per action)."""
    since = (now or timezone.now()) - dt.timedelta(days=days)
    return list(
        AccessLog.objects.filter(created_at__gte=since)
        .values("actor_id", "actor__username", "actor__display_name")
        .annotate(reveals=Count("id", filter=Q(action=AccessAction.REVEAL)),
                  exports=Count("id", filter=Q(action=AccessAction.EXPORT)), total=Count("id"))
        .order_by("-total", "actor__username")[:limit]
    )


def compliance_overview(*, now: dt.datetime | None = None) -> dict:
    """Everything the overview page and the API summary show, from each area's own selector."""
    from .incidents import incident_overview
    from .keys import key_status
    from .requests import dsr_overview
    from .retention import retention_summary

    now = now or timezone.now()
    return {
        "requests": dsr_overview(),
        "retention": retention_summary(now=now),
        "keys": key_status(),
        "incidents": incident_overview(now=now),
        "access": access_volumes(now=now),
        "access_days": VOLUME_DAYS,
    }
