"""Writes of the data-leak incident register (DOMAIN.md §6: a leak is remedied and reported to the
local postal authority at once; incidents are recorded with timeline and affected records).

Every write needs `compliance.manage_incidents`, locks the incident, checks the state under the
lock and appends one insert-only timeline event (IncidentEvent). Timeline events carry ids, counts
and the names of what changed — never a personal value; only what a person types as a note or a
remedial action is written as the event's text.

Affected records are found by a query (kind + parameters, kept on the incident so it can be re-run)
and replaced in one INSERT … SELECT inside the database: an incident may touch 100k records, and
no personal value ever passes through Python. Each record carries a `person_key` so the people
affected can be counted: "c:<customer id>" where the record names a customer, else a digest of the
phone's blind index salted with the incident id ("p:…": the same phone counts once within the
incident, but the key is neither the blind index itself nor comparable across incidents, so an
erasure that drops a person's blind indexes leaves nothing here that matches them), "k:<contact
id>" for a company's contact person without a phone, "m:<membership id>" for an employee."""
from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from tenancy.inputs import clean_choice, clean_text
from tenancy.models import Branch, Membership, User
from tenancy.scoping import current_tenant_id
from tenancy.services import number_next, require_perm

from .. import rules
from ..models import (
    AccessLog,
    AffectedRecord,
    Incident,
    IncidentEvent,
    IncidentSeverity,
    IncidentStatus,
    RemedialAction,
)

PERM = "compliance.manage_incidents"
PROPOSE_PERM = "penalties.add_violationcase"
VIOLATION_CODE = "DATA_LEAK"
# A proposal links at most this many access-log rows (the newest), like the access detector.
VIOLATION_ACCESS_LOG_CAP = 200
MAX_CUSTOMER_NUMBERS = 10_000
UNSET = object()
# Times typed in are taken within these years (beyond them the arithmetic of the clocks overflows).
MIN_YEAR, MAX_YEAR = 1970, 2999


class EventKind:
    OPENED = "opened"
    UPDATED = "updated"
    AFFECTED = "affected"
    CONTAINED = "contained"
    CLOSED = "closed"
    AUTHORITY = "authority"
    PEOPLE = "people"
    ACTION_ADDED = "action_added"
    ACTION_DONE = "action_done"
    VIOLATION = "violation"
    NOTE = "note"


class QueryKind:
    ACCESS_LOG = "access_log"
    WAYBILLS = "waybills"
    CUSTOMERS = "customers"
    TICKETS = "tickets"
    ALL = (ACCESS_LOG, WAYBILLS, CUSTOMERS, TICKETS)


# --- helpers -----------------------------------------------------------------------------------------

def _event(incident: Incident, kind: str, actor: User | None, *, now, body: str = "", data=None) -> IncidentEvent:
    return IncidentEvent.objects.create(incident=incident, kind=kind, actor=actor, body=body, data=data or {},
                                        created_at=now)


def _lock(incident: Incident) -> Incident:
    return Incident.objects.select_for_update(of=("self",)).get(pk=incident.pk)


def _not_closed(incident: Incident) -> None:
    if incident.status == IncidentStatus.CLOSED:
        raise ValidationError({"status": _("This incident is closed.")})


def _moment(value, field: str, *, now, required: bool = False) -> dt.datetime | None:
    """A point in time typed in (aware, not in the future), or a field error."""
    if value in (None, ""):
        if required:
            raise ValidationError({field: _("Enter the date and time.")})
        return None
    if not isinstance(value, dt.datetime) or not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValidationError({field: _("Enter a valid date and time.")})
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value > now + dt.timedelta(minutes=5):  # a few minutes of clock skew between browser and server
        raise ValidationError({field: _("The time cannot be in the future.")})
    return value


def _member(value, field: str) -> Membership | None:
    if value is None:
        return None
    if not isinstance(value, Membership) or value.tenant_id != current_tenant_id() or not value.is_active:
        raise ValidationError({field: _("Choose an active employee.")})
    return value


def _branch(value, field: str) -> Branch | None:
    if value is None:
        return None
    if not isinstance(value, Branch) or value.tenant_id != current_tenant_id():
        raise ValidationError({field: _("Choose a branch.")})
    return value


def _timeline_check(occurred_at, detected_at) -> None:
    if occurred_at and detected_at and occurred_at > detected_at:
        raise ValidationError({"occurred_at": _("It cannot have happened after it was detected.")})


# --- open, edit, contain, close --------------------------------------------------------------------------

def incident_open(*, actor: User, title: str, description: str, severity: str, occurred_at=None,
                  detected_at=None, branch: Branch | None = None, owner: Membership | None = None,
                  now: dt.datetime | None = None) -> Incident:
    """Record a data-leak incident; its authority clock runs from `detected_at` (default now)."""
    require_perm(actor, PERM)
    now = now or timezone.now()
    title = clean_text(title, "title", required=True, limit=200, message=_("Give the incident a title."))
    description = clean_text(description, "description", required=True, message=_("Describe what happened."))
    clean_choice(severity, "severity", IncidentSeverity)
    occurred_at = _moment(occurred_at, "occurred_at", now=now)
    detected_at = _moment(detected_at, "detected_at", now=now) or now
    _timeline_check(occurred_at, detected_at)
    branch = _branch(branch, "branch")
    owner = _member(owner, "owner")
    with transaction.atomic():
        number = f"INC-{timezone.localdate(now):%Y}-{number_next('incident'):05d}"
        incident = Incident.objects.create(
            number=number, title=title, description=description, severity=severity, branch=branch, owner=owner,
            occurred_at=occurred_at, detected_at=detected_at, created_by=actor, created_at=now)
        _event(incident, EventKind.OPENED, actor, now=now, data={"number": number, "severity": severity})
    return incident


def incident_update(*, actor: User, incident: Incident, title=UNSET, description=UNSET, severity=UNSET,
                    occurred_at=UNSET, detected_at=UNSET, branch=UNSET, owner=UNSET,
                    now: dt.datetime | None = None) -> Incident:
    """Change the facts of an open incident; what is not passed keeps its value. The timeline names
    the fields changed (a severity change with its values), never the text typed."""
    require_perm(actor, PERM)
    now = now or timezone.now()
    changes: dict = {}
    if title is not UNSET:
        changes["title"] = clean_text(title, "title", required=True, limit=200,
                                      message=_("Give the incident a title."))
    if description is not UNSET:
        changes["description"] = clean_text(description, "description", required=True,
                                            message=_("Describe what happened."))
    if severity is not UNSET:
        changes["severity"] = clean_choice(severity, "severity", IncidentSeverity)
    if occurred_at is not UNSET:
        changes["occurred_at"] = _moment(occurred_at, "occurred_at", now=now)
    if detected_at is not UNSET:
        changes["detected_at"] = _moment(detected_at, "detected_at", now=now, required=True)
    if branch is not UNSET:
        changes["branch"] = _branch(branch, "branch")
    if owner is not UNSET:
        changes["owner"] = _member(owner, "owner")
    with transaction.atomic():
        incident = _lock(incident)
        _not_closed(incident)
        _timeline_check(changes.get("occurred_at", incident.occurred_at),
                        changes.get("detected_at", incident.detected_at))
        changed = []
        data: dict = {}
        for name, value in changes.items():
            field = Incident._meta.get_field(name)
            if getattr(incident, field.attname) != (value.pk if hasattr(value, "pk") else value):
                changed.append(name)
                if name == "severity":
                    data["severity"] = {"from": incident.severity, "to": value}
                setattr(incident, name, value)
        if changed:
            incident.save(update_fields=changed)
            _event(incident, EventKind.UPDATED, actor, now=now, data={"fields": changed, **data})
    return incident


def incident_contain(*, actor: User, incident: Incident, now: dt.datetime | None = None) -> Incident:
    """The leak is stopped (the hole is closed); the remedial work and the reports go on."""
    require_perm(actor, PERM)
    now = now or timezone.now()
    with transaction.atomic():
        incident = _lock(incident)
        if incident.status != IncidentStatus.OPEN:
            raise ValidationError({"status": _("Only an open incident can be marked contained.")})
        incident.status = IncidentStatus.CONTAINED
        incident.contained_at = now
        incident.save(update_fields=["status", "contained_at"])
        _event(incident, EventKind.CONTAINED, actor, now=now)
    return incident


def incident_close(*, actor: User, incident: Incident, now: dt.datetime | None = None) -> Incident:
    """Close the incident: only once the authority was notified and every remedial action is done."""
    require_perm(actor, PERM)
    now = now or timezone.now()
    with transaction.atomic():
        incident = _lock(incident)
        _not_closed(incident)
        errors: dict[str, str] = {}
        if incident.authority_notified_at is None:
            errors["authority_notified_at"] = _("Report the incident to the postal authority before closing it.")
        open_actions = incident.actions.filter(done_at__isnull=True).count()
        if open_actions:
            errors["actions"] = _("%(n)d remedial action(s) are not done yet.") % {"n": open_actions}
        if errors:
            raise ValidationError(errors)
        incident.status = IncidentStatus.CLOSED
        incident.closed_at = now
        if incident.contained_at is None:
            incident.contained_at = now
        incident.save(update_fields=["status", "closed_at", "contained_at"])
        _event(incident, EventKind.CLOSED, actor, now=now)
    return incident


# --- affected records --------------------------------------------------------------------------------------

def _window_end(value, field: str) -> tuple[dt.datetime, str]:
    return _window_point(value, field, end=True)


def _window_point(value, field: str, *, end: bool = False) -> tuple[dt.datetime, str]:
    """A window bound typed as a date (the whole day) or a date and time; returns (the bound as an
    aware datetime — for an end, the first moment after it — and its ISO text for the stored query)."""
    if value in (None, ""):
        raise ValidationError({field: _("Enter a date or a date and time.")})
    moment = None
    day = None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        day = value
    elif isinstance(value, str) and len(value) <= 40:
        text = value.strip()
        try:
            moment = parse_datetime(text) if ("T" in text or " " in text) else None
            day = parse_date(text) if moment is None else None
        except ValueError:
            moment = day = None
    if (moment is None and day is None) or not MIN_YEAR <= (moment or day).year <= MAX_YEAR:
        raise ValidationError({field: _("Enter a date (2026-03-01) or a date and time (2026-03-01T09:30).")})
    if day is not None:
        start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
        return (start + dt.timedelta(days=1) if end else start), day.isoformat()
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return (moment + dt.timedelta(microseconds=1) if end else moment), moment.isoformat()


def _window(query: dict) -> tuple[dt.datetime, dt.datetime, dict]:
    errors = {}
    start = end = None
    stored = {}
    try:
        start, stored["from"] = _window_point(query.get("from"), "from")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        end, stored["to"] = _window_end(query.get("to"), "to")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    if end <= start:
        raise ValidationError({"to": _("The end is before the start.")})
    return start, end, stored


def _id(value, field: str, message: str) -> int:
    if isinstance(value, bool):
        raise ValidationError({field: message})
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if hasattr(value, "pk"):
        value = value.pk
    if not isinstance(value, int) or not 0 < value < 2**63:
        raise ValidationError({field: message})
    return value


def _branch_subtree_ids(value, field: str = "branch") -> tuple[list[int] | None, int | None]:
    """The ids of a branch and everything under it, or (None, None) for the whole company."""
    if value in (None, ""):
        return None, None
    message = _("Choose a branch.")
    branch = Branch.objects.filter(pk=_id(value, field, message)).first()
    if branch is None:
        raise ValidationError({field: message})
    return list(Branch.objects.filter(path__startswith=branch.path).values_list("pk", flat=True)), branch.pk


def _customer_numbers(value) -> list[str]:
    if isinstance(value, str):
        value = re.split(r"[\s,;，；]+", value)
    if not isinstance(value, list | tuple):
        raise ValidationError({"numbers": _("List the customer numbers.")})
    numbers = []
    for item in value:
        if not isinstance(item, str):
            raise ValidationError({"numbers": _("Customer numbers are text.")})
        item = item.strip()
        if not item:
            continue
        if len(item) > 20 or not item.isprintable():
            raise ValidationError({"numbers": _("“%(number)s” is not a customer number.") % {"number": item[:20]}})
        numbers.append(item)
    numbers = sorted(set(numbers))
    if not numbers:
        raise ValidationError({"numbers": _("List the customer numbers.")})
    if len(numbers) > MAX_CUSTOMER_NUMBERS:
        raise ValidationError({"numbers": _("At most %(n)d customer numbers at a time.") % {"n": MAX_CUSTOMER_NUMBERS}})
    return numbers


def affected_query_clean(query) -> dict:
    """The query checked and normalised (what is stored on the incident); each problem names its
    parameter. Parameters of other kinds are ignored."""
    if not isinstance(query, dict):
        raise ValidationError({"kind": _("Choose what to search.")})
    kind = query.get("kind")
    if kind not in QueryKind.ALL:
        raise ValidationError({"kind": _("Choose one of: %(choices)s.") % {"choices": ", ".join(QueryKind.ALL)}})
    if kind == QueryKind.CUSTOMERS:
        numbers = _customer_numbers(query.get("numbers"))
        found = set(_tenant_customers(numbers).values_list("number", flat=True))
        unknown = [n for n in numbers if n not in found]
        if unknown:
            raise ValidationError({"numbers": _("No such customer here: %(numbers)s") % {
                "numbers": ", ".join(unknown[:10]) + ("…" if len(unknown) > 10 else "")}})
        return {"kind": kind, "numbers": numbers}
    errors = {}
    normalised: dict = {"kind": kind}
    if kind == QueryKind.ACCESS_LOG:
        message = _("Choose the employee whose reveals and exports are searched.")
        try:
            user_id = _id(query.get("actor"), "actor", message)
            if not Membership.objects.filter(user_id=user_id).exists():
                raise ValidationError({"actor": message})
            normalised["actor"] = user_id
        except ValidationError as exc:
            errors.update(exc.message_dict)
    else:
        try:
            _ids, branch_id = _branch_subtree_ids(query.get("branch"))
            normalised["branch"] = branch_id
        except ValidationError as exc:
            errors.update(exc.message_dict)
    try:
        _start, _end, stored = _window(query)
        normalised.update(stored)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return normalised


def _tenant_customers(numbers):
    from customers.models import Customer

    return Customer.objects.filter(number__in=numbers)


def _table(app_label: str, model_name: str) -> str:
    from django.apps import apps

    return connection.ops.quote_name(apps.get_model(app_label, model_name)._meta.db_table)


def _phone_key(column: str, incident_id: int) -> str:
    """SQL: "p:" + a digest of the blind index salted with the incident (NULL without a phone)."""
    return (f"('p:' || left(encode(sha256(convert_to('{int(incident_id)}:' || NULLIF({column}, ''), 'UTF8')), "
            f"'hex'), 32))")


def _source_sql(query: dict, *, tenant_id: int, incident_id: int) -> tuple[str, list]:
    """SQL selecting (target_type, target_id, person_key) of the records the query finds — the
    tenant named explicitly on every table, besides row-level security."""
    kind = query["kind"]
    if kind == QueryKind.CUSTOMERS:
        return (f"SELECT 'customers.customer' AS target_type, c.id AS target_id, "  # noqa: S608 — names from model meta
                f"'c:' || c.id AS person_key "
                f"FROM {_table('customers', 'Customer')} c WHERE c.tenant_id = %s AND c.number = ANY(%s)",
                [tenant_id, list(query["numbers"])])
    start, _s = _window_point(query["from"], "from")
    end, _e = _window_end(query["to"], "to")
    if kind == QueryKind.ACCESS_LOG:
        log = _table("compliance", "AccessLog")
        window = "a.tenant_id = %s AND a.actor_id = %s AND a.created_at >= %s AND a.created_at < %s"
        window_params = [tenant_id, query["actor"], start, end]
        joins = [
            ("cp", "customers", "CustomerPhone", "customers.customerphone"),
            ("ad", "customers", "Address", "customers.address"),
            ("ct", "customers", "Contact", "customers.contact"),
            ("wb", "shipments", "Waybill", "shipments.waybill"),
            ("tk", "tickets", "Ticket", "tickets.ticket"),
        ]
        join_sql = " ".join(
            f"LEFT JOIN {_table(app, model)} {alias} ON h.target_type = '{label}' AND {alias}.tenant_id = %s "
            f"AND {alias}.id = h.target_id" for alias, app, model, label in joins)
        person = (
            "CASE h.target_type "
            "WHEN 'customers.customer' THEN 'c:' || h.target_id "
            "WHEN 'customers.customerphone' THEN 'c:' || cp.customer_id "
            "WHEN 'customers.address' THEN 'c:' || ad.customer_id "
            f"WHEN 'customers.contact' THEN COALESCE({_phone_key('ct.phone_bidx', incident_id)}, 'k:' || ct.id) "
            f"WHEN 'shipments.waybill' THEN COALESCE('c:' || wb.receiver_id, "
            f"{_phone_key('wb.receiver_phone_bidx', incident_id)}) "
            f"WHEN 'tickets.ticket' THEN COALESCE('c:' || tk.customer_id, "
            f"{_phone_key('tk.caller_phone_bidx', incident_id)}) "
            "WHEN 'tenancy.membership' THEN 'm:' || h.target_id END")
        sql = (f"WITH h AS (SELECT a.target_type, a.target_id FROM {log} a "  # noqa: S608 — names from model meta
               f"WHERE {window} AND a.target_id IS NOT NULL "
               f"UNION SELECT a.target_type, x.id FROM {log} a CROSS JOIN LATERAL unnest(a.export_ids) AS x(id) "
               f"WHERE {window}) "
               f"SELECT h.target_type, h.target_id, {person} AS person_key FROM h {join_sql}")
        return sql, [*window_params, *window_params, *([tenant_id] * len(joins))]
    branch_ids, _branch_id = _branch_subtree_ids(query.get("branch"))
    if kind == QueryKind.WAYBILLS:
        sql = (f"SELECT 'shipments.waybill' AS target_type, w.id AS target_id, "  # noqa: S608 — names from model meta
               f"COALESCE('c:' || w.receiver_id, {_phone_key('w.receiver_phone_bidx', incident_id)}) AS person_key "
               f"FROM {_table('shipments', 'Waybill')} w "
               f"WHERE w.tenant_id = %s AND w.created_at >= %s AND w.created_at < %s")
        params: list = [tenant_id, start, end]
        if branch_ids is not None:
            sql += (" AND (w.origin_branch_id = ANY(%s) OR w.destination_branch_id = ANY(%s) "
                    "OR w.responsible_branch_id = ANY(%s))")
            params += [branch_ids, branch_ids, branch_ids]
        return sql, params
    sql = (f"SELECT 'tickets.ticket' AS target_type, t.id AS target_id, "  # noqa: S608 — names from model meta
           f"COALESCE('c:' || t.customer_id, {_phone_key('t.caller_phone_bidx', incident_id)}) AS person_key "
           f"FROM {_table('tickets', 'Ticket')} t "
           f"WHERE t.tenant_id = %s AND t.created_at >= %s AND t.created_at < %s")
    params = [tenant_id, start, end]
    if branch_ids is not None:
        sql += " AND t.branch_id = ANY(%s)"
        params.append(branch_ids)
    return sql, params


def incident_find_affected(*, actor: User, incident: Incident, query: dict,
                           now: dt.datetime | None = None) -> Incident:
    """Replace the incident's affected records with what `query` finds (see the module doc) and
    store the query and the counts. Kinds: `access_log` (actor = user id, from, to: the records that
    person revealed or exported in the window), `waybills` / `tickets` (branch id with its subtree,
    optional; from, to: when created), `customers` (numbers: a list of customer numbers)."""
    require_perm(actor, PERM)
    now = now or timezone.now()
    normalised = affected_query_clean(query)
    tenant_id = current_tenant_id()
    with transaction.atomic():
        incident = _lock(incident)
        _not_closed(incident)
        table = connection.ops.quote_name(AffectedRecord._meta.db_table)
        source, params = _source_sql(normalised, tenant_id=tenant_id, incident_id=incident.pk)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s AND incident_id = %s",  # noqa: S608
                           [tenant_id, incident.pk])
            cursor.execute(
                f"INSERT INTO {table} (tenant_id, incident_id, target_type, target_id, person_key) "  # noqa: S608
                f"SELECT %s, %s, s.target_type, s.target_id, COALESCE(s.person_key, '') FROM ({source}) s "
                f"ON CONFLICT DO NOTHING", [tenant_id, incident.pk, *params])
            cursor.execute(
                f"SELECT target_type, count(*) FROM {table} "  # noqa: S608
                f"WHERE tenant_id = %s AND incident_id = %s GROUP BY target_type ORDER BY target_type",
                [tenant_id, incident.pk])
            by_type = {row[0]: row[1] for row in cursor.fetchall()}
            cursor.execute(
                f"SELECT count(DISTINCT NULLIF(person_key, '')) FROM {table} "  # noqa: S608
                f"WHERE tenant_id = %s AND incident_id = %s", [tenant_id, incident.pk])
            people = cursor.fetchone()[0]
        incident.affected_query = normalised
        incident.affected_count = sum(by_type.values())
        incident.people_count = people
        incident.save(update_fields=["affected_query", "affected_count", "people_count"])
        _event(incident, EventKind.AFFECTED, actor, now=now, data={
            "kind": normalised["kind"], "affected_count": incident.affected_count,
            "people_count": incident.people_count, "by_type": by_type})
    return incident


# --- notifications ------------------------------------------------------------------------------------------

def incident_notify_authority(*, actor: User, incident: Incident, authority_name: str = "", reference: str = "",
                              notified_at=None, now: dt.datetime | None = None) -> Incident:
    """The report to the postal authority (DOMAIN.md §6). A later report (a correction, a follow-up)
    replaces the stored one; the timeline keeps each."""
    require_perm(actor, PERM)
    now = now or timezone.now()
    authority_name = clean_text(authority_name, "authority_name", limit=120) or str(rules.DEFAULT_AUTHORITY)
    reference = clean_text(reference, "reference", limit=120)
    notified_at = _moment(notified_at, "notified_at", now=now, required=True)
    with transaction.atomic():
        incident = _lock(incident)
        _not_closed(incident)
        if notified_at < incident.detected_at - dt.timedelta(minutes=5):
            raise ValidationError({"notified_at": _("The report cannot predate the detection of the incident.")})
        incident.authority_name = authority_name
        incident.authority_reference = reference
        incident.authority_notified_at = notified_at
        incident.save(update_fields=["authority_name", "authority_reference", "authority_notified_at"])
        due = incident.detected_at + dt.timedelta(hours=rules.INCIDENT_AUTHORITY_HOURS.value())
        _event(incident, EventKind.AUTHORITY, actor, now=now, data={
            "authority_name": authority_name, "reference": reference, "notified_at": notified_at.isoformat(),
            "late": notified_at > due})
    return incident


def incident_notify_people(*, actor: User, incident: Incident, count, channel: str, notified_at=None,
                           now: dt.datetime | None = None) -> Incident:
    """The people affected were told (how many, how)."""
    require_perm(actor, PERM)
    now = now or timezone.now()
    if isinstance(count, str) and count.strip().isdigit():
        count = int(count.strip())
    if isinstance(count, bool) or not isinstance(count, int) or not 0 < count < 2**31:
        raise ValidationError({"count": _("Enter how many people were told (a whole number above zero).")})
    channel = clean_text(channel, "channel", required=True, limit=120,
                         message=_("Say how the people were told (SMS, letter, phone …)."))
    notified_at = _moment(notified_at, "notified_at", now=now, required=True)
    with transaction.atomic():
        incident = _lock(incident)
        _not_closed(incident)
        incident.people_notified_at = notified_at
        incident.people_notified_count = count
        incident.people_notice_channel = channel
        incident.save(update_fields=["people_notified_at", "people_notified_count", "people_notice_channel"])
        _event(incident, EventKind.PEOPLE, actor, now=now, data={
            "count": count, "channel": channel, "notified_at": notified_at.isoformat()})
    return incident


# --- remedial actions and notes ---------------------------------------------------------------------------

def incident_action_add(*, actor: User, incident: Incident, description: str, owner: Membership | None = None,
                        due_on: dt.date | None = None, now: dt.datetime | None = None) -> RemedialAction:
    require_perm(actor, PERM)
    now = now or timezone.now()
    description = clean_text(description, "description", required=True, limit=300,
                             message=_("Describe the action."))
    owner = _member(owner, "owner")
    if due_on is not None and (not isinstance(due_on, dt.date) or isinstance(due_on, dt.datetime)):
        raise ValidationError({"due_on": _("Enter a valid date.")})
    with transaction.atomic():
        incident = _lock(incident)
        _not_closed(incident)
        action = RemedialAction.objects.create(incident=incident, description=description, owner=owner,
                                               due_on=due_on, created_at=now)
        _event(incident, EventKind.ACTION_ADDED, actor, now=now, body=description, data={
            "action_id": action.pk, "owner": owner.pk if owner else None,
            "due_on": due_on.isoformat() if due_on else None})
    return action


def incident_action_complete(*, actor: User, incident: Incident, action: RemedialAction,
                             now: dt.datetime | None = None) -> RemedialAction:
    require_perm(actor, PERM)
    now = now or timezone.now()
    with transaction.atomic():
        incident = _lock(incident)
        _not_closed(incident)
        action = RemedialAction.objects.select_for_update().filter(pk=action.pk, incident=incident).first()
        if action is None:
            raise ValidationError({"action": _("No such remedial action on this incident.")})
        if action.done_at is not None:
            raise ValidationError({"action": _("This action is already done.")})
        action.done_at = now
        action.save(update_fields=["done_at"])
        _event(incident, EventKind.ACTION_DONE, actor, now=now, body=action.description,
               data={"action_id": action.pk})
    return action


def incident_add_note(*, actor: User, incident: Incident, body: str, now: dt.datetime | None = None) -> IncidentEvent:
    """A note on the timeline (also on a closed incident: the authority's answer may come later)."""
    require_perm(actor, PERM)
    now = now or timezone.now()
    body = clean_text(body, "body", required=True, message=_("Write the note."))
    with transaction.atomic():
        incident = _lock(incident)
        return _event(incident, EventKind.NOTE, actor, now=now, body=body)


# --- the violation proposal ---------------------------------------------------------------------------------

def _access_log_ids(incident: Incident) -> list[int]:
    """For an access-log query: the rows it matched (newest first, capped)."""
    query = incident.affected_query or {}
    if query.get("kind") != QueryKind.ACCESS_LOG:
        return []
    start, _s = _window_point(query["from"], "from")
    end, _e = _window_end(query["to"], "to")
    return list(AccessLog.objects.filter(actor_id=query["actor"], created_at__gte=start, created_at__lt=end)
                .order_by("-id").values_list("pk", flat=True)[:VIOLATION_ACCESS_LOG_CAP])


def incident_raise_violation(*, actor: User, incident: Incident, subject_membership: Membership | None = None,
                             branch: Branch | None = None, description: str,
                             now: dt.datetime | None = None) -> Incident:
    """Propose a fine of the company's `DATA_LEAK` catalogue entry against an employee or a branch
    (penalties: someone else confirms it). An access-log query's rows are linked as evidence."""
    from penalties.models import SubjectKind, ViolationType
    from penalties.services import case_propose

    require_perm(actor, PERM)
    require_perm(actor, PROPOSE_PERM)
    now = now or timezone.now()
    description = clean_text(description, "description", required=True, message=_("Describe what happened."))
    if subject_membership is not None and branch is not None:
        raise ValidationError({"branch": _("Choose an employee or a branch, not both.")})
    if subject_membership is None and branch is None:
        raise ValidationError({"subject_membership": _("Choose the employee or the branch.")})
    subject_membership = _member(subject_membership, "subject_membership")
    branch = _branch(branch, "branch")
    with transaction.atomic():
        incident = _lock(incident)
        if incident.violation_case_id:
            raise ValidationError({"violation_case": _("A violation was already proposed for this incident.")})
        violation_type = ViolationType.objects.filter(code=VIOLATION_CODE, is_active=True).first()
        if violation_type is None:
            raise ValidationError({"violation_type": _(
                "The violation catalogue has no active “%(code)s” entry.") % {"code": VIOLATION_CODE}})
        case = case_propose(
            actor=actor, violation_type=violation_type,
            subject_kind=SubjectKind.EMPLOYEE if subject_membership else SubjectKind.BRANCH,
            subject_membership=subject_membership, branch=branch, description=description,
            occurred_on=timezone.localdate(incident.occurred_at or incident.detected_at),
            access_log_ids=_access_log_ids(incident), now=now)
        incident.violation_case = case
        incident.save(update_fields=["violation_case"])
        _event(incident, EventKind.VIOLATION, actor, now=now, data={"case_id": case.pk, "case_number": case.number})
    return incident


__all__ = [
    "EventKind", "QueryKind", "affected_query_clean", "incident_action_add", "incident_action_complete",
    "incident_add_note", "incident_close", "incident_contain", "incident_find_affected", "incident_notify_authority",
    "incident_notify_people", "incident_open", "incident_raise_violation", "incident_update",
]
