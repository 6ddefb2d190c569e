"""Writes of the reports app: the rollups behind the dashboards (shipments per branch and day,
tickets per branch, team and day, surveys per branch, kind and day). Set-based SQL, one statement
per table and refresh, so a refresh costs the same whether it counts a hundred rows or a million."""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from shipments.models import Waybill
from tenancy.scoping import current_tenant_id
from tickets.models import Survey, Ticket

from .models import BranchDayShipments, BranchDaySurveys, BranchDayTickets
from .rules import APPEAL_TAG, ROLLUP_REFRESH_DAYS, SURVEY_REFRESH_DAYS, TICKET_REFRESH_DAYS

# Each refresh re-aggregates the local days [start, end) from the source table, replacing whatever
# the rollup held for those days: an upsert of every group found, and a delete of the rows of
# those days that no source row backs any more (a waybill moved to another branch). A source row's
# local day is its time in the company's time zone, so a month on the dashboard is a calendar
# month there. {groups} are the rollup's key columns besides the day, each NULL-safe compared.
_REFRESH_SQL = """
WITH fresh AS (
    SELECT {select}
      FROM {source} s
     WHERE s.tenant_id = %(tenant)s AND {where}
       AND s.{at} >= %(start_at)s AND s.{at} < %(end_at)s
     GROUP BY {group_by}
), gone AS (
    DELETE FROM {rollup} r
     WHERE r.tenant_id = %(tenant)s AND r.day >= %(start)s AND r.day < %(end)s
       AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.day = r.day AND {same_group})
)
INSERT INTO {rollup} (tenant_id, {columns}, refreshed_at)
SELECT %(tenant)s, {columns}, %(now)s FROM fresh
ON CONFLICT ({conflict}) DO UPDATE SET {updates}, refreshed_at = EXCLUDED.refreshed_at
"""

_LOCAL_DAY = "(s.{at} AT TIME ZONE %(tz)s)::date AS day"

_ROLLUPS = {
    "shipments": {
        "rollup": BranchDayShipments, "source": Waybill, "at": "shipped_at",
        "groups": ["branch_id"], "where": "s.origin_branch_id IS NOT NULL",
        "select": ["s.origin_branch_id AS branch_id",
                   "count(*) AS shipments",
                   "count(*) FILTER (WHERE s.delivered_at IS NOT NULL) AS delivered",
                   "count(*) FILTER (WHERE s.returned_at IS NOT NULL) AS returned"],
        "measures": ["shipments", "delivered", "returned"],
    },
    "tickets": {
        "rollup": BranchDayTickets, "source": Ticket, "at": "created_at",
        "groups": ["branch_id", "team_id"], "where": "s.merged_into_id IS NULL",
        "select": ["s.branch_id", "s.team_id", "count(*) AS tickets",
                   "count(*) FILTER (WHERE s.category = 'complaint') AS complaints",
                   "count(*) FILTER (WHERE %(appeal_tag)s = ANY(s.tags)) AS appeals",
                   "count(*) FILTER (WHERE s.first_response_breached) AS first_response_breaches",
                   "count(*) FILTER (WHERE s.resolution_breached) AS resolution_breaches"],
        "measures": ["tickets", "complaints", "appeals", "first_response_breaches", "resolution_breaches"],
    },
    "surveys": {
        "rollup": BranchDaySurveys, "source": Survey, "at": "sent_at", "groups": ["branch_id", "kind"],
        "where": "TRUE",
        "select": ["s.branch_id", "s.kind", "count(*) AS sent",
                   "count(*) FILTER (WHERE s.answered_at IS NOT NULL) AS answered",
                   "coalesce(sum(s.score) FILTER (WHERE s.answered_at IS NOT NULL), 0) AS score_total",
                   "count(*) FILTER (WHERE s.answered_at IS NOT NULL AND s.score >= 9) AS promoters",
                   "count(*) FILTER (WHERE s.answered_at IS NOT NULL AND s.score IN (7, 8)) AS passives",
                   "count(*) FILTER (WHERE s.answered_at IS NOT NULL AND s.score <= 6) AS detractors"],
        "measures": ["sent", "answered", "score_total", "promoters", "passives", "detractors"],
    },
}


def _refresh_sql(name: str) -> str:
    spec = _ROLLUPS[name]
    groups = spec["groups"]
    return _REFRESH_SQL.format(
        select=", ".join([*spec["select"], _LOCAL_DAY.format(at=spec["at"])]),
        source=spec["source"]._meta.db_table, rollup=spec["rollup"]._meta.db_table, at=spec["at"],
        where=spec["where"], group_by=", ".join(str(i + 1) for i in range(len(groups)))
        + f", {len(spec['select']) + 1}",
        same_group=" AND ".join(f"f.{g} IS NOT DISTINCT FROM r.{g}" for g in groups),
        columns=", ".join([*groups, "day", *spec["measures"]]),
        conflict=", ".join(["tenant_id", *groups, "day"]),
        updates=", ".join(f"{m} = EXCLUDED.{m}" for m in spec["measures"]))


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_default_timezone())


def rollup_refresh_range(*, start: dt.date, end: dt.date, rollups=tuple(_ROLLUPS)) -> int:
    """Count the current tenant's `rollups` again for the local days [start, end); returns the
    number of rows written. Idempotent: running it twice leaves the same rows."""
    if end <= start:
        return 0
    params = {"tenant": current_tenant_id(), "tz": settings.TIME_ZONE, "start": start, "end": end,
              "start_at": _local_midnight(start), "end_at": _local_midnight(end), "now": timezone.now(),
              "appeal_tag": APPEAL_TAG.value()}
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for name in rollups:
            cursor.execute(_refresh_sql(name), params)
            written += cursor.rowcount
    return written


def rollup_refresh(*, today: dt.date | None = None) -> int:
    """The periodic refresh: each rollup's last days (its rule) up to and including today —
    shipments' deliveries settle within days, survey answers within the link's life, ticket SLA
    flags only once the resolution clock has run out."""
    today = today or timezone.localdate()
    end = today + dt.timedelta(days=1)
    written = 0
    for rollup, rule in (("shipments", ROLLUP_REFRESH_DAYS), ("tickets", TICKET_REFRESH_DAYS),
                         ("surveys", SURVEY_REFRESH_DAYS)):
        written += rollup_refresh_range(start=end - dt.timedelta(days=rule.value()), end=end, rollups=(rollup,))
    return written


def rollup_rebuild(*, today: dt.date | None = None) -> int:
    """Everything again, from the first waybill, ticket or survey to today (the full rebuild
    command; also after changing the appeal tag rule)."""
    today = today or timezone.localdate()
    firsts = [first for first in (
        Waybill.objects.filter(shipped_at__isnull=False).order_by("shipped_at").values_list("shipped_at", flat=True)
        .first(),
        Ticket.objects.order_by("created_at").values_list("created_at", flat=True).first(),
        Survey.objects.filter(sent_at__isnull=False).order_by("sent_at").values_list("sent_at", flat=True).first(),
    ) if first is not None]
    start = min(timezone.localtime(first).date() for first in firsts) if firsts else today
    for model in (BranchDayShipments, BranchDayTickets, BranchDaySurveys):
        model.objects.filter(day__lt=start).delete()
    return rollup_refresh_range(start=start, end=today + dt.timedelta(days=1))
