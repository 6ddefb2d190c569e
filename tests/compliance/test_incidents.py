"""The data-leak incident register (issue 9 item 6, DOMAIN.md §6): services, pages and API.

An incident is recorded with a gapless number, a timeline of insert-only events and an authority
clock; affected records are found by a query (access log, waybills of a branch subtree, tickets of
a branch subtree, customer numbers) and replaced set-based with counts of records and people — no
personal value is stored or shown; it closes only once the authority was notified and every
remedial action is done; it can propose a DATA_LEAK fine. Company B's records are never counted
and B's incident is 404; auditors read and never write; bad input is a 400 naming the field and
changes nothing; list pages cost the same queries for few or many incidents."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from compliance.models import AccessLog, AffectedRecord, Incident, IncidentEvent, RemedialAction
from compliance.selectors import incidents as selectors
from compliance.services import incidents as services
from customers.models import CustomerKind
from customers.services import customer_create
from penalties.models import ViolationCase
from shipments.models import Waybill
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tickets.models import Ticket

from ..penalties.fines_world import act, seed_catalogue

pytestmark = pytest.mark.django_db

API = "/api/v1/compliance/incidents/"
NOW = timezone.now()
WINDOW_START = (NOW - dt.timedelta(days=3)).replace(microsecond=0)
IN_WINDOW = WINDOW_START + dt.timedelta(hours=6)
BEFORE_WINDOW = WINDOW_START - dt.timedelta(days=2)
PHONE_DIGITS = re.compile(r"1[3-9]\d{9}")


@pytest.fixture
def iw(world):
    seed_catalogue(world)
    return world


def admin(tw):
    return tw.user(Role.TENANT_ADMIN)


def opened(tw, **kwargs) -> Incident:
    fields = {"title": "快递面单外泄", "description": "网点打印的面单被拍照外传", "severity": "high"}
    fields.update(kwargs)
    return act(tw, admin(tw), services.incident_open, **fields)


def reload(tw, incident) -> Incident:
    with tenant_scope(tw.tenant):
        return Incident.objects.get(pk=incident.pk)


def events(tw, incident) -> list[IncidentEvent]:
    with tenant_scope(tw.tenant):
        return list(IncidentEvent.objects.filter(incident_id=incident.pk).order_by("id"))


def find(tw, incident, **query) -> Incident:
    return act(tw, admin(tw), services.incident_find_affected, incident=incident, query=query)


def waybill(tw, number, *, branch, created_at, receiver=None, phone="", origin=True) -> Waybill:
    with tenant_scope(tw.tenant):
        w = Waybill(number=number, receiver=receiver, receiver_name="李四", created_at=created_at,
                    **({"origin_branch": branch} if origin else {"destination_branch": branch}))
        if phone:
            w.receiver_phone = phone
        w.save()
        return w


def ticket(tw, number, *, branch, created_at, customer=None, phone="") -> Ticket:
    with tenant_scope(tw.tenant):
        t = Ticket(number=number, category="complaint", channel="phone", subject="投诉", branch=branch,
                   customer=customer, created_at=created_at)
        if phone:
            t.caller_phone = phone
        t.save()
        return t


def person(tw, name, phone):
    return act(tw, admin(tw), customer_create, kind=CustomerKind.PERSON, name=name, phones=[phone])


def affected(tw, incident) -> set[tuple[str, int]]:
    with tenant_scope(tw.tenant):
        return set(AffectedRecord.objects.filter(incident_id=incident.pk).values_list("target_type", "target_id"))


def person_keys(tw, incident) -> list[str]:
    with tenant_scope(tw.tenant):
        return list(AffectedRecord.objects.filter(incident_id=incident.pk).values_list("person_key", flat=True))


def field_errors(exc_info) -> set[str]:
    return set(exc_info.value.message_dict)


class Api:
    def __init__(self, client):
        self.client = client

    def get(self, url, params=None):
        return self.client.get(url, params or {})

    def post(self, url, data=None):
        return self.client.post(url, json.dumps(data if data is not None else {}), content_type="application/json")

    def patch(self, url, data):
        return self.client.patch(url, json.dumps(data), content_type="application/json")


def api(world, tw, role=Role.TENANT_ADMIN) -> Api:
    return Api(world.client_for(tw.user(role)))


# --- services: lifecycle and guards -------------------------------------------------------------------

def test_lifecycle_numbers_timeline_and_close_guards(iw):
    tw = iw.a
    first = opened(tw, occurred_at=NOW - dt.timedelta(days=1), branch=tw.branch, owner=tw.members[Role.EXECUTIVE])
    second = opened(tw, severity="low")
    year = timezone.localdate().year
    assert first.number == f"INC-{year}-00001" and second.number == f"INC-{year}-00002"
    assert first.status == "open" and first.created_by == admin(tw)
    assert [e.kind for e in events(tw, first)] == ["opened"]

    # closing needs the authority report and every remedial action done — both named
    action = act(tw, admin(tw), services.incident_action_add, incident=first, description="重置网点打印机权限",
                 owner=tw.members[Role.BRANCH_MANAGER], due_on=timezone.localdate())
    with pytest.raises(ValidationError) as exc:
        act(tw, admin(tw), services.incident_close, incident=first)
    assert field_errors(exc) == {"authority_notified_at", "actions"}
    assert reload(tw, first).status == "open"

    act(tw, admin(tw), services.incident_contain, incident=first)
    with pytest.raises(ValidationError) as exc:
        act(tw, admin(tw), services.incident_contain, incident=first)
    assert field_errors(exc) == {"status"}
    act(tw, admin(tw), services.incident_notify_authority, incident=first, authority_name="", reference="YZ-1",
        notified_at=timezone.now())
    with pytest.raises(ValidationError) as exc:
        act(tw, admin(tw), services.incident_close, incident=first)
    assert field_errors(exc) == {"actions"}
    act(tw, admin(tw), services.incident_action_complete, incident=first, action=action)
    with pytest.raises(ValidationError) as exc:
        act(tw, admin(tw), services.incident_action_complete, incident=first, action=action)
    assert field_errors(exc) == {"action"}
    act(tw, admin(tw), services.incident_notify_people, incident=first, count=3, channel="短信",
        notified_at=timezone.now())
    act(tw, admin(tw), services.incident_add_note, incident=first, body="已向管理局电话报备")
    closed = act(tw, admin(tw), services.incident_close, incident=first)
    assert closed.status == "closed" and closed.closed_at and closed.contained_at

    incident = reload(tw, first)
    assert incident.authority_name  # the default authority when none is typed
    assert incident.authority_reference == "YZ-1"
    assert (incident.people_notified_count, incident.people_notice_channel) == (3, "短信")
    assert [e.kind for e in events(tw, first)] == [
        "opened", "action_added", "contained", "authority", "action_done", "people", "note", "closed"]
    # a closed incident takes no more changes (a note still goes on the timeline)
    for service, kwargs in [(services.incident_update, {"title": "新标题"}),
                            (services.incident_notify_authority, {"notified_at": timezone.now()}),
                            (services.incident_action_add, {"description": "再做一次"}),
                            (services.incident_find_affected, {"query": {"kind": "customers", "numbers": ["X"]}})]:
        with pytest.raises(ValidationError):
            act(tw, admin(tw), service, incident=first, **kwargs)
    act(tw, admin(tw), services.incident_add_note, incident=first, body="管理局回函")
    assert reload(tw, first).title == "快递面单外泄"


def test_update_names_the_fields_changed_not_their_text(iw):
    tw = iw.a
    incident = opened(tw)
    act(tw, admin(tw), services.incident_update, incident=incident, title="新标题 13812345678", severity="critical",
        branch=tw.other_branch)
    incident = reload(tw, incident)
    assert (incident.title, incident.severity, incident.branch_id) == ("新标题 13812345678", "critical",
                                                                        tw.other_branch.pk)
    update = events(tw, incident)[-1]
    assert update.kind == "updated" and set(update.data["fields"]) == {"title", "severity", "branch"}
    assert update.data["severity"] == {"from": "high", "to": "critical"}
    assert "13812345678" not in update.body + json.dumps(update.data)
    # nothing changed → no event
    act(tw, admin(tw), services.incident_update, incident=incident, severity="critical")
    assert len(events(tw, incident)) == 2


def test_bad_input_names_the_fields_and_changes_nothing(iw):
    tw = iw.a
    cases = [
        ({"title": " ", "description": "x", "severity": "high"}, {"title"}),
        ({"title": "t", "description": "", "severity": "high"}, {"description"}),
        ({"title": "t", "description": "x", "severity": "huge"}, {"severity"}),
        ({"title": "t", "description": "x", "severity": "high", "detected_at": NOW + dt.timedelta(days=1)},
         {"detected_at"}),
        ({"title": "t", "description": "x", "severity": "high", "occurred_at": NOW - dt.timedelta(hours=1),
          "detected_at": NOW - dt.timedelta(hours=2)}, {"occurred_at"}),
    ]
    for fields, expected in cases:
        with pytest.raises(ValidationError) as exc:
            act(tw, admin(tw), services.incident_open, **fields)
        assert field_errors(exc) == expected, fields
    with tenant_scope(tw.tenant):
        assert not Incident.objects.exists()

    incident = opened(tw)
    bad = [
        (services.incident_notify_authority, {"notified_at": None}, {"notified_at"}),
        (services.incident_notify_authority, {"notified_at": NOW + dt.timedelta(days=2)}, {"notified_at"}),
        (services.incident_notify_authority, {"notified_at": NOW - dt.timedelta(days=9)}, {"notified_at"}),
        (services.incident_notify_people, {"count": 0, "channel": "短信", "notified_at": NOW}, {"count"}),
        (services.incident_notify_people, {"count": 2, "channel": " ", "notified_at": NOW}, {"channel"}),
        (services.incident_action_add, {"description": ""}, {"description"}),
        (services.incident_add_note, {"body": ""}, {"body"}),
    ]
    for service, kwargs, expected in bad:
        with pytest.raises(ValidationError) as exc:
            act(tw, admin(tw), service, incident=incident, **kwargs)
        assert field_errors(exc) == expected, (service.__name__, kwargs)
    incident = reload(tw, incident)
    assert incident.authority_notified_at is None and incident.people_notified_at is None
    assert [e.kind for e in events(tw, incident)] == ["opened"]


@pytest.mark.parametrize("query, expected", [
    ({}, {"kind"}),
    ({"kind": "everything"}, {"kind"}),
    ({"kind": "access_log"}, {"actor", "from", "to"}),
    ({"kind": "access_log", "actor": "abc", "from": "yesterday", "to": "2026-13-01"}, {"actor", "from", "to"}),
    ({"kind": "waybills", "branch": 10**12, "from": "2026-03-01", "to": "2026-03-02"}, {"branch"}),
    ({"kind": "waybills", "from": "2026-03-05", "to": "2026-03-01"}, {"to"}),
    ({"kind": "tickets", "from": "2026-03-01"}, {"to"}),
    ({"kind": "customers"}, {"numbers"}),
    ({"kind": "customers", "numbers": ["NO-SUCH-1"]}, {"numbers"}),
    ({"kind": "customers", "numbers": "x" * 30}, {"numbers"}),
])
def test_bad_queries_name_their_parameters_and_change_nothing(iw, query, expected):
    tw = iw.a
    incident = opened(tw)
    ticket(tw, "T-KEEP", branch=tw.branch, created_at=IN_WINDOW)
    find(tw, incident, kind="tickets", **{"from": WINDOW_START.isoformat(), "to": NOW.isoformat()})
    with pytest.raises(ValidationError) as exc:
        find(tw, incident, **query)
    assert field_errors(exc) == expected
    incident = reload(tw, incident)
    assert incident.affected_count == 1 and incident.affected_query["kind"] == "tickets"
    assert len(affected(tw, incident)) == 1
    assert [e.kind for e in events(tw, incident)] == ["opened", "affected"]


def test_only_incident_managers_write(iw):
    tw = iw.a
    for role in (Role.AUDITOR, Role.EXECUTIVE, Role.BRANCH_MANAGER, Role.AGENT):
        with pytest.raises(PermissionDenied):
            act(tw, tw.user(role), services.incident_open, title="t", description="d", severity="low")
    incident = opened(tw)
    with pytest.raises(PermissionDenied):
        act(tw, tw.user(Role.AUDITOR), services.incident_find_affected, incident=incident,
            query={"kind": "customers", "numbers": ["X"]})
    with pytest.raises(PermissionDenied):
        act(tw, tw.user(Role.AUDITOR), services.incident_add_note, incident=incident, body="x")
    assert [e.kind for e in events(tw, incident)] == ["opened"]


# --- affected records -------------------------------------------------------------------------------------

def test_waybills_by_branch_subtree_and_window_count_records_and_people(iw):
    tw, other = iw.a, iw.b
    customer = person(tw, "王五", "13700000001")
    w1 = waybill(tw, "W1", branch=tw.branch, created_at=IN_WINDOW, phone="13900000001")
    w2 = waybill(tw, "W2", branch=tw.branch, created_at=IN_WINDOW, phone="13900000001")  # same person
    w3 = waybill(tw, "W3", branch=tw.branch, created_at=IN_WINDOW, receiver=customer, phone="13700000001")
    w4 = waybill(tw, "W4", branch=tw.other_branch, created_at=IN_WINDOW, phone="13900000002", origin=False)
    waybill(tw, "W5", branch=tw.branch, created_at=BEFORE_WINDOW, phone="13900000003")  # before the window
    waybill(tw, "W6", branch=tw.branch, created_at=IN_WINDOW)  # no receiver known: a record, no person
    for i in range(3):  # company B's parcels in the same window are never counted
        waybill(other, f"W{i + 1}", branch=other.branch, created_at=IN_WINDOW, phone="13900000001")

    incident = opened(tw)
    window = {"from": WINDOW_START.isoformat(), "to": timezone.localdate().isoformat()}
    found = find(tw, incident, kind="waybills", branch=tw.branch.pk, **window)
    assert (found.affected_count, found.people_count) == (4, 2)
    with tenant_scope(tw.tenant):
        w6 = Waybill.objects.get(number="W6")
    assert affected(tw, incident) == {("shipments.waybill", w.pk) for w in (w1, w2, w3, w6)}
    assert f"c:{customer.pk}" in person_keys(tw, incident)

    # the region takes its subtree (the other branch's parcel as destination too)
    found = find(tw, incident, kind="waybills", branch=tw.region.pk, **window)
    assert (found.affected_count, found.people_count) == (5, 3)
    assert ("shipments.waybill", w4.pk) in affected(tw, incident)
    # the whole company, from a date-time
    found = find(tw, incident, kind="waybills", **{"from": (BEFORE_WINDOW - dt.timedelta(hours=1)).isoformat(),
                                                    "to": NOW.isoformat()})
    assert (found.affected_count, found.people_count) == (6, 4)

    incident = reload(tw, incident)
    assert incident.affected_query["kind"] == "waybills" and incident.affected_query["branch"] is None
    last = events(tw, incident)[-1]
    assert last.kind == "affected" and last.data["affected_count"] == 6 and last.data["people_count"] == 4
    assert last.data["by_type"] == {"shipments.waybill": 6}
    # no personal value (nor a blind index) is stored with the records or on the timeline
    with tenant_scope(tw.tenant):
        blind = set(Waybill.objects.exclude(receiver_phone_bidx=None).values_list("receiver_phone_bidx", flat=True))
    stored = " ".join(person_keys(tw, incident)) + " ".join(json.dumps(e.data) + e.body for e in events(tw, incident))
    assert not PHONE_DIGITS.search(stored) and blind and not any(b in stored for b in blind)


def test_tickets_by_branch_subtree_and_window(iw):
    tw, other = iw.a, iw.b
    customer = person(tw, "赵六", "13700000009")
    t1 = ticket(tw, "T1", branch=tw.branch, created_at=IN_WINDOW, customer=customer)
    t2 = ticket(tw, "T2", branch=tw.branch, created_at=IN_WINDOW, phone="13900000005")
    t3 = ticket(tw, "T3", branch=tw.other_branch, created_at=IN_WINDOW, phone="13900000005")  # same caller
    ticket(tw, "T4", branch=tw.hq, created_at=IN_WINDOW, phone="13900000006")  # outside the region
    ticket(tw, "T5", branch=tw.branch, created_at=BEFORE_WINDOW, phone="13900000007")
    ticket(other, "T1", branch=other.branch, created_at=IN_WINDOW, phone="13900000005")
    incident = opened(tw)
    found = find(tw, incident, kind="tickets", branch=str(tw.region.pk),
                 **{"from": WINDOW_START.date().isoformat(), "to": NOW.date().isoformat()})
    assert (found.affected_count, found.people_count) == (3, 2)
    assert affected(tw, incident) == {("tickets.ticket", t.pk) for t in (t1, t2, t3)}


def test_customers_by_number(iw):
    tw, other = iw.a, iw.b
    first = person(tw, "甲一", "13700000011")
    second = person(tw, "甲二", "13700000012")
    b_customers = [person(other, f"乙{i}", f"1370000002{i}") for i in range(4)]
    incident = opened(tw)
    found = find(tw, incident, kind="customers", numbers=f"{first.number}\n{second.number}, {first.number}")
    assert (found.affected_count, found.people_count) == (2, 2)
    assert affected(tw, incident) == {("customers.customer", first.pk), ("customers.customer", second.pk)}
    assert reload(tw, incident).affected_query == {"kind": "customers",
                                                   "numbers": sorted([first.number, second.number])}
    # B's customer numbers are unknown here (the last ones are past A's sequence)
    with pytest.raises(ValidationError) as exc:
        find(tw, incident, kind="customers", numbers=[b_customers[-1].number])
    assert field_errors(exc) == {"numbers"}
    assert reload(tw, incident).affected_count == 2


def test_access_log_window_of_one_employee(iw):
    tw, other = iw.a, iw.b
    agent = tw.members[Role.AGENT]
    x = person(tw, "客户X", "13700000031")
    y = person(tw, "客户Y", "13700000032")
    z = person(tw, "客户Z", "13700000033")
    w = waybill(tw, "WA", branch=tw.branch, created_at=IN_WINDOW, phone="13900000031")
    with tenant_scope(tw.tenant):
        phone = x.phones.get()
        rows = [
            AccessLog.objects.create(action="reveal", actor=agent.user, actor_role="agent",
                                     target_type="customers.customer", target_id=x.pk, fields=["id_number"],
                                     reason="核对", created_at=IN_WINDOW),
            AccessLog.objects.create(action="reveal", actor=agent.user, actor_role="agent",
                                     target_type="customers.customerphone", target_id=phone.pk, fields=["phone"],
                                     reason="核对", created_at=IN_WINDOW + dt.timedelta(minutes=1)),
            AccessLog.objects.create(action="export", actor=agent.user, actor_role="agent",
                                     target_type="customers.customer", target_id=None, export_ids=[y.pk, z.pk, x.pk],
                                     export_row_count=3, reason="导出", created_at=IN_WINDOW + dt.timedelta(minutes=2)),
            AccessLog.objects.create(action="reveal", actor=agent.user, actor_role="agent",
                                     target_type="shipments.waybill", target_id=w.pk, fields=["receiver_phone"],
                                     reason="派送", created_at=IN_WINDOW + dt.timedelta(minutes=3)),
        ]
        # outside the window, and someone else in the window: not counted
        AccessLog.objects.create(action="reveal", actor=agent.user, actor_role="agent", target_type="shipments.waybill",
                                 target_id=999, fields=["receiver_phone"], reason="x", created_at=BEFORE_WINDOW)
        AccessLog.objects.create(action="reveal", actor=admin(tw), actor_role="tenant_admin",
                                 target_type="shipments.waybill", target_id=998, fields=["receiver_phone"],
                                 reason="x", created_at=IN_WINDOW)
    with tenant_scope(other.tenant):
        AccessLog.objects.create(action="reveal", actor=other.user(Role.AGENT), actor_role="agent",
                                 target_type="customers.customer", target_id=x.pk, fields=["phone"], reason="x",
                                 created_at=IN_WINDOW)
    incident = opened(tw)
    window = {"from": WINDOW_START.isoformat(), "to": NOW.isoformat()}
    found = find(tw, incident, kind="access_log", actor=agent.user_id, **window)
    assert affected(tw, incident) == {("customers.customer", x.pk), ("customers.customerphone", phone.pk),
                                      ("customers.customer", y.pk), ("customers.customer", z.pk),
                                      ("shipments.waybill", w.pk)}
    assert (found.affected_count, found.people_count) == (5, 4)  # X's phone is X
    with tenant_scope(tw.tenant):
        summary = {row["target_type"]: (row["records"], row["people"])
                   for row in selectors.affected_by_type(reload(tw, incident))}
    assert summary == {"customers.customer": (3, 3), "customers.customerphone": (1, 1), "shipments.waybill": (1, 1)}

    # another company's user is not a person here
    with pytest.raises(ValidationError) as exc:
        find(tw, incident, kind="access_log", actor=other.user(Role.AGENT).pk, **window)
    assert field_errors(exc) == {"actor"}

    # the violation proposal links the query's access-log rows
    proposed = act(tw, admin(tw), services.incident_raise_violation, incident=incident, subject_membership=agent,
                   description="坐席批量导出客户信息")
    with tenant_scope(tw.tenant):
        case = ViolationCase.objects.select_related("violation_type").get(pk=proposed.violation_case_id)
    assert case.violation_type.code == "DATA_LEAK" and case.status == "proposed"
    assert case.subject_kind == "employee" and case.subject_membership_id == agent.pk
    assert sorted(case.access_log_ids) == sorted(r.pk for r in rows)
    assert case.proposed_by == admin(tw)
    assert events(tw, incident)[-1].kind == "violation"
    assert events(tw, incident)[-1].data == {"case_id": case.pk, "case_number": case.number}
    with pytest.raises(ValidationError) as exc:
        act(tw, admin(tw), services.incident_raise_violation, incident=incident, branch=tw.branch, description="再来")
    assert field_errors(exc) == {"violation_case"}


def test_violation_against_a_branch_and_its_guards(iw):
    tw = iw.a
    incident = opened(tw, occurred_at=NOW - dt.timedelta(days=2))
    for kwargs, expected in [({}, {"subject_membership"}),
                             ({"branch": tw.branch, "subject_membership": tw.members[Role.AGENT]}, {"branch"}),
                             ({"branch": tw.branch, "description": ""}, {"description"})]:
        with pytest.raises(ValidationError) as exc:
            act(tw, admin(tw), services.incident_raise_violation, incident=incident,
                **{"description": "网点泄露", **kwargs})
        assert field_errors(exc) == expected
    # someone without the right to handle incidents proposes nothing here
    with pytest.raises(PermissionDenied):
        act(tw, tw.user(Role.EXECUTIVE), services.incident_raise_violation, incident=incident, branch=tw.branch,
            description="网点泄露")
    done = act(tw, admin(tw), services.incident_raise_violation, incident=incident, branch=tw.branch,
               description="网点泄露")
    with tenant_scope(tw.tenant):
        case = ViolationCase.objects.get(pk=done.violation_case_id)
        assert ViolationCase.objects.count() == 1
    assert (case.subject_kind, case.branch_id, case.access_log_ids) == ("branch", tw.branch.pk, [])
    assert case.occurred_on == timezone.localdate(NOW - dt.timedelta(days=2))


def test_rerun_replaces_and_query_cost_does_not_grow_with_rows(iw):
    tw = iw.a
    incident = opened(tw)
    window = {"from": WINDOW_START.isoformat(), "to": NOW.isoformat()}
    for i in range(5):
        waybill(tw, f"S{i}", branch=tw.branch, created_at=IN_WINDOW, phone=f"139000001{i:02d}")
    with CaptureQueriesContext(connection) as few:
        find(tw, incident, kind="waybills", **window)
    with tenant_scope(tw.tenant):
        Waybill.objects.bulk_create([Waybill(number=f"M{i}", origin_branch=tw.branch, created_at=IN_WINDOW,
                                             receiver_phone=f"139100{i:05d}") for i in range(400)])
    with CaptureQueriesContext(connection) as many:
        found = find(tw, incident, kind="waybills", **window)
    assert (found.affected_count, found.people_count) == (405, 405)
    assert len(many.captured_queries) <= len(few.captured_queries)
    found = find(tw, incident, kind="waybills", branch=tw.other_branch.pk, **window)
    assert (found.affected_count, found.people_count) == (0, 0)
    assert affected(tw, incident) == set()


# --- overdue, list and overview ------------------------------------------------------------------------

def test_authority_clock_overdue_filter_and_overview(iw):
    tw = iw.a
    late = opened(tw, detected_at=NOW - dt.timedelta(hours=30), severity="critical")
    reported = opened(tw, detected_at=NOW - dt.timedelta(hours=30), severity="high")
    act(tw, admin(tw), services.incident_notify_authority, incident=reported, notified_at=NOW)
    fresh = opened(tw, detected_at=NOW - dt.timedelta(hours=1), severity="high")
    closed = opened(tw, detected_at=NOW - dt.timedelta(hours=40), severity="low")
    act(tw, admin(tw), services.incident_notify_authority, incident=closed, notified_at=NOW)
    act(tw, admin(tw), services.incident_close, incident=closed)
    opened(iw.b, detected_at=NOW - dt.timedelta(hours=30), severity="critical")  # B's
    with tenant_scope(tw.tenant, user=admin(tw)):
        assert [i.pk for i in selectors.incident_list(overdue=True)] == [late.pk]
        assert {i.pk for i in selectors.incident_list(overdue=False)} == {reported.pk, fresh.pk, closed.pk}
        assert {i.pk for i in selectors.incident_list(status="closed")} == {closed.pk}
        assert {i.pk for i in selectors.incident_list(severity="high")} == {reported.pk, fresh.pk}
        clocks = {i.pk: selectors.authority_clock(i)["state"] for i in selectors.incident_list()}
        assert clocks == {late.pk: "overdue", reported.pk: "reported", fresh.pk: "due", closed.pk: "reported"}
        assert selectors.authority_clock(reload(tw, reported))["late"] is True
        with CaptureQueriesContext(connection) as queries:
            overview = selectors.incident_overview()
        assert len(queries.captured_queries) <= 2  # the rule value and one aggregate
    assert overview == {"open_by_severity": {"low": 0, "medium": 0, "high": 2, "critical": 1}, "open_total": 3,
                        "authority_overdue": 1}


# --- pages ----------------------------------------------------------------------------------------------

def page_url(incident) -> str:
    return reverse("compliance:incident_page", args=[incident.pk])


def test_pages_record_find_report_and_close(iw):
    tw = iw.a
    client = iw.client_for(admin(tw))
    new = reverse("compliance:incident_new")
    response = client.post(new, {"title": "打印面单外泄", "description": "", "severity": "high"})
    assert response.status_code == 400 and "打印面单外泄" in response.content.decode()
    assert response.context["form"].errors.keys() == {"description"}
    response = client.post(new, {"title": "打印面单外泄", "description": "网点面单被拍照", "severity": "high",
                                 "branch": tw.branch.pk, "detected_at": "2020-01-01T09:30"})
    assert response.status_code == 302
    with tenant_scope(tw.tenant):
        incident = Incident.objects.get()
    assert response["Location"] == page_url(incident)
    assert timezone.localtime(incident.detected_at).strftime("%Y-%m-%d %H:%M") == "2020-01-01 09:30"

    page = client.get(page_url(incident))
    body = page.content.decode()
    assert page.status_code == 200 and 'data-clock="overdue"' in body
    for form_id in ("incident-query-form", "incident-authority-form", "incident-people-form",
                    "incident-action-form", "incident-violation-form", "incident-note-form", "incident-close"):
        assert form_id in body, form_id

    waybill(tw, "P1", branch=tw.branch, created_at=IN_WINDOW, phone="13900000077")
    bad = client.post(page_url(incident), {"action": "find_affected", "query-kind": "waybills",
                                           "query-from": "bogus", "query-to": "2026-01-01"})
    assert bad.status_code == 400 and "bogus" in bad.content.decode()
    assert bad.context["forms"]["find_affected"].errors.keys() == {"from"}
    ok = client.post(page_url(incident), {"action": "find_affected", "query-kind": "waybills",
                                          "query-branch": tw.branch.pk, "query-from": WINDOW_START.date().isoformat(),
                                          "query-to": NOW.date().isoformat()})
    assert ok.status_code == 302
    page = client.get(page_url(incident)).content.decode()
    assert 'data-type="shipments.waybill"' in page and "13900000077" not in page

    closing = client.post(page_url(incident), {"action": "close"})
    assert closing.status_code == 400 and reload(tw, incident).status == "open"
    assert 'id="incident-status-errors"' in closing.content.decode()
    client.post(page_url(incident), {"action": "action_add", "act-description": "封存打印机", "act-due_on": ""})
    with tenant_scope(tw.tenant):
        action = RemedialAction.objects.get()
    client.post(page_url(incident), {"action": "action_complete", "action_id": action.pk})
    reported = client.post(page_url(incident), {"action": "authority", "authority-authority_name": "",
                                                "authority-reference": "", "authority-notified_at":
                                                timezone.localtime().strftime("%Y-%m-%dT%H:%M")})
    assert reported.status_code == 302
    violation = client.post(page_url(incident), {"action": "violation", "violation-subject_kind": "branch",
                                                 "violation-branch": tw.branch.pk, "violation-description": "泄露"})
    assert violation.status_code == 302
    assert client.post(page_url(incident), {"action": "close"}).status_code == 302
    incident = reload(tw, incident)
    assert incident.status == "closed" and incident.violation_case_id and incident.affected_count == 1
    assert [e.kind for e in events(tw, incident)] == [
        "opened", "affected", "action_added", "action_done", "authority", "violation", "closed"]


def test_auditor_reads_everything_and_writes_nothing(iw):
    tw = iw.a
    incident = opened(tw)
    act(tw, admin(tw), services.incident_action_add, incident=incident, description="封存打印机")
    auditor = iw.client_for(tw.user(Role.AUDITOR))
    assert auditor.get(reverse("compliance:incident_list")).status_code == 200
    page = auditor.get(page_url(incident))
    body = page.content.decode()
    assert page.status_code == 200 and "封存打印机" in body
    for form_id in ("incident-query-form", "incident-authority-form", "incident-people-form", "incident-action-form",
                    "incident-violation-form", "incident-note-form", "incident-edit-form", "incident-status-buttons",
                    'name="action_id"'):
        assert form_id not in body, form_id
    assert auditor.get(reverse("compliance:incident_new")).status_code == 403
    assert auditor.post(page_url(incident), {"action": "note", "note-body": "x"}).status_code == 403
    reads = Api(auditor)
    assert reads.get(API).status_code == 200
    assert reads.get(f"{API}{incident.pk}/").status_code == 200
    assert reads.get(f"{API}{incident.pk}/affected/").status_code == 200
    for url, data in [(API, {"title": "t", "description": "d"}), (f"{API}{incident.pk}/notes/", {"body": "x"}),
                      (f"{API}{incident.pk}/close/", {}), (f"{API}{incident.pk}/contain/", {}),
                      (f"{API}{incident.pk}/find-affected/", {"kind": "customers", "numbers": ["X"]})]:
        assert reads.post(url, data).status_code == 403, url
    assert reads.patch(f"{API}{incident.pk}/", {"title": "x"}).status_code == 403
    # roles without the compliance view see nothing
    agent = iw.client_for(tw.user(Role.AGENT))
    assert agent.get(reverse("compliance:incident_list")).status_code == 403
    assert agent.get(page_url(incident)).status_code == 403
    assert Api(agent).get(API).status_code == 403
    assert [e.kind for e in events(tw, incident)] == ["opened", "action_added"]


def test_another_companys_incident_is_404(iw):
    a, b = iw.a, iw.b
    theirs = opened(b)
    client = iw.client_for(admin(a))
    assert client.get(page_url(theirs)).status_code == 404
    assert client.post(page_url(theirs), {"action": "note", "note-body": "x"}).status_code == 404
    calls = Api(client)
    assert calls.get(f"{API}{theirs.pk}/").status_code == 404
    assert calls.post(f"{API}{theirs.pk}/notes/", {"body": "x"}).status_code == 404
    assert calls.post(f"{API}{theirs.pk}/close/").status_code == 404
    assert calls.get(f"{API}{theirs.pk}/affected/").status_code == 404
    assert calls.get(API).json()["results"] == []
    # B's branch, employee and access-log actor are unknown in A
    mine = opened(a)
    response = calls.post(f"{API}{mine.pk}/find-affected/", {"kind": "waybills", "branch": b.branch.pk,
                                                            "from": "2026-01-01", "to": "2026-01-02"})
    assert response.status_code == 400 and set(response.json()["error"]["fields"]) == {"branch"}
    response = calls.post(f"{API}{mine.pk}/raise-violation/", {"subject_membership": b.members[Role.AGENT].pk,
                                                              "description": "x"})
    assert response.status_code == 400 and set(response.json()["error"]["fields"]) == {"subject_membership"}
    # A's remedial action through B's… and B's through A's incident: 404
    with tenant_scope(b.tenant, user=admin(b)):
        their_action = services.incident_action_add(actor=admin(b), incident=theirs, description="x")
    assert calls.post(f"{API}{mine.pk}/actions/{their_action.pk}/complete/").status_code == 404
    assert [e.kind for e in events(b, theirs)] == ["opened", "action_added"]


# --- API ------------------------------------------------------------------------------------------------

def test_api_whole_way(iw):
    tw = iw.a
    calls = api(iw, tw)
    created = calls.post(API, {"title": "接口外泄", "description": "第三方接口被撞库", "severity": "critical",
                               "branch": tw.branch.pk, "owner": tw.members[Role.EXECUTIVE].pk})
    assert created.status_code == 201, created.content
    data = created.json()
    pk = data["id"]
    assert data["number"].startswith("INC-") and data["authority_state"] == "due"
    assert data["events"][0]["kind"] == "opened"
    assert calls.patch(f"{API}{pk}/", {"severity": "high"}).json()["severity"] == "high"

    customer = person(tw, "接口客户", "13700000055")
    found = calls.post(f"{API}{pk}/find-affected/", {"kind": "customers", "numbers": [customer.number]})
    assert found.status_code == 200 and found.json()["affected_count"] == 1 and found.json()["people_count"] == 1
    assert found.json()["affected_by_type"] == [{"target_type": "customers.customer", "records": 1, "people": 1}]
    records = calls.get(f"{API}{pk}/affected/").json()
    assert [set(r) for r in records["results"]] == [{"id", "target_type", "target_id"}]
    assert records["results"][0]["target_id"] == customer.pk

    added = calls.post(f"{API}{pk}/actions/", {"description": "封禁接口密钥", "owner": tw.members[Role.EXECUTIVE].pk,
                                               "due_on": timezone.localdate().isoformat()})
    assert added.status_code == 201
    action_id = added.json()["actions"][0]["id"]
    closing = calls.post(f"{API}{pk}/close/")
    assert closing.status_code == 400
    assert set(closing.json()["error"]["fields"]) == {"authority_notified_at", "actions"}
    assert calls.post(f"{API}{pk}/contain/").json()["status"] == "contained"
    assert calls.post(f"{API}{pk}/actions/{action_id}/complete/").json()["actions"][0]["done_at"]
    assert calls.post(f"{API}{pk}/actions/999999/complete/").status_code == 404
    reported = calls.post(f"{API}{pk}/notify-authority/", {"notified_at": timezone.now().isoformat(),
                                                           "reference": "YZ-9"})
    assert reported.status_code == 200 and reported.json()["authority_state"] == "reported"
    people = calls.post(f"{API}{pk}/notify-people/", {"count": 1, "channel": "短信",
                                                      "notified_at": timezone.now().isoformat()})
    assert people.json()["people_notified_count"] == 1
    assert calls.post(f"{API}{pk}/notes/", {"body": "已处理"}).status_code == 201
    raised = calls.post(f"{API}{pk}/raise-violation/", {"branch": tw.branch.pk, "description": "接口外泄"})
    assert raised.status_code == 201 and raised.json()["violation_case_number"]
    closed = calls.post(f"{API}{pk}/close/")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert [e["kind"] for e in closed.json()["events"]] == [
        "opened", "updated", "affected", "action_added", "contained", "action_done", "authority", "people", "note",
        "violation", "closed"]
    assert "13700000055" not in json.dumps(closed.json())


def test_api_bad_input_is_400_naming_fields_and_changes_nothing(iw):
    tw = iw.a
    calls = api(iw, tw)
    assert set(calls.post(API, {"title": "", "severity": "huge"}).json()["error"]["fields"]) == {
        "title", "description", "severity"}
    incident = opened(tw)
    url = f"{API}{incident.pk}/"
    cases = [
        ("find-affected/", {}, {"kind"}),
        ("find-affected/", {"kind": "access_log", "actor": tw.user(Role.AGENT).pk, "from": "nope", "to": "2026-01-01"},
         {"from"}),
        ("find-affected/", {"kind": "tickets", "from": "2026-03-02", "to": "2026-03-01"}, {"to"}),
        ("find-affected/", {"kind": "customers", "numbers": "C1"}, {"numbers"}),
        ("notify-authority/", {"notified_at": "yesterday"}, {"notified_at"}),
        ("notify-people/", {"count": 0, "channel": "", "notified_at": timezone.now().isoformat()},
         {"count", "channel"}),
        ("actions/", {"description": "", "owner": 10**9}, {"description", "owner"}),
        ("raise-violation/", {"description": "x"}, {"subject_membership"}),
        ("notes/", {"body": ""}, {"body"}),
    ]
    for suffix, data, expected in cases:
        response = calls.post(url + suffix, data)
        assert response.status_code == 400, (suffix, response.content)
        assert set(response.json()["error"]["fields"]) == expected, (suffix, response.json())
    assert calls.patch(url, {"detected_at": (NOW + dt.timedelta(days=3)).isoformat()}).status_code == 400
    assert calls.get(API, {"severity": "huge"}).status_code == 400
    assert calls.get(API, {"branch": 10**12}).status_code == 400
    incident = reload(tw, incident)
    assert incident.affected_query == {} and incident.authority_notified_at is None
    assert [e.kind for e in events(tw, incident)] == ["opened"]
    with tenant_scope(tw.tenant):
        assert not RemedialAction.objects.exists() and not ViolationCase.objects.exists()


def test_api_list_filters(iw):
    tw = iw.a
    late = opened(tw, detected_at=NOW - dt.timedelta(hours=30), severity="critical", branch=tw.branch)
    opened(tw, severity="low", branch=tw.other_branch)
    calls = api(iw, tw, Role.AUDITOR)
    assert [r["id"] for r in calls.get(API, {"overdue": "true"}).json()["results"]] == [late.pk]
    assert [r["id"] for r in calls.get(API, {"severity": "critical"}).json()["results"]] == [late.pk]
    assert len(calls.get(API, {"branch": tw.region.pk}).json()["results"]) == 2
    assert [r["id"] for r in calls.get(API, {"branch": tw.branch.pk}).json()["results"]] == [late.pk]
    row = calls.get(API, {"overdue": "true"}).json()["results"][0]
    assert row["authority_state"] == "overdue" and row["branch_name"] == tw.branch.name


# --- query counts ------------------------------------------------------------------------------------------

def _many(tw, n: int, start: int = 0) -> None:
    for i in range(n):
        opened(tw, title=f"事件{start + i}", branch=tw.branch if i % 2 else None,
               owner=tw.members[Role.EXECUTIVE] if i % 3 else None)


def test_list_page_and_api_queries_do_not_grow_with_rows(iw, django_assert_max_num_queries):
    tw = iw.a
    client = iw.client_for(tw.user(Role.AUDITOR))
    url = reverse("compliance:incident_list")
    _many(tw, 3)
    with CaptureQueriesContext(connection) as few_page:
        assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as few_api:
        assert client.get(API).status_code == 200
    assert len(few_page.captured_queries) <= 30
    _many(tw, 20, start=3)
    with django_assert_max_num_queries(len(few_page.captured_queries)):
        page = client.get(url)
    assert page.content.decode().count("data-incident=") == 23
    with django_assert_max_num_queries(len(few_api.captured_queries)):
        rows = client.get(API).json()["results"]
    assert len(rows) == 23


def test_incident_page_queries_do_not_grow_with_timeline(iw, django_assert_max_num_queries):
    tw = iw.a
    incident = opened(tw)
    client = iw.client_for(admin(tw))
    with CaptureQueriesContext(connection) as few:
        assert client.get(page_url(incident)).status_code == 200
    for i in range(8):
        act(tw, admin(tw), services.incident_action_add, incident=incident, description=f"措施{i}",
            owner=tw.members[Role.EXECUTIVE])
        act(tw, admin(tw), services.incident_add_note, incident=incident, body=f"备注{i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(page_url(incident)).status_code == 200
    with CaptureQueriesContext(connection) as detail_few:
        Api(client).get(f"{API}{incident.pk}/")
    act(tw, admin(tw), services.incident_add_note, incident=incident, body="再一条")
    with django_assert_max_num_queries(len(detail_few.captured_queries)):
        assert len(Api(client).get(f"{API}{incident.pk}/").json()["events"]) == 18


@pytest.mark.parametrize("suffix, data, field", [
    ("find-affected/", {"kind": "tickets", "from": "0001-01-01", "to": "9999-12-31"}, "from"),
    ("find-affected/", {"kind": "tickets", "from": "2026-01-01", "to": "9999-12-31T23:59:59"}, "to"),
    ("find-affected/", {"kind": "tickets", "from": "2026-02-30", "to": "2026-03-01"}, "from"),
    ("find-affected/", {"kind": "access_log", "actor": 2**63 - 1, "from": "2026-01-01", "to": "2026-01-02"}, "actor"),
    ("find-affected/", {"kind": "customers", "numbers": ["\ud800"]}, "numbers"),
    ("notify-authority/", {"notified_at": "0001-01-01T00:00:00Z"}, "notified_at"),
    ("notify-authority/", {"notified_at": timezone.now().isoformat(), "authority_name": "\x00"}, "authority_name"),
])
def test_api_odd_values_are_400_not_500(iw, suffix, data, field):
    tw = iw.a
    incident = opened(tw)
    response = api(iw, tw).post(f"{API}{incident.pk}/{suffix}", data)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert [e.kind for e in events(tw, incident)] == ["opened"]
