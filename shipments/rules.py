"""The shipments app's business rules (DOMAIN.md §2): the status machine, how each event type
moves a waybill, which events and states are exceptions, and the per-tenant numbers."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tenancy.rules import Rule
from tickets.models import ExceptionKind, TicketCategory, TicketPriority

from .models import EventType, WaybillStatus

S, E = WaybillStatus, EventType

# The status an event asks for, and (for side exits) the exception it records.
EVENT_STATUS: dict[str, tuple[str, str]] = {
    E.CREATED: (S.CREATED, ""),
    E.PICKED_UP: (S.PICKED_UP, ""),
    E.ARRIVED_AT_SITE: (S.IN_TRANSIT, ""),
    E.DEPARTED_SITE: (S.IN_TRANSIT, ""),
    E.OUT_FOR_DELIVERY: (S.OUT_FOR_DELIVERY, ""),
    E.DELIVERED: (S.DELIVERED, ""),
    E.DELIVERED_TO_LOCKER: (S.DELIVERED, ""),
    E.REFUSED: (S.EXCEPTION, ExceptionKind.REFUSED),
    E.DAMAGED: (S.EXCEPTION, ExceptionKind.DAMAGED),
    E.LOST: (S.EXCEPTION, ExceptionKind.LOST),
    E.EXCEPTION: (S.EXCEPTION, ExceptionKind.EXCEPTION),
    E.RETURNED: (S.RETURNED, ""),
}

# Events with the same time are ordered by stage, so the result never depends on arrival order.
EVENT_RANK: dict[str, int] = {
    E.CREATED: 0, E.PICKED_UP: 1, E.ARRIVED_AT_SITE: 2, E.DEPARTED_SITE: 3, E.OUT_FOR_DELIVERY: 4,
    E.EXCEPTION: 5, E.DAMAGED: 5, E.REFUSED: 6, E.LOST: 6, E.DELIVERED: 7, E.DELIVERED_TO_LOCKER: 7, E.RETURNED: 8,
}

# The status machine: created → picked_up → in_transit → out_for_delivery → delivered, with side
# exits exception and returned. Scans may be missed, so forward skips are allowed; a parcel goes
# back in transit after a failed delivery or once an exception is cleared; delivered and
# returned are final. An event the machine does not allow stays on the timeline and changes nothing.
_FORWARD = {S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED, S.EXCEPTION, S.RETURNED}
ALLOWED: dict[str, set[str]] = {
    S.CREATED: {S.PICKED_UP} | _FORWARD,
    S.PICKED_UP: set(_FORWARD),
    S.IN_TRANSIT: set(_FORWARD),
    S.OUT_FOR_DELIVERY: set(_FORWARD),
    S.EXCEPTION: set(_FORWARD),
    S.DELIVERED: set(),
    S.RETURNED: set(),
}

# Exception kind → (ticket category, priority). One open ticket per waybill and kind.
EXCEPTION_TICKET: dict[str, tuple[str, str]] = {
    ExceptionKind.NO_SCAN: (TicketCategory.DELAY, TicketPriority.NORMAL),
    ExceptionKind.OVERDUE: (TicketCategory.DELAY, TicketPriority.NORMAL),
    ExceptionKind.DAMAGED: (TicketCategory.DAMAGE, TicketPriority.HIGH),
    ExceptionKind.LOST: (TicketCategory.LOSS, TicketPriority.URGENT),
    ExceptionKind.REFUSED: (TicketCategory.OTHER, TicketPriority.NORMAL),
    ExceptionKind.RETURNED: (TicketCategory.OTHER, TicketPriority.NORMAL),
    ExceptionKind.LOCKER_NO_CONSENT: (TicketCategory.OTHER, TicketPriority.HIGH),
    ExceptionKind.EXCEPTION: (TicketCategory.OTHER, TicketPriority.NORMAL),
}

# Event types that open an exception ticket when they are first stored.
EVENT_EXCEPTIONS: dict[str, str] = {
    E.DAMAGED: ExceptionKind.DAMAGED,
    E.LOST: ExceptionKind.LOST,
    E.REFUSED: ExceptionKind.REFUSED,
    E.RETURNED: ExceptionKind.RETURNED,
    E.EXCEPTION: ExceptionKind.EXCEPTION,
}

NO_SCAN_HOURS = Rule("shipments.no_scan_hours", 24, _("Delay exception: no scan while in transit for (hours)"),
                     kind="int", min_value=1, max_value=240)
OVERDUE_GRACE_DAYS = Rule("shipments.overdue_grace_days", 0,
                          _("Delay exception: days past the promised delivery date before a ticket"),
                          kind="int", min_value=0, max_value=30)
LOCKER_NEEDS_CONSENT = Rule("shipments.locker_needs_consent", True,
                            _("A locker / station drop without the receiver's consent is an exception"), kind="bool")
EVENT_MAX_AGE_DAYS = Rule("shipments.event_max_age_days", 400,
                          _("Ingest: reject events older than (days)"), kind="int", min_value=1, max_value=3650)
EVENT_MAX_FUTURE_MINUTES = Rule("shipments.event_max_future_minutes", 60,
                                _("Ingest: reject events this far in the future (minutes; clock skew)"),
                                kind="int", min_value=0, max_value=1440)

BATCH_MAX_EVENTS = 5000
