"""The waybill status machine as a pure fold over events sorted by (event time, stage, id).

Folding the same set of events gives the same state whatever order they arrived in: ingest sorts
them first, and re-folds a waybill from all its events when an older one arrives late."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .models import EventType, WaybillStatus
from .rules import ALLOWED, EVENT_RANK, EVENT_STATUS

_SCAN_TYPES = frozenset(EventType.values) - {EventType.CREATED}


def sort_key(event_time: dt.datetime, event_type: str, source_id: str) -> tuple:
    return (event_time, EVENT_RANK[event_type], source_id)


@dataclass
class WaybillState:
    status: str = WaybillStatus.CREATED
    status_at: dt.datetime | None = None
    exception_kind: str = ""
    shipped_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None
    returned_at: dt.datetime | None = None
    last_scan_at: dt.datetime | None = None
    responsible_branch_id: int | None = None
    folded: tuple | None = None            # sort key of the last event folded in
    changed: bool = field(default=False, compare=False)

    def comparable(self) -> tuple:
        return (self.status, self.status_at, self.exception_kind, self.shipped_at, self.delivered_at,
                self.returned_at, self.last_scan_at, self.responsible_branch_id, self.folded)


def _earliest(current, value):
    return value if current is None or value < current else current


def fold(state: WaybillState, events: list[tuple]) -> WaybillState:
    """Apply events (tuples: event_time, event_type, source_id, site_branch_id), already sorted
    by `sort_key`, to `state` in place; returns it."""
    for event_time, event_type, source_id, site_branch_id in events:
        state.folded = sort_key(event_time, event_type, source_id)
        if event_type == EventType.CREATED:
            state.shipped_at = _earliest(state.shipped_at, event_time)
        else:
            state.last_scan_at = event_time if state.last_scan_at is None else max(state.last_scan_at, event_time)
        if site_branch_id is not None:
            state.responsible_branch_id = site_branch_id
        if event_type == EventType.RETURNED:
            state.returned_at = _earliest(state.returned_at, event_time)
        target, exception = EVENT_STATUS[event_type]
        if target == state.status and target == WaybillStatus.EXCEPTION:
            state.exception_kind = exception            # a further exception: the latest kind shows
        elif target in ALLOWED[state.status]:
            state.status, state.status_at = target, event_time
            state.exception_kind = exception
            if target == WaybillStatus.DELIVERED:
                state.delivered_at = event_time
        elif state.status_at is None and target == state.status:
            state.status_at = event_time               # the first "created" scan dates the status
    return state


def fold_all(events: list[tuple]) -> WaybillState:
    """The state of a waybill from all of its events (any order)."""
    ordered = sorted(events, key=lambda e: sort_key(e[0], e[1], e[2]))
    return fold(WaybillState(), ordered)
