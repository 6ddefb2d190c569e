"""Writes of the shipments app: tracking-event ingest (shipments.ingest), the periodic exception
sweeps, delivery consents, and the incremental daily volume per customer."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.models import Membership, User
from tenancy.scoping import current_tenant_id
from tenancy.services import require_perm
from tickets.models import ExceptionKind
from tickets.services import ExceptionTicketRequest, exception_tickets_open

from . import rules
from .ingest import IngestResult, tracking_events_ingest  # noqa: F401  (the service of ARCHITECTURE §5)
from .models import MOVING_STATUSES, TERMINAL_STATUSES, CustomerDailyVolume, DeliveryConsent, Waybill


def daily_volume_add(rows: list[tuple[int, dt.date, int, Decimal, int]]) -> int:
    """Add (customer_id, day, parcels, revenue, returned) increments to the daily volume — one
    upsert per batch, so ingest maintains the table incrementally instead of recomputing it."""
    if not rows:
        return 0
    table = CustomerDailyVolume._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} (tenant_id, customer_id, day, parcels, revenue, returned, updated_at)
                SELECT %s, v.customer_id, v.day, v.parcels, v.revenue, v.returned, now()
                FROM unnest(%s::bigint[], %s::date[], %s::int[], %s::numeric[], %s::int[])
                     AS v(customer_id, day, parcels, revenue, returned)
                ON CONFLICT (tenant_id, customer_id, day) DO UPDATE SET
                  parcels = {table}.parcels + EXCLUDED.parcels, revenue = {table}.revenue + EXCLUDED.revenue,
                  returned = {table}.returned + EXCLUDED.returned, updated_at = now()""",
            [current_tenant_id(), *[list(column) for column in zip(*rows, strict=True)]],
        )
    return len(rows)


def _sweep_requests(cursor, kind: str, where: str, params: list) -> list[ExceptionTicketRequest]:
    """Waybills matching `where` that have no open ticket of `kind` yet → ticket requests."""
    category, priority = rules.EXCEPTION_TICKET[kind]
    label = str(ExceptionKind(kind).label)
    cursor.execute(
        f"""SELECT w.id, w.number, COALESCE(w.responsible_branch_id, w.destination_branch_id, w.origin_branch_id),
                   w.sender_id, w.last_scan_at, w.promised_date
            FROM {Waybill._meta.db_table} w
            WHERE w.tenant_id = %s AND {where}
              AND NOT EXISTS (SELECT 1 FROM tickets_ticket t WHERE t.tenant_id = w.tenant_id AND t.waybill_id = w.id
                              AND t.exception_kind = %s AND t.status NOT IN ('resolved', 'closed'))""",
        [current_tenant_id(), *params, kind],
    )
    requests = []
    for waybill_id, number, branch_id, sender_id, last_scan_at, promised_date in cursor.fetchall():
        if kind == ExceptionKind.NO_SCAN:
            detail = _("Last scan %(time)s.") % {
                "time": timezone.localtime(last_scan_at).strftime("%Y-%m-%d %H:%M") if last_scan_at else "-"}
        else:
            detail = _("Promised for %(date)s.") % {"date": promised_date.isoformat() if promised_date else "-"}
        requests.append(ExceptionTicketRequest(
            waybill_id=waybill_id, kind=kind, category=category, priority=priority, branch_id=branch_id,
            customer_id=sender_id, subject=f"{number} · {label}", description=detail))
    return requests


def exception_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The time-based exception rules, by database state (safe to run any number of times):
    no scan for N hours while moving, and past the promised delivery date."""
    now = now or timezone.now()
    moving = list(MOVING_STATUSES)
    stalled_before = now - dt.timedelta(hours=rules.NO_SCAN_HOURS.value())
    overdue_before = timezone.localdate(now) - dt.timedelta(days=rules.OVERDUE_GRACE_DAYS.value())
    with transaction.atomic(), connection.cursor() as cursor:
        stalled = _sweep_requests(cursor, ExceptionKind.NO_SCAN, "w.status = ANY(%s) AND w.last_scan_at < %s",
                                  [moving, stalled_before])
        overdue = _sweep_requests(
            cursor, ExceptionKind.OVERDUE, "NOT w.status = ANY(%s) AND w.promised_date IS NOT NULL "
            "AND w.promised_date < %s", [list(TERMINAL_STATUSES), overdue_before])
        return {"no_scan": exception_tickets_open(stalled, now=now),
                "overdue": exception_tickets_open(overdue, now=now)}


def delivery_consent_record(*, actor: User, membership: Membership | None, waybill: Waybill, method: str,
                            source: str, note: str = "") -> DeliveryConsent:
    """Record that the receiver agreed to a locker / neighbour delivery (checked by the locker rule)."""
    require_perm(actor, "shipments.add_deliveryconsent")
    consent = DeliveryConsent(waybill=waybill, method=method, source=source, note=(note or "").strip()[:300],
                              recorded_by=membership)
    consent.full_clean(exclude=["waybill", "recorded_by"])
    consent.save()
    return consent


def tracking_partitions_ensure(months_ahead: int = 2, *, today: dt.date | None = None) -> list[str]:
    """Create this month's and the next months' event partitions ahead of ingest (platform job)."""
    today = today or timezone.localdate()
    created = []
    with connection.cursor() as cursor:
        month = today.replace(day=1)
        for _i in range(months_ahead + 1):
            cursor.execute("SELECT crm_tracking_partition_ensure(%s)", [month])
            created.append(cursor.fetchone()[0])
            month = (month + dt.timedelta(days=32)).replace(day=1)
    return created
