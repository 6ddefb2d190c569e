"""The service-desk REST API (/api/v1/tickets…, desk set-up, SLA) over HTTP with two tenants
present: outcomes in the database and the timeline, outbound messages, SLA due times moving on a
priority change and across a pause; 400s that name the field and change nothing; 404 for the
other tenant's tickets, teams and macros; 403 for the read-only roles; constant query counts."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tenancy.models import Membership, Role
from tenancy.scoping import tenant_scope
from tenancy.services import api_token_create
from tests.factories.shipments import get_waybill, ingest, recent, waybill_events
from tickets.models import (
    BusinessCalendar,
    Macro,
    OutboundMessage,
    RoutingRule,
    SlaPolicy,
    Team,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketStatus,
)
from tickets.services import intake

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
READ_ONLY = [Role.SALES_MANAGER, Role.AUDITOR, Role.EXECUTIVE]


class Api:
    def __init__(self, client: Client):
        self.client = client

    def get(self, url, params=None):
        return self.client.get(url, params or {})

    def post(self, url, data=None):
        return self.client.post(url, json.dumps(data if data is not None else {}), content_type="application/json")

    def patch(self, url, data):
        return self.client.patch(url, json.dumps(data), content_type="application/json")

    def put(self, url, data):
        return self.client.put(url, json.dumps(data), content_type="application/json")

    def delete(self, url):
        return self.client.delete(url)


def api(world, role=Role.AGENT, tw=None) -> Api:
    return Api(world.client_for((tw or world.a).user(role)))


def ticket(tw, **kw) -> Ticket:
    agent = tw.user(Role.AGENT)
    base = {"channel": "phone", "category": "complaint", "subject": "快递三天没动", "caller_phone": "13900001111"}
    base.update(kw)
    with tenant_scope(tw.tenant, user=agent):
        return intake.ticket_create(actor=agent, draft=intake.TicketDraft(**base))


def reload(tw, model, pk):
    with tenant_scope(tw.tenant):
        return model.objects.get(pk=pk)


def kinds(tw, pk) -> list[str]:
    with tenant_scope(tw.tenant):
        return list(TicketEvent.objects.filter(ticket_id=pk).order_by("id").values_list("kind", flat=True))


def fields(response) -> set[str]:
    assert response.status_code == 400, response.content
    body = response.json()["error"]
    assert body["code"] == "invalid"
    return set(body["fields"])


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


# --- intake, list, retrieve --------------------------------------------------------------------------

def test_create_masks_personal_values_routes_assigns_and_acknowledges(desks):
    tw = desks.a
    ingest(tw, waybill_events("SF2000001", start=recent(), site=tw.branch.code, final=None))
    waybill = get_waybill(tw, "SF2000001")
    client = api(desks)
    response = client.post("/api/v1/tickets/", {
        "channel": "email", "category": "complaint", "priority": "high", "subject": "包裹破损",
        "caller_phone": "13912345678", "caller_email": "li.lei@example.com", "caller_name": "李雷",
        "waybill_number": "sf2000001", "tags": ["破损", "vip"], "customer": tw.desk.person.pk})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["caller_phone"] == "139****5678" and "li.lei@example.com" not in json.dumps(body)
    assert body["waybill"] == waybill.pk and body["waybill_number"] == "SF2000001"
    assert body["team"] == tw.desk.team.pk and body["assignee"] in {a.pk for a in tw.desk.agents}
    assert body["status"] == "assigned" and body["tags"] == ["破损", "vip"]
    assert body["first_response_due"] and body["resolution_due"] and body["sla_policy"]
    assert [e["kind"] for e in body["timeline"]] == ["created", "assigned", "reply"]
    with tenant_scope(tw.tenant):
        ack = OutboundMessage.objects.get(ticket_id=body["id"])
        assert ack.stage == "intake" and ack.channel == "email"
        assert Ticket.objects.get(pk=body["id"]).customer_id == tw.desk.person.pk
    # A phone ticket is acknowledged on the call: nothing is sent.
    phone = client.post("/api/v1/tickets/", {"channel": "phone", "category": "other", "subject": "问价",
                                             "caller_phone": "13912345679"}).json()
    assert phone["status"] == "new" and phone["team"] is None
    with tenant_scope(tw.tenant):
        assert not OutboundMessage.objects.filter(ticket_id=phone["id"]).exists()


def test_bad_create_names_every_field_and_writes_nothing(desks):
    client = api(desks)
    assert fields(client.post("/api/v1/tickets/", {"category": "nope", "subject": ""})) >= {"category", "subject"}
    assert fields(client.post("/api/v1/tickets/", {"channel": "system", "category": "other", "subject": "x"})) == {
        "channel"}
    bad = client.post("/api/v1/tickets/", {
        "channel": "phone", "category": "complaint", "subject": "x", "caller_phone": "12",
        "waybill_number": "NOSUCH1", "customer": desks.b.desk.person.pk, "team": desks.b.desk.team.pk})
    assert fields(bad) >= {"caller_phone", "waybill_number", "customer", "team"}
    assert fields(client.post("/api/v1/tickets/", {"channel": "phone", "category": "other", "subject": "x"})) == {
        "caller_phone"}
    for tw in (desks.a, desks.b):
        with tenant_scope(tw.tenant):
            assert not Ticket.objects.exists()


def test_list_filters_and_cursor_pagination(desks):
    tw = desks.a
    ingest(tw, waybill_events("SF2000002", start=recent(), site=tw.branch.code, final=None))
    waybill = get_waybill(tw, "SF2000002")
    first = ticket(tw, customer_id=tw.desk.person.pk, waybill_number="SF2000002", tags=["催件"])
    second = ticket(tw, category="tracking_inquiry")
    third = ticket(tw)
    ticket(desks.b)
    client = api(desks)

    def ids(**params):
        return [row["id"] for row in results(client.get("/api/v1/tickets/", params))]

    assert ids() == [third.pk, second.pk, first.pk]
    assert ids(category="complaint") == [third.pk, first.pk]
    assert ids(status="new") == [second.pk] and ids(status="assigned") == [third.pk, first.pk]
    assert ids(team=tw.desk.team.pk) == [third.pk, first.pk]
    assert ids(assignee=first.assignee_id) == [first.pk]
    assert ids(customer=tw.desk.person.pk) == [first.pk]
    assert ids(waybill=waybill.pk) == ids(waybill_number="sf2000002") == [first.pk]
    assert ids(number=first.number.lower()) == [first.pk]
    assert ids(tag="催件") == [first.pk]
    mine = Api(desks.client_for(reload(tw, Membership, first.assignee_id).user))
    assert first.pk in [row["id"] for row in results(mine.get("/api/v1/tickets/", {"assignee": "me"}))]
    assert fields(client.get("/api/v1/tickets/", {"status": "lost"})) == {"status"}
    assert fields(client.get("/api/v1/tickets/", {"team": "abc"})) == {"team"}
    assert fields(client.get("/api/v1/tickets/", {"team": "²"})) == {"team"}       # a digit int() refuses
    assert fields(client.get("/api/v1/tickets/", {"tag": "催\x00件"})) == {"tag"}  # PostgreSQL refuses NUL
    page = client.get("/api/v1/tickets/", {"page_size": 2}).json()
    assert [r["id"] for r in page["results"]] == [third.pk, second.pk] and page["next"]
    rest = client.client.get(page["next"]).json()
    assert [r["id"] for r in rest["results"]] == [first.pk] and rest["next"] is None


def test_retrieve_shows_sla_state_and_the_timeline_and_other_tenants_ticket_is_404(desks):
    t = ticket(desks.a)
    other = ticket(desks.b)
    client = api(desks)
    body = client.get(f"/api/v1/tickets/{t.pk}/").json()
    assert body["number"] == t.number and body["sla_paused_at"] is None
    assert body["first_response_breached"] is False and body["attachments"] == []
    assert [e["kind"] for e in body["timeline"]] == ["created", "assigned"]
    for method, url, data in (
            ("get", f"/api/v1/tickets/{other.pk}/", None),
            ("patch", f"/api/v1/tickets/{other.pk}/", {"priority": "urgent"}),
            ("post", f"/api/v1/tickets/{other.pk}/reply/", {"body": "hi"}),
            ("post", f"/api/v1/tickets/{other.pk}/note/", {"body": "hi"}),
            ("post", f"/api/v1/tickets/{other.pk}/transition/", {"status": "in_progress"}),
            ("post", f"/api/v1/tickets/{other.pk}/assign/", {"assignee": desks.a.desk.agents[0].pk}),
            ("post", f"/api/v1/tickets/{other.pk}/apply-macro/", {"macro": desks.a.desk.macro.pk}),
            ("post", f"/api/v1/tickets/{other.pk}/merge/", {"duplicates": [t.pk]}),
            ("post", f"/api/v1/tickets/{other.pk}/split/", {"subject": "x"}),
            ("get", f"/api/v1/tickets/{other.pk}/attachments/", None),
            ("get", f"/api/v1/ticket-teams/{desks.b.desk.team.pk}/", None),
            ("put", f"/api/v1/ticket-teams/{desks.b.desk.team.pk}/", {"code": "x", "name": "x",
                                                                     "assign_mode": "manual"}),
            ("get", f"/api/v1/ticket-macros/{desks.b.desk.macro.pk}/", None),
            ("get", f"/api/v1/ticket-macros/{desks.b.desk.macro.pk}/render/", {"ticket": t.pk}),
            ("get", f"/api/v1/ticket-macros/{desks.a.desk.macro.pk}/render/", {"ticket": other.pk}),
    ):
        admin = api(desks, Role.TENANT_ADMIN)
        response = getattr(admin, method)(url, data) if data is not None else getattr(admin, method)(url)
        assert response.status_code == 404, (method, url, response.content)
        assert response.json()["error"]["code"] == "not_found"
    assert kinds(desks.b, other.pk) == ["created", "assigned"]
    with tenant_scope(desks.b.tenant):
        assert Ticket.objects.get(pk=other.pk).priority == "normal"


# --- working a ticket -------------------------------------------------------------------------------

def test_reply_note_pause_resume_resolve_reopen_close(desks):
    tw = desks.a
    t = ticket(tw, channel="web", caller_email="li@example.com", caller_phone="")
    client = api(desks)
    url = f"/api/v1/tickets/{t.pk}"
    assert fields(client.post(f"{url}/reply/", {"body": "  ", "stage": "later"})) == {"body", "stage"}
    bad = client.post(f"{url}/reply/", {"body": "已处理", "then_status": "closed"})
    assert fields(bad) == {"then_status"}
    assert kinds(tw, t.pk) == ["created", "assigned", "reply"]  # the refused reply left no trace
    with tenant_scope(tw.tenant):
        assert OutboundMessage.objects.filter(ticket=t).count() == 1

    body = client.post(f"{url}/reply/", {"body": "请提供破损照片", "then_status": "waiting_customer"}).json()
    assert body["status"] == "waiting_customer" and body["sla_paused_at"] and body["first_responded_at"]
    with tenant_scope(tw.tenant):
        reply = OutboundMessage.objects.filter(ticket=t).latest("id")
        assert reply.channel == "email" and reply.stage == "progress" and reply.status == "pending"
    note = client.post(f"{url}/note/", {"body": "内部：等客户照片"})
    assert note.status_code == 201 and note.json()["kind"] == "note" and note.json()["delivery"] is None
    with tenant_scope(tw.tenant):
        assert OutboundMessage.objects.filter(ticket=t).count() == 2  # notes are never sent
        # The customer took two days to answer.
        paused = Ticket.objects.get(pk=t.pk)
        Ticket.objects.filter(pk=t.pk).update(sla_paused_at=paused.sla_paused_at - dt.timedelta(days=2))
    due = paused.resolution_due
    body = client.post(f"{url}/transition/", {"status": "in_progress"}).json()
    moved = dt.datetime.fromisoformat(body["resolution_due"]) - due
    assert body["sla_paused_at"] is None and dt.timedelta(days=2) <= moved < dt.timedelta(days=2, minutes=5)

    assert fields(client.post(f"{url}/transition/", {"status": "resolved"})) == {"note"}
    assert fields(client.post(f"{url}/transition/", {"status": "done"})) == {"status"}
    assert fields(client.post(f"{url}/transition/", {"status": "new"})) == {"status"}
    body = client.post(f"{url}/reply/", {"body": "已赔付 30 元", "stage": "result", "then_status": "resolved"}).json()
    assert body["status"] == "resolved" and body["resolved_at"]
    body = client.post(f"{url}/transition/", {"status": "reopened", "note": "客户不满意"}).json()
    assert body["status"] == "reopened" and body["resolved_at"] is None
    client.post(f"{url}/transition/", {"status": "resolved", "note": "补偿到账"})
    with tenant_scope(tw.tenant):  # past the reopen window
        Ticket.objects.filter(pk=t.pk).update(resolved_at=Ticket.objects.get(pk=t.pk).resolved_at
                                              - dt.timedelta(days=8))
    assert fields(client.post(f"{url}/transition/", {"status": "reopened"})) == {"status"}
    assert client.post(f"{url}/transition/", {"status": "closed"}).json()["status"] == "closed"
    statuses = [(e["from_status"], e["to_status"]) for e in client.get(f"{url}/").json()["timeline"]
                if e["kind"] == "status"]
    assert statuses == [("assigned", "waiting_customer"), ("waiting_customer", "in_progress"),
                        ("in_progress", "resolved"),
                        ("resolved", "reopened"), ("reopened", "resolved"), ("resolved", "closed")]
    assert fields(client.post(f"{url}/reply/", {"body": "还在吗"})) == {"body"}


def test_priority_change_moves_the_sla_due_times_and_bad_details_change_nothing(desks):
    tw = desks.a
    t = ticket(tw, category="tracking_inquiry")
    client = api(desks)
    url = f"/api/v1/tickets/{t.pk}/"
    before = client.get(url).json()
    assert fields(client.patch(url, {"priority": "asap", "category": "x"})) == {"priority", "category"}
    assert fields(client.patch(url, {"team": desks.b.desk.team.pk, "priority": "urgent"})) == {"team"}
    assert fields(client.patch(url, {"waybill_number": "NOSUCH", "priority": "urgent"})) == {"waybill_number"}
    assert fields(client.patch(url, {"tags": [str(i) for i in range(11)], "priority": "urgent"})) == {"tags"}
    assert client.get(url).json() == before
    ingest(tw, waybill_events("SF2000003", start=recent(), site=tw.branch.code, final=None))
    body = client.patch(url, {"priority": "urgent", "team": tw.desk.team.pk, "tags": ["急"],
                              "waybill_number": "SF2000003", "reason": "客户投诉升级"}).json()
    created = dt.datetime.fromisoformat(body["created_at"])
    # the urgent policy: first response within 30 real minutes (was 60 working minutes)
    assert dt.datetime.fromisoformat(body["first_response_due"]) - created == dt.timedelta(minutes=30)
    assert body["first_response_due"] != before["first_response_due"]
    assert body["priority"] == "urgent" and body["team"] == tw.desk.team.pk and body["waybill_number"] == "SF2000003"
    update = [e for e in body["timeline"] if e["kind"] == "updated"]
    assert len(update) == 1 and update[0]["body"] == "客户投诉升级"
    assert set(update[0]["data"]["changes"]) == {"priority", "team", "tags", "waybill"}


def test_assign_and_reassign_needs_a_reason(desks):
    tw = desks.a
    t = ticket(tw)
    client = api(desks)
    url = f"/api/v1/tickets/{t.pk}/assign/"
    other = next(a for a in tw.desk.agents if a.pk != t.assignee_id)
    assert fields(client.post(url, {"assignee": other.pk})) == {"reason"}
    assert fields(client.post(url, {"assignee": tw.members[Role.AUDITOR].pk, "reason": "x"})) == {"assignee"}
    assert fields(client.post(url, {"assignee": desks.b.desk.agents[0].pk, "reason": "x"})) == {"assignee"}
    assert fields(client.post(url, {"assignee": "abc"})) == {"assignee"}
    assert reload(tw, Ticket, t.pk).assignee_id == t.assignee_id
    body = client.post(url, {"assignee": other.pk, "reason": "休假交接"}).json()
    assert body["assignee"] == other.pk and body["timeline"][-1]["kind"] == "assigned"
    assert body["timeline"][-1]["body"] == "休假交接"
    unassigned = ticket(tw, category="other")
    body = client.post(f"/api/v1/tickets/{unassigned.pk}/assign/", {"assignee": other.pk}).json()
    assert body["status"] == "assigned" and body["assignee"] == other.pk


def test_macro_apply_and_render(desks):
    tw = desks.a
    t = ticket(tw, customer_id=tw.desk.person.pk)
    client = api(desks)
    text = client.get(f"/api/v1/ticket-macros/{tw.desk.macro.pk}/render/", {"ticket": t.pk}).json()["text"]
    assert t.number in text and "王小明" not in text
    assert fields(client.post(f"/api/v1/tickets/{t.pk}/apply-macro/", {"macro": desks.b.desk.macro.pk})) == {"macro"}
    body = client.post(f"/api/v1/tickets/{t.pk}/apply-macro/", {"macro": tw.desk.macro.pk}).json()
    assert body["status"] == "waiting_customer" and body["sla_paused_at"]
    assert body["timeline"][-2]["kind"] == "reply" and body["timeline"][-2]["body"] == text
    assert reload(tw, Macro, tw.desk.macro.pk).usage_count == 1
    with tenant_scope(tw.tenant):
        assert OutboundMessage.objects.filter(ticket=t).count() == 1


def test_merge_and_split(desks):
    tw = desks.a
    target = ticket(tw, customer_id=tw.desk.person.pk)
    dup = ticket(tw, customer_id=tw.desk.person.pk, subject="又打来了")
    stranger = ticket(tw, caller_phone="13911112222")
    foreign = ticket(desks.b)
    client = api(desks)
    url = f"/api/v1/tickets/{target.pk}"
    assert fields(client.post(f"{url}/merge/", {"duplicates": [foreign.pk]})) == {"duplicates"}
    assert fields(client.post(f"{url}/merge/", {"duplicates": [stranger.pk]})) == {"duplicates"}
    assert fields(client.post(f"{url}/merge/", {"duplicates": []})) == {"duplicates"}
    assert reload(tw, Ticket, stranger.pk).status == "assigned"
    body = client.post(f"{url}/merge/", {"duplicates": [dup.pk], "reason": "同一件事"}).json()
    assert "merged" in [e["kind"] for e in body["timeline"]]
    assert {e["from_number"] for e in body["timeline"]} == {"", dup.number}
    merged = reload(tw, Ticket, dup.pk)
    assert merged.merged_into_id == target.pk and merged.status == TicketStatus.CLOSED
    assert fields(client.post(f"/api/v1/tickets/{dup.pk}/reply/", {"body": "x"})) == {"body"}
    split = client.post(f"{url}/split/", {"subject": "另一件：改地址", "category": "address_change"})
    assert split.status_code == 201
    new = split.json()
    assert new["split_from"] == target.pk and new["customer"] == tw.desk.person.pk
    assert new["category"] == "address_change" and "split" in kinds(tw, target.pk)
    assert fields(client.post(f"{url}/split/", {"subject": "", "category": "nope"})) == {"subject", "category"}


def test_attachments_upload_list_download_with_type_and_size_limits(desks):
    tw = desks.a
    t = ticket(tw)
    client = api(desks)
    url = f"/api/v1/tickets/{t.pk}/attachments/"
    from django.core.files.uploadedfile import SimpleUploadedFile

    def upload(name, content):
        return client.client.post(url, {"file": SimpleUploadedFile(name, content)})

    response = upload("破损.png", PNG)
    assert response.status_code == 201, response.content
    attachment = response.json()
    assert attachment["content_type"] == "image/png" and attachment["size"] == len(PNG)
    assert fields(upload("photo.png", b"MZ\x90\x00\x03" * 10)) == {"file"}
    assert fields(upload("empty.txt", b"")) == {"file"}
    assert fields(upload("huge.png", PNG + b"\x00" * (10 * 1024 * 1024))) == {"file"}
    assert fields(client.client.post(url, {})) == {"file"}
    assert [a["id"] for a in client.get(url).json()] == [attachment["id"]]
    download = client.get(f"{url}{attachment['id']}/")
    assert download.status_code == 200 and download["Content-Type"] == "image/png"
    assert b"".join(download.streaming_content) == PNG
    assert client.get(f"{url}{attachment['id'] + 1000}/").status_code == 404
    assert "attachment" in kinds(tw, t.pk)
    with tenant_scope(tw.tenant):
        assert TicketAttachment.objects.count() == 1
    # An auditor may read files, a sales manager may not; B cannot see A's file at all.
    assert api(desks, Role.AUDITOR).get(f"{url}{attachment['id']}/").status_code == 200
    assert api(desks, Role.SALES_MANAGER).get(f"{url}{attachment['id']}/").status_code == 403
    assert api(desks, Role.AGENT, desks.b).get(f"{url}{attachment['id']}/").status_code == 404


def test_inbound_messages_open_then_add_to_the_thread_over_token_auth(desks):
    tw = desks.a
    admin = tw.user(Role.TENANT_ADMIN)
    with tenant_scope(tw.tenant, user=admin):
        _token, raw = api_token_create(actor=admin, name="wechat gateway")
    gateway = Api(Client(HTTP_AUTHORIZATION=f"Token {raw}"))
    message = {"channel": "wechat", "external_ref": "wx-openid-1", "body": "我的件到哪了？",
               "sender_phone": "13800138001"}
    first = gateway.post("/api/v1/tickets/inbound/", message)
    assert first.status_code == 201 and first.json()["created"] is True
    pk = first.json()["ticket"]["id"]
    assert first.json()["ticket"]["caller_phone"] == "138****8001"
    assert reload(tw, Ticket, pk).customer_id == tw.desk.person.pk
    again = gateway.post("/api/v1/tickets/inbound/", {**message, "body": "在吗？"})
    assert again.status_code == 200 and again.json() == {**again.json(), "created": False}
    assert again.json()["ticket"]["id"] == pk and kinds(tw, pk).count("customer_message") == 1
    assert fields(gateway.post("/api/v1/tickets/inbound/", {"channel": "fax", "body": ""})) == {"channel", "body"}
    with tenant_scope(desks.b.tenant):
        assert not Ticket.objects.exists()


def test_away_toggle_for_oneself_skips_automatic_assignment(desks):
    tw = desks.a
    first, second = tw.desk.agents
    client = Api(desks.client_for(first.user))
    assert client.get("/api/v1/tickets/away/").json() == {"away": False}
    assert fields(client.post("/api/v1/tickets/away/", {"away": "maybe"})) == {"away"}
    assert client.post("/api/v1/tickets/away/", {"away": True}).json() == {"away": True}
    assert reload(tw, Membership, first.pk).is_away and not reload(tw, Membership, second.pk).is_away
    assert {ticket(tw).assignee_id for _ in range(3)} == {second.pk}
    client.post("/api/v1/tickets/away/", {"away": False})
    assert {ticket(tw).assignee_id for _ in range(2)} == {first.pk, second.pk}
    assert api(desks, Role.AUDITOR).post("/api/v1/tickets/away/", {"away": True}).status_code == 403


# --- desk set-up and SLA -----------------------------------------------------------------------------

def test_desk_set_up_teams_routing_rules_macros(desks):
    tw = desks.a
    admin = api(desks, Role.TENANT_ADMIN)
    agents = [a.pk for a in tw.desk.agents]
    assert fields(admin.post("/api/v1/ticket-teams/", {"code": "bad code!", "name": "x", "assign_mode": "random"})) == {
        "assign_mode"}
    assert fields(admin.post("/api/v1/ticket-teams/", {"code": "bad code!", "name": "x", "assign_mode": "manual"})) == {
        "code"}
    assert fields(admin.post("/api/v1/ticket-teams/", {"code": "claims", "name": "理赔组", "assign_mode": "least_open",
                                                       "members": [desks.b.desk.agents[0].pk]})) == {"members"}
    team = admin.post("/api/v1/ticket-teams/", {"code": "claims", "name": "理赔组", "assign_mode": "least_open",
                                                "members": agents[:1]})
    assert team.status_code == 201 and team.json()["members"] == agents[:1]
    team_id = team.json()["id"]
    assert fields(admin.post("/api/v1/ticket-teams/", {"code": "claims", "name": "重复", "assign_mode": "manual"})) == {
        "code"}
    changed = admin.put(f"/api/v1/ticket-teams/{team_id}/", {"code": "claims", "name": "理赔组",
                                                             "assign_mode": "round_robin", "members": agents})
    assert changed.json()["assign_mode"] == "round_robin" and sorted(changed.json()["members"]) == sorted(agents)
    assert {t["code"] for t in admin.get("/api/v1/ticket-teams/").json()["results"]} == {"complaints", "claims"}

    assert fields(admin.post("/api/v1/ticket-routing-rules/", {"name": "r", "team": team_id, "category": "nope"})) == {
        "category"}
    assert fields(admin.post("/api/v1/ticket-routing-rules/", {"name": "r", "team": desks.b.desk.team.pk,
                                                               "branch": desks.b.branch.pk})) == {"team", "branch"}
    rule = admin.post("/api/v1/ticket-routing-rules/", {"name": "claims", "team": team_id, "category": "claim",
                                                        "position": 5})
    assert rule.status_code == 201
    assert ticket(tw, category="claim").team_id == team_id
    assert admin.delete(f"/api/v1/ticket-routing-rules/{rule.json()['id']}/").status_code == 204
    with tenant_scope(tw.tenant):
        assert not RoutingRule.objects.filter(pk=rule.json()["id"]).exists()

    assert fields(admin.post("/api/v1/ticket-macros/", {"name": "坏", "body": "{password}"})) == {"body"}
    macro = admin.post("/api/v1/ticket-macros/", {"name": "催派", "body": "已催促网点 {waybill_number}",
                                                  "action": "note", "set_priority": "high"})
    assert macro.status_code == 201 and macro.json()["action"] == "note"
    assert admin.delete(f"/api/v1/ticket-macros/{desks.b.desk.macro.pk}/").status_code == 404
    assert admin.delete(f"/api/v1/ticket-macros/{macro.json()['id']}/").status_code == 204
    with tenant_scope(desks.b.tenant):
        assert Team.objects.count() == 1 and Macro.objects.count() == 1
    agent = api(desks)
    assert agent.get("/api/v1/ticket-teams/").status_code == 200
    for url, data in (("/api/v1/ticket-teams/", {"code": "x", "name": "x", "assign_mode": "manual"}),
                      ("/api/v1/ticket-routing-rules/", {"name": "x", "team": team_id}),
                      ("/api/v1/ticket-macros/", {"name": "x", "body": "x"})):
        assert agent.post(url, data).status_code == 403


def test_sla_calendars_days_policies_and_breach_rates(desks):
    tw = desks.a
    admin = api(desks, Role.TENANT_ADMIN)
    calendars = admin.get("/api/v1/sla/calendars/").json()["results"]
    assert len(calendars) == 1 and calendars[0]["is_default"]
    assert fields(admin.post("/api/v1/sla/calendars/", {"name": "x", "workdays": [8], "work_start": "18:00",
                                                        "work_end": "09:00"})) >= {"workdays"}
    created = admin.post("/api/v1/sla/calendars/", {"name": "周末班", "workdays": [6, 7], "work_start": "09:00",
                                                    "work_end": "17:00"})
    assert created.status_code == 201, created.content
    cal = created.json()["id"]
    day = admin.post(f"/api/v1/sla/calendars/{cal}/days/", {"date": "2026-10-03", "is_working": False, "name": "国庆"})
    assert day.status_code == 201
    assert [d["date"] for d in admin.get(f"/api/v1/sla/calendars/{cal}/days/", {"year": 2026}).json()] == [
        "2026-10-03"]
    policy = admin.post("/api/v1/sla/policies/", {"name": "丢失", "category": "loss", "priority": "high",
                                                  "calendar": cal, "first_response_minutes": 45,
                                                  "resolution_minutes": 600, "resolution_clock": "business"})
    assert policy.status_code == 201 and policy.json()["calendar"] == cal
    assert fields(admin.post("/api/v1/sla/policies/", {"name": "x", "first_response_minutes": 0,
                                                       "resolution_minutes": 1, "first_response_clock": "moon"})) == {
        "first_response_minutes", "first_response_clock"}
    with tenant_scope(desks.b.tenant):
        b_calendar = BusinessCalendar.objects.get()
    assert admin.get(f"/api/v1/sla/calendars/{b_calendar.pk}/").status_code == 404
    assert fields(admin.post("/api/v1/sla/policies/", {"name": "x", "calendar": b_calendar.pk,
                                                       "first_response_minutes": 5, "resolution_minutes": 5})) == {
        "calendar"}
    ticket(tw)
    rates = api(desks, Role.EXECUTIVE).get("/api/v1/sla/breach-rates/", {"group_by": "team"}).json()
    assert rates["total"]["total"] == 1 and rates["rows"][0]["name"] == "投诉组"
    assert api(desks).post("/api/v1/sla/policies/", {"name": "x", "first_response_minutes": 5,
                                                     "resolution_minutes": 5}).status_code == 403
    with tenant_scope(tw.tenant):
        assert SlaPolicy.objects.filter(name="x").count() == 0


# --- roles and query counts ---------------------------------------------------------------------------

@pytest.mark.parametrize("role", READ_ONLY)
def test_read_only_roles_read_but_every_write_is_403(desks, role):
    tw = desks.a
    t = ticket(tw)
    client = api(desks, role)
    assert client.get("/api/v1/tickets/").status_code == 200
    assert client.get(f"/api/v1/tickets/{t.pk}/").status_code == 200
    assert client.get("/api/v1/ticket-macros/").status_code == 200
    writes = [
        ("post", "/api/v1/tickets/", {"channel": "phone", "category": "other", "subject": "x",
                                      "caller_phone": "13900001111"}),
        ("patch", f"/api/v1/tickets/{t.pk}/", {"priority": "urgent"}),
        ("post", f"/api/v1/tickets/{t.pk}/reply/", {"body": "x"}),
        ("post", f"/api/v1/tickets/{t.pk}/note/", {"body": "x"}),
        ("post", f"/api/v1/tickets/{t.pk}/transition/", {"status": "in_progress"}),
        ("post", f"/api/v1/tickets/{t.pk}/assign/", {"assignee": tw.desk.agents[0].pk, "reason": "x"}),
        ("post", f"/api/v1/tickets/{t.pk}/apply-macro/", {"macro": tw.desk.macro.pk}),
        ("post", f"/api/v1/tickets/{t.pk}/merge/", {"duplicates": [t.pk]}),
        ("post", f"/api/v1/tickets/{t.pk}/split/", {"subject": "x"}),
        ("post", f"/api/v1/tickets/{t.pk}/attachments/", {}),
        ("post", "/api/v1/tickets/inbound/", {"channel": "wechat", "body": "x"}),
        ("post", "/api/v1/tickets/away/", {"away": True}),
        ("post", "/api/v1/ticket-teams/", {"code": "x", "name": "x", "assign_mode": "manual"}),
        ("post", "/api/v1/ticket-macros/", {"name": "x", "body": "x"}),
        ("delete", f"/api/v1/ticket-macros/{tw.desk.macro.pk}/", None),
        ("post", "/api/v1/sla/calendars/", {"name": "x", "workdays": [1], "work_start": "09:00",
                                            "work_end": "17:00"}),
    ]
    for method, url, data in writes:
        response = getattr(client, method)(url, data) if data is not None else getattr(client, method)(url)
        assert response.status_code == 403, (method, url, response.content)
        assert response.json()["error"]["code"] == "permission_denied"
    assert kinds(tw, t.pk) == ["created", "assigned"]
    with tenant_scope(tw.tenant):
        assert Ticket.objects.count() == 1 and Macro.objects.filter(pk=tw.desk.macro.pk).exists()


def test_list_and_queue_cost_the_same_queries_for_one_ticket_or_many(desks):
    tw = desks.a
    agent = tw.desk.agents[0]
    client = Api(desks.client_for(agent.user))
    ingest(tw, waybill_events("SF2000004", start=recent(), site=tw.branch.code, final=None))
    ticket(tw, customer_id=tw.desk.person.pk, waybill_number="SF2000004", assignee_id=agent.pk)

    def counted(url, params):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, params)
        assert response.status_code == 200, response.content
        return len(queries), response.json()

    counted("/api/v1/tickets/", {})  # the first request of a session warms caches (keys, rules)
    small_list, body = counted("/api/v1/tickets/", {})
    small_queue, queue = counted("/api/v1/tickets/queue/", {"view": "team"})
    assert len(body["results"]) == 1 and len(queue["results"]) == 1
    for i in range(7):
        ticket(tw, caller_phone=f"1390000{i:04d}", waybill_number="SF2000004",
               customer_id=tw.desk.person.pk if i % 2 else None)
    large_list, body = counted("/api/v1/tickets/", {})
    large_queue, queue = counted("/api/v1/tickets/queue/", {"view": "team"})
    assert len(body["results"]) == 8 and len(queue["results"]) == 8
    assert (large_list, large_queue) == (small_list, small_queue)
