"""Bulk tracking-event ingest (ARCHITECTURE.md §5): validate in plain code, store new events once,
fold them into the waybills' status, keep the daily volume, open exception tickets.

Set-based from end to end — a batch of 1,000 events is a handful of statements, not 1,000 ORM
saves — because ingest is the busiest write path of the product (docs/benchmarks.md).
Idempotent: an event is identified by its source event id, and a replayed batch stores nothing,
updates nothing and opens nothing. Out-of-order arrival gives the same state as in-order
(shipments.status)."""
from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.regions import normalize_city, normalize_province
from tenancy import crypto
from tenancy.normalize import normalize_phone, normalize_text
from tenancy.scoping import current_tenant_id
from tickets.services import ExceptionTicketRequest, exception_tickets_open

from . import rules
from .models import EventType, ServiceProduct, TrackingEvent, Waybill
from .status import WaybillState, fold, fold_all, sort_key

_EVENT_TYPES = frozenset(EventType.values)
_PRODUCTS = frozenset(ServiceProduct.values)
_WAYBILL_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{5,39}$")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_ATTRIBUTES_CHARS = 2000
_MONEY_MAX = Decimal("9999999999.99")
_DETAIL_TEXT = {"sender_name": 120, "receiver_name": 120, "receiver_address": 300}


class EventError(ValueError):
    def __init__(self, field_name: str, reason: str):
        super().__init__(reason)
        self.field, self.reason = field_name, reason


@dataclass
class ParsedEvent:
    index: int
    source_id: str
    number: str
    event_type: str
    event_time: dt.datetime
    site_code: str
    operator: str
    attributes: dict
    details: dict | None


@dataclass
class IngestResult:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: list[dict] = field(default_factory=list)
    waybills_created: int = 0
    waybills_updated: int = 0
    tickets_opened: int = 0

    def as_dict(self) -> dict:
        return {"received": self.received, "stored": self.stored, "duplicates": self.duplicates,
                "rejected": self.rejected, "waybills_created": self.waybills_created,
                "waybills_updated": self.waybills_updated, "tickets_opened": self.tickets_opened}


# --- validation (plain code: a serializer per event costs ~35 ms per 1,000) -----------------------

def _text(raw: dict, name: str, max_length: int, *, required: bool = False) -> str:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            raise EventError(name, _("This field is required."))
        return ""
    if not isinstance(value, str):
        raise EventError(name, _("Must be a string."))
    value = value.strip()
    if required and not value:
        raise EventError(name, _("This field is required."))
    if len(value) > max_length:
        raise EventError(name, _("At most %(n)d characters.") % {"n": max_length})
    if _CONTROL.search(value):
        raise EventError(name, _("Control characters are not allowed."))
    return value


def _money(raw: dict, name: str) -> Decimal:
    value = raw.get(name)
    if value is None or value == "":
        return Decimal("0.00")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise EventError(f"waybill.{name}", _("Enter an amount in CNY."))
    try:
        amount = Decimal(str(value))
        if amount.is_finite():
            amount = amount.quantize(Decimal("0.01"))
    except InvalidOperation:
        raise EventError(f"waybill.{name}", _("Enter an amount in CNY.")) from None
    if not amount.is_finite() or amount < 0 or amount > _MONEY_MAX:
        raise EventError(f"waybill.{name}", _("Enter an amount between 0 and 9,999,999,999.99."))
    return amount


def _details(raw) -> dict:
    """The waybill block a `created` event may carry (sender, receiver, route, money)."""
    if not isinstance(raw, dict):
        raise EventError("waybill", _("Must be an object."))
    details: dict = {}
    for name, max_length in _DETAIL_TEXT.items():
        try:
            value = _text(raw, name, max_length)
        except EventError as exc:
            raise EventError(f"waybill.{name}", exc.reason) from None
        details[name] = normalize_text(value) if value else ""
    for name in ("sender_phone", "receiver_phone"):
        value = raw.get(name)
        if value in (None, ""):
            details[name] = None
            continue
        if not isinstance(value, str):
            raise EventError(f"waybill.{name}", _("Must be a string."))
        try:
            details[name] = normalize_phone(value)
        except ValidationError:
            raise EventError(f"waybill.{name}", _("Enter a valid phone number.")) from None
    for name in ("sender_customer", "origin", "destination"):
        value = raw.get(name)
        if value in (None, ""):
            details[name] = ""
        elif not isinstance(value, str) or not _CODE.match(value.strip()):
            raise EventError(f"waybill.{name}", _("Enter a code of letters, digits, - or _."))
        else:
            details[name] = value.strip()
    province = raw.get("receiver_province") or ""
    city = raw.get("receiver_city") or ""
    if not isinstance(province, str) or not isinstance(city, str):
        raise EventError("waybill.receiver_province", _("Must be a string."))
    try:
        details["receiver_province"] = normalize_province(province) if province else ""
        details["receiver_city"] = normalize_city(details["receiver_province"], city) if city else ""
    except ValidationError as exc:
        field_name = "receiver_city" if province and details.get("receiver_province") else "receiver_province"
        raise EventError(f"waybill.{field_name}", " ".join(exc.messages)) from None
    product = raw.get("product") or ""
    if product and product not in _PRODUCTS:
        raise EventError("waybill.product", _("Unknown service product."))
    details["product"] = product
    weight = raw.get("weight_kg")
    if weight in (None, ""):
        details["weight_kg"] = None
    else:
        try:
            details["weight_kg"] = Decimal(str(weight))
            if details["weight_kg"].is_finite():
                details["weight_kg"] = details["weight_kg"].quantize(Decimal("0.001"))
        except InvalidOperation:
            raise EventError("waybill.weight_kg", _("Enter a weight in kg.")) from None
        if (isinstance(weight, bool) or not details["weight_kg"].is_finite()
                or not Decimal("0") < details["weight_kg"] <= Decimal("999999")):
            raise EventError("waybill.weight_kg", _("Enter a weight in kg."))
    for name in ("declared_value", "insured_amount", "service_fee"):
        details[name] = _money(raw, name)
    promised = raw.get("promised_date")
    if promised in (None, ""):
        details["promised_date"] = None
    else:
        try:
            details["promised_date"] = dt.date.fromisoformat(promised) if isinstance(promised, str) else None
        except ValueError:
            details["promised_date"] = None
        if details["promised_date"] is None:
            raise EventError("waybill.promised_date", _("Enter a date as YYYY-MM-DD."))
    return details


def parse_event(index: int, raw, *, earliest: dt.datetime, latest: dt.datetime) -> ParsedEvent:
    if not isinstance(raw, dict):
        raise EventError("", _("An event must be an object."))
    source_id = _text(raw, "event_id", 64, required=True)
    # Waybill numbers are case-insensitive on paper; stored upper-case so lookups stay exact.
    number = _text(raw, "waybill_number", 40, required=True).upper()
    if not _WAYBILL_NUMBER.match(number):
        raise EventError("waybill_number", _("A waybill number has 6–40 letters, digits or dashes."))
    event_type = raw.get("event_type")
    if not isinstance(event_type, str) or event_type not in _EVENT_TYPES:
        raise EventError("event_type", _("Unknown event type."))
    when = raw.get("event_time")
    if not isinstance(when, str):
        raise EventError("event_time", _("Enter an ISO 8601 time with its UTC offset."))
    try:
        event_time = dt.datetime.fromisoformat(when)
    except ValueError:
        raise EventError("event_time", _("Enter an ISO 8601 time with its UTC offset.")) from None
    if event_time.tzinfo is None:
        raise EventError("event_time", _("The time needs its UTC offset (e.g. +08:00)."))
    if not earliest <= event_time <= latest:
        raise EventError("event_time", _("The time is too far in the past or in the future."))
    site = raw.get("site") or ""
    if site and (not isinstance(site, str) or not _CODE.match(site)):
        raise EventError("site", _("Enter a site code of letters, digits, - or _."))
    operator = _text(raw, "operator", 60)
    attributes = raw.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise EventError("attributes", _("Must be an object."))
    if attributes:
        encoded = json.dumps(attributes, ensure_ascii=False)
        if len(encoded) > _MAX_ATTRIBUTES_CHARS:
            raise EventError("attributes", _("At most %(n)d characters of attributes.") % {"n": _MAX_ATTRIBUTES_CHARS})
        if "\\u0000" in encoded:           # PostgreSQL's jsonb cannot hold a NUL character
            raise EventError("attributes", _("Control characters are not allowed."))
    details = raw.get("waybill")
    if details is not None:
        if event_type != EventType.CREATED:
            raise EventError("waybill", _("Waybill details come with the created event only."))
        details = _details(details)
    return ParsedEvent(index, source_id, number, event_type, event_time.astimezone(dt.UTC), site, operator,
                       attributes, details)


def validate_batch(batch: list) -> tuple[list[ParsedEvent], list[dict]]:
    """Parse every event; returns the valid ones and the rejections (index, event id, field, reason).
    A second copy of an event id inside the batch is a duplicate, not an error."""
    now = timezone.now()
    earliest = now - dt.timedelta(days=rules.EVENT_MAX_AGE_DAYS.value())
    latest = now + dt.timedelta(minutes=rules.EVENT_MAX_FUTURE_MINUTES.value())
    valid, rejected = [], []
    for index, raw in enumerate(batch):
        try:
            valid.append(parse_event(index, raw, earliest=earliest, latest=latest))
        except EventError as exc:
            event_id = raw.get("event_id") if isinstance(raw, dict) and isinstance(raw.get("event_id"), str) else None
            rejected.append({"index": index, "event_id": event_id, "field": exc.field, "reason": exc.reason})
    return valid, rejected


# --- storing -------------------------------------------------------------------------------------

def _ensure_partitions(cursor, times) -> None:
    """The months' partitions exist before the insert (one cheap call per month in the batch; not
    cached in the process, since a rolled-back transaction takes a new partition with it)."""
    for month in sorted({t.date().replace(day=1) for t in times}):
        cursor.execute("SELECT crm_tracking_partition_ensure(%s)", [month])


def _branch_ids(cursor, tenant_id: int, codes: set[str]) -> dict[str, int]:
    if not codes:
        return {}
    cursor.execute("SELECT code, id FROM tenancy_branch WHERE tenant_id = %s AND code = ANY(%s)",
                   [tenant_id, list(codes)])
    return dict(cursor.fetchall())


def _waybill_ids(cursor, tenant_id: int, numbers: list[str]) -> tuple[dict[str, int], int]:
    """Ids of the batch's waybills; unknown numbers become waybills in state created."""
    table = Waybill._meta.db_table
    cursor.execute(f"SELECT number, id FROM {table} WHERE tenant_id = %s AND number = ANY(%s)", [tenant_id, numbers])
    ids = dict(cursor.fetchall())
    missing = [n for n in numbers if n not in ids]
    created = 0
    if missing:
        cursor.execute(
            f"""INSERT INTO {table} (tenant_id, number, sender_name, receiver_name, receiver_province, receiver_city,
                    product, declared_value, insured_amount, service_fee, status, exception_kind,
                    folded_event_id, volume_returned, created_at, updated_at)
                SELECT %s, n, '', '', '', '', '', 0, 0, 0, 'created', '', '', false, now(), now()
                FROM unnest(%s::text[]) AS n
                ON CONFLICT (tenant_id, number) DO NOTHING RETURNING number, id""",
            [tenant_id, missing],
        )
        rows = cursor.fetchall()
        created = len(rows)
        ids.update(rows)
        if len(rows) < len(missing):            # created meanwhile by a concurrent batch
            cursor.execute(f"SELECT number, id FROM {table} WHERE tenant_id = %s AND number = ANY(%s)",
                           [tenant_id, [n for n in missing if n not in ids]])
            ids.update(cursor.fetchall())
    return ids, created


def _as_json(rows: list[dict]) -> str:
    """Rows as one JSON parameter for jsonb_to_recordset: a single string crosses to the server
    far cheaper than one array parameter per column (psycopg dumps arrays element by element)."""
    return json.dumps(rows, ensure_ascii=False, default=str)


def _insert_events(cursor, tenant_id: int, events: list[ParsedEvent], waybill_ids: dict[str, int],
                   branches: dict[str, int]) -> list[tuple]:
    """Insert; a source event id already stored is skipped. Returns the rows actually stored."""
    table = TrackingEvent._meta.db_table
    cursor.execute(
        f"""INSERT INTO {table} (tenant_id, waybill_id, source_event_id, event_type, event_time, site_branch_id,
                site_code, operator, attributes, received_at)
            SELECT %s, v.waybill_id, v.source_id, v.event_type, v.event_time, v.site_branch_id, v.site_code,
                   v.operator, v.attributes, now()
            FROM jsonb_to_recordset(%s::jsonb)
                 AS v(waybill_id bigint, source_id text, event_type text, event_time timestamptz,
                      site_branch_id bigint, site_code text, operator text, attributes jsonb)
            ON CONFLICT (tenant_id, source_event_id, event_time) DO NOTHING
            RETURNING source_event_id""",
        [tenant_id, _as_json([
            {"waybill_id": waybill_ids[e.number], "source_id": e.source_id, "event_type": e.event_type,
             "event_time": e.event_time.isoformat(), "site_branch_id": branches.get(e.site_code),
             "site_code": e.site_code, "operator": e.operator, "attributes": e.attributes} for e in events])],
    )
    return [row[0] for row in cursor.fetchall()]


_STATE_COLUMNS = ("id", "status", "status_at", "exception_kind", "shipped_at", "delivered_at", "returned_at",
                  "last_scan_at", "responsible_branch_id", "folded_event_at", "folded_event_rank", "folded_event_id",
                  "origin_branch_id", "destination_branch_id", "sender_id", "service_fee", "volume_day",
                  "volume_customer_id", "volume_returned", "number")


def _lock_waybills(cursor, tenant_id: int, ids: list[int]) -> dict[int, dict]:
    cursor.execute(
        f"SELECT {', '.join(_STATE_COLUMNS)} FROM {Waybill._meta.db_table} WHERE tenant_id = %s AND id = ANY(%s) "
        "ORDER BY id FOR UPDATE",
        [tenant_id, ids],
    )
    return {row[0]: dict(zip(_STATE_COLUMNS, row, strict=True)) for row in cursor.fetchall()}


def _state_of(row: dict) -> WaybillState:
    folded = None
    if row["folded_event_at"] is not None:
        folded = (row["folded_event_at"], row["folded_event_rank"], row["folded_event_id"])
    return WaybillState(status=row["status"], status_at=row["status_at"], exception_kind=row["exception_kind"],
                        shipped_at=row["shipped_at"], delivered_at=row["delivered_at"],
                        returned_at=row["returned_at"], last_scan_at=row["last_scan_at"],
                        responsible_branch_id=row["responsible_branch_id"], folded=folded)


def _all_events(cursor, tenant_id: int, waybill_ids: list[int]) -> dict[int, list[tuple]]:
    cursor.execute(
        f"SELECT waybill_id, event_time, event_type, source_event_id, site_branch_id "
        f"FROM {TrackingEvent._meta.db_table} WHERE tenant_id = %s AND waybill_id = ANY(%s)",
        [tenant_id, waybill_ids],
    )
    events = defaultdict(list)
    for waybill_id, *event in cursor.fetchall():
        events[waybill_id].append(tuple(event))
    return events


def _apply_details(cursor, tenant_id: int, locked: dict[int, dict], details: dict[int, dict],
                   branches: dict[str, int]) -> None:
    """Fill waybills from their created event's details: sealed personal values, linked customers."""
    if not details:
        return
    table = Waybill._meta.db_table
    numbers = {d["sender_customer"] for d in details.values() if d["sender_customer"]}
    customers_by_number = {}
    if numbers:
        cursor.execute("SELECT number, id FROM customers_customer WHERE tenant_id = %s AND number = ANY(%s)",
                       [tenant_id, list(numbers)])
        customers_by_number = dict(cursor.fetchall())
    # Stored under the active index key; matched under every live one (during an index-key
    # rotation a customer's phone may still carry its index under the previous key).
    bidx, live = {}, {}
    for d in details.values():
        for name in ("sender_phone", "receiver_phone"):
            if d[name] and d[name] not in bidx:
                indexes = crypto.blind_indexes(d[name], tenant_id=tenant_id, kind="phone")
                bidx[d[name]] = indexes[0]
                live.update({index: indexes[0] for index in indexes})
    customers_by_phone = {}
    if bidx:
        cursor.execute(
            "SELECT DISTINCT ON (phone_bidx) phone_bidx, customer_id FROM customers_customerphone "
            "WHERE tenant_id = %s AND phone_bidx = ANY(%s) ORDER BY phone_bidx, customer_id",
            [tenant_id, list(live)],
        )
        customers_by_phone = {live[index]: customer_id for index, customer_id in cursor.fetchall()}
    rows = []
    for waybill_id, d in details.items():
        def seal(column, value, waybill_id=waybill_id):
            return crypto.seal(value, tenant_id=tenant_id, table=table, column=column, row_id=waybill_id) \
                if value else None
        sender_bidx = bidx.get(d["sender_phone"]) if d["sender_phone"] else None
        receiver_bidx = bidx.get(d["receiver_phone"]) if d["receiver_phone"] else None
        sender_id = customers_by_number.get(d["sender_customer"]) or customers_by_phone.get(sender_bidx)
        receiver_id = customers_by_phone.get(receiver_bidx)
        rows.append((waybill_id, sender_id, d["sender_name"], seal("sender_phone", d["sender_phone"]), sender_bidx,
                     receiver_id, d["receiver_name"], seal("receiver_phone", d["receiver_phone"]), receiver_bidx,
                     seal("receiver_address", d["receiver_address"]), d["receiver_province"], d["receiver_city"],
                     branches.get(d["origin"]), branches.get(d["destination"]), d["product"], d["weight_kg"],
                     d["declared_value"], d["insured_amount"], d["service_fee"], d["promised_date"]))
        locked[waybill_id].update(sender_id=sender_id, service_fee=d["service_fee"],
                                  origin_branch_id=branches.get(d["origin"]),
                                  destination_branch_id=branches.get(d["destination"]))
    columns = list(zip(*rows, strict=True))
    cursor.execute(
        f"""UPDATE {table} w SET sender_id = v.sender_id, sender_name = v.sender_name, sender_phone = v.sender_phone,
                sender_phone_bidx = v.sender_bidx, receiver_id = v.receiver_id, receiver_name = v.receiver_name,
                receiver_phone = v.receiver_phone, receiver_phone_bidx = v.receiver_bidx,
                receiver_address = v.receiver_address, receiver_province = v.province, receiver_city = v.city,
                origin_branch_id = v.origin_id, destination_branch_id = v.destination_id, product = v.product,
                weight_kg = v.weight_kg, declared_value = v.declared_value, insured_amount = v.insured_amount,
                service_fee = v.service_fee, promised_date = v.promised_date, updated_at = now()
            FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::bytea[], %s::text[], %s::bigint[], %s::text[],
                        %s::bytea[], %s::text[], %s::bytea[], %s::text[], %s::text[], %s::bigint[], %s::bigint[],
                        %s::text[], %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[], %s::date[])
                 AS v(id, sender_id, sender_name, sender_phone, sender_bidx, receiver_id, receiver_name,
                      receiver_phone, receiver_bidx, receiver_address, province, city, origin_id, destination_id,
                      product, weight_kg, declared_value, insured_amount, service_fee, promised_date)
            WHERE w.tenant_id = %s AND w.id = v.id""",
        [list(c) for c in columns] + [tenant_id],
    )


def _write_states(cursor, tenant_id: int, states: dict[int, WaybillState], locked: dict[int, dict]) -> int:
    rows = []
    for waybill_id, s in states.items():
        row = locked[waybill_id]
        responsible = s.responsible_branch_id or row["destination_branch_id"] or row["origin_branch_id"]
        if s.comparable() == _state_of(row).comparable() and responsible == row["responsible_branch_id"]:
            continue
        folded_at, folded_rank, folded_id = s.folded
        rows.append({"id": waybill_id, "status": s.status, "status_at": s.status_at,
                     "exception_kind": s.exception_kind, "shipped_at": s.shipped_at, "delivered_at": s.delivered_at,
                     "returned_at": s.returned_at, "last_scan_at": s.last_scan_at, "responsible": responsible,
                     "folded_at": folded_at, "folded_rank": folded_rank, "folded_id": folded_id})
    if not rows:
        return 0
    cursor.execute(
        f"""UPDATE {Waybill._meta.db_table} w SET status = v.status, status_at = v.status_at,
                exception_kind = v.exception_kind, shipped_at = v.shipped_at, delivered_at = v.delivered_at,
                returned_at = v.returned_at, last_scan_at = v.last_scan_at, responsible_branch_id = v.responsible,
                folded_event_at = v.folded_at, folded_event_rank = v.folded_rank, folded_event_id = v.folded_id,
                updated_at = now()
            FROM jsonb_to_recordset(%s::jsonb)
                 AS v(id bigint, status text, status_at timestamptz, exception_kind text, shipped_at timestamptz,
                      delivered_at timestamptz, returned_at timestamptz, last_scan_at timestamptz,
                      responsible bigint, folded_at timestamptz, folded_rank smallint, folded_id text)
            WHERE w.tenant_id = %s AND w.id = v.id""",
        [_as_json(rows), tenant_id],
    )
    return len(rows)


def _volume_increments(cursor, tenant_id: int, states: dict[int, WaybillState], locked: dict[int, dict]) -> None:
    """Add each parcel to its sender's day once (the day of its created scan, Asia/Shanghai by the
    tenant's clock), and each return once — incrementally, never by recounting."""
    from .services import daily_volume_add

    increments: dict[tuple[int, dt.date], list] = defaultdict(lambda: [0, Decimal("0"), 0])
    marks = []
    for waybill_id, s in states.items():
        row = locked[waybill_id]
        customer_id, shipped_at = row["sender_id"], s.shipped_at
        if customer_id is None or shipped_at is None or row["volume_day"] is not None:
            counted_day, counted_customer = row["volume_day"], row["volume_customer_id"]
            new = False
        else:
            counted_day, counted_customer = timezone.localdate(shipped_at), customer_id
            increments[(customer_id, counted_day)][0] += 1
            increments[(customer_id, counted_day)][1] += row["service_fee"] or Decimal("0")
            new = True
        returned = row["volume_returned"]
        if counted_day is not None and s.returned_at is not None and not returned:
            increments[(counted_customer, counted_day)][2] += 1
            returned = True
        if new or returned != row["volume_returned"]:
            marks.append((waybill_id, counted_day, counted_customer, returned))
    if not marks:
        return
    daily_volume_add([(c, d, p, r, ret) for (c, d), (p, r, ret) in increments.items()])
    cursor.execute(
        f"""UPDATE {Waybill._meta.db_table} w SET volume_day = v.day, volume_customer_id = v.customer_id,
                volume_returned = v.returned
            FROM unnest(%s::bigint[], %s::date[], %s::bigint[], %s::boolean[]) AS v(id, day, customer_id, returned)
            WHERE w.tenant_id = %s AND w.id = v.id""",
        [[m[0] for m in marks], [m[1] for m in marks], [m[2] for m in marks], [m[3] for m in marks], tenant_id],
    )


def _exception_requests(cursor, tenant_id: int, new_events: list[ParsedEvent], waybill_ids: dict[str, int],
                        locked: dict[int, dict], states: dict[int, WaybillState]) -> list[ExceptionTicketRequest]:
    from tickets.models import ExceptionKind

    wanted: dict[tuple[int, str], ParsedEvent] = {}
    lockers = []
    for event in new_events:
        waybill_id = waybill_ids[event.number]
        kind = rules.EVENT_EXCEPTIONS.get(event.event_type)
        if kind:
            wanted.setdefault((waybill_id, kind), event)
        elif event.event_type == EventType.DELIVERED_TO_LOCKER:
            lockers.append((waybill_id, event))
    if lockers and rules.LOCKER_NEEDS_CONSENT.value():
        cursor.execute(
            "SELECT waybill_id, min(recorded_at) FROM shipments_deliveryconsent "
            "WHERE tenant_id = %s AND waybill_id = ANY(%s) AND method = 'locker' GROUP BY waybill_id",
            [tenant_id, list({w for w, _e in lockers})],
        )
        consented = dict(cursor.fetchall())
        for waybill_id, event in lockers:
            if consented.get(waybill_id) is None or consented[waybill_id] > event.event_time:
                wanted.setdefault((waybill_id, ExceptionKind.LOCKER_NO_CONSENT), event)
    requests = []
    for (waybill_id, kind), event in wanted.items():
        row, state = locked[waybill_id], states[waybill_id]
        category, priority = rules.EXCEPTION_TICKET[kind]
        label = ExceptionKind(kind).label
        requests.append(ExceptionTicketRequest(
            waybill_id=waybill_id, kind=kind, category=category, priority=priority,
            branch_id=state.responsible_branch_id or row["destination_branch_id"] or row["origin_branch_id"],
            customer_id=row["sender_id"], subject=f"{row['number']} · {label}",
            description=_("%(event)s at %(time)s (event %(id)s, site %(site)s).") % {
                "event": EventType(event.event_type).label, "time": timezone.localtime(event.event_time)
                .strftime("%Y-%m-%d %H:%M"), "id": event.source_id, "site": event.site_code or "-"},
        ))
    return requests


def _bulk_cursor():
    """A server-side-binding cursor on Django's connection (same transaction and scope settings).
    Django's default client-side binding quotes every array element in Python, which cost more
    than the statements themselves for 1,000-event arrays."""
    import psycopg

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def tracking_events_ingest(batch: list) -> IngestResult:
    """Store a batch of raw events (dicts as received) for the current tenant; see module doc."""
    result = IngestResult(received=len(batch))
    valid, result.rejected = validate_batch(batch)
    seen: set[str] = set()
    events = []
    for event in valid:
        if event.source_id in seen:
            result.duplicates += 1
            continue
        seen.add(event.source_id)
        events.append(event)
    if not events:
        return result
    # Same order in every batch, so two batches sharing events take their index locks alike.
    events.sort(key=lambda e: e.source_id)
    tenant_id = current_tenant_id()
    with transaction.atomic(), _bulk_cursor() as cursor:
        _ensure_partitions(cursor, [e.event_time for e in events])
        branches = _branch_ids(cursor, tenant_id, {e.site_code for e in events if e.site_code} | {
            e.details[k] for e in events if e.details for k in ("origin", "destination") if e.details[k]})
        waybill_ids, result.waybills_created = _waybill_ids(cursor, tenant_id, sorted({e.number for e in events}))
        stored_ids = set(_insert_events(cursor, tenant_id, events, waybill_ids, branches))
        result.stored = len(stored_ids)
        result.duplicates += len(events) - len(stored_ids)
        if not stored_ids:
            return result
        new_events = [e for e in events if e.source_id in stored_ids]
        by_waybill: dict[int, list[ParsedEvent]] = defaultdict(list)
        for event in new_events:
            by_waybill[waybill_ids[event.number]].append(event)
        locked = _lock_waybills(cursor, tenant_id, sorted(by_waybill))
        _apply_details(cursor, tenant_id, locked, {
            waybill_ids[e.number]: e.details for e in new_events if e.details is not None}, branches)
        states, refold = {}, []
        for waybill_id, waybill_events in by_waybill.items():
            ordered = sorted(((e.event_time, e.event_type, e.source_id, branches.get(e.site_code))
                              for e in waybill_events), key=lambda t: sort_key(t[0], t[1], t[2]))
            state = _state_of(locked[waybill_id])
            if state.folded is not None and sort_key(*ordered[0][:3]) < state.folded:
                refold.append(waybill_id)       # an older event arrived late: fold this waybill again
            else:
                states[waybill_id] = fold(state, ordered)
        if refold:
            for waybill_id, all_events in _all_events(cursor, tenant_id, refold).items():
                states[waybill_id] = fold_all(all_events)
        result.waybills_updated = _write_states(cursor, tenant_id, states, locked)
        _volume_increments(cursor, tenant_id, states, locked)
        result.tickets_opened = exception_tickets_open(
            _exception_requests(cursor, tenant_id, new_events, waybill_ids, locked, states))
    return result
