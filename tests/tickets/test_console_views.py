"""The agent console, the ticket page, the desk set-up pages, the public form and the tickets API
over HTTP: roles, another company's ids, bad input (field named, nothing changed), constant
query counts on the queue."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tickets.models import Ticket, TicketEvent, TicketStatus
from tickets.services import intake


def open_tickets(tw, n: int, **kw) -> list[Ticket]:
    agent = tw.user(Role.AGENT)
    with tenant_scope(tw.tenant, user=agent):
        return [intake.ticket_create(actor=agent, draft=intake.TicketDraft(
            channel="phone", category="complaint", subject=f"投诉{i}", caller_phone="13900001111", **kw))
            for i in range(n)]


@pytest.mark.parametrize("role", Role.values)
def test_console_pages_per_role(desks, role):
    client = desks.client_for(desks.a.user(role))
    works = role in (Role.AGENT, Role.BRANCH_MANAGER, Role.TENANT_ADMIN)
    assert client.get("/console/").status_code == 200  # everyone who reads tickets sees their queues
    assert client.get("/console/call/?q=13800138001").status_code == (200 if works else 403)
    assert client.get("/desk/").status_code == (200 if role == Role.TENANT_ADMIN else 403)


def test_queue_sorted_by_clock_with_constant_queries_and_live_counts(desks):
    tw = desks.a
    open_tickets(tw, 3)
    client = desks.client_for(tw.user(Role.AGENT))
    page = client.get("/console/?view=team")
    assert page.status_code == 200 and page.content.decode().count('class="queue-row"') == 3
    open_tickets(tw, 10)
    with CaptureQueriesContext(connection) as few:
        client.get("/console/?view=team")
    open_tickets(tw, 10)
    with CaptureQueriesContext(connection) as many:
        client.get("/console/?view=team")
    assert len(many) == len(few)
    counts = client.get("/console/counts/").content.decode()
    assert 'data-count="team">23<' in counts


def test_call_flow_finds_the_customer_and_opens_a_ticket(desks):
    tw = desks.a
    client = desks.client_for(tw.user(Role.AGENT))
    found = client.get("/console/call/?q=13800138001", HTTP_HX_REQUEST="true").content.decode()
    assert "caller-card" in found and f"customer_id={tw.desk.person.pk}" in found
    assert "caller-card" not in client.get("/console/call/?q=13800138002").content.decode()  # B's customer
    bad = client.post("/console/new/", {"channel": "phone", "category": "", "priority": "normal", "subject": "件没到",
                                        "customer_id": tw.desk.person.pk})
    assert bad.status_code == 400 and "件没到" in bad.content.decode()
    response = client.post("/console/new/", {"channel": "phone", "category": "complaint", "priority": "normal",
                                             "subject": "件没到", "customer_id": tw.desk.person.pk,
                                             "caller_phone": "13800138001"})
    assert response.status_code == 302
    with tenant_scope(tw.tenant):
        ticket = Ticket.objects.get(subject="件没到")
        assert ticket.customer_id == tw.desk.person.pk and ticket.team_id == tw.desk.team.pk


def test_ticket_page_reply_note_and_errors(desks):
    tw = desks.a
    ticket = open_tickets(tw, 1, customer_id=tw.desk.person.pk)[0]
    client = desks.client_for(tw.user(Role.AGENT))
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert ticket.number in page and "macro-picker" in page and "13900001111" not in page  # masked
    empty = client.post(f"/tickets/{ticket.pk}/", {"action": "reply", "reply-kind": "reply", "reply-body": "",
                                                   "reply-stage": "progress"})
    assert empty.status_code == 400
    sent = client.post(f"/tickets/{ticket.pk}/", {"action": "reply", "reply-kind": "reply",
                                                  "reply-body": "已联系网点", "reply-stage": "progress",
                                                  "reply-then_status": "waiting_customer"})
    assert sent.status_code == 302
    macro = client.get(f"/tickets/{ticket.pk}/macro/?macro={tw.desk.macro.pk}").content.decode()
    assert ticket.number in macro
    with tenant_scope(tw.tenant):
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.WAITING_CUSTOMER and ticket.first_responded_at
        assert TicketEvent.objects.filter(ticket=ticket, kind="reply", body="已联系网点").exists()
    b_ticket = open_tickets(desks.b, 1)[0]
    assert client.get(f"/tickets/{b_ticket.pk}/").status_code == 404
    assert client.get(f"/tickets/{ticket.pk}/macro/?macro={desks.b.desk.macro.pk}").status_code == 404


def test_public_form_opens_an_acknowledged_ticket_and_keeps_input_on_error(desks):
    from django.test import Client

    tw = desks.a
    client = Client()
    bad = client.post(f"/p/{tw.tenant.code}/support/", {"name": "李雷", "phone": "1", "category": "complaint",
                                                        "description": "包裹破了", "consent": "on"})
    assert bad.status_code == 400 and "包裹破了" in bad.content.decode()
    ok = client.post(f"/p/{tw.tenant.code}/support/", {"name": "李雷", "phone": "13912345678", "category": "complaint",
                                                       "description": "包裹破了\n外箱压坏", "consent": "on",
                                                       "email": "li@example.com"})
    assert ok.status_code == 200 and "public-ticket-done" in ok.content.decode()
    with tenant_scope(tw.tenant):
        ticket = Ticket.objects.get(channel="web")
        assert ticket.subject == "包裹破了" and ticket.outbound.filter(stage="intake").exists()
    with tenant_scope(desks.b.tenant):
        assert not Ticket.objects.exists()


def test_api_queue_create_actions_and_bad_input(desks):
    tw = desks.a
    client = desks.client_for(tw.user(Role.AGENT))
    created = client.post("/api/v1/tickets/", {"channel": "email", "category": "complaint", "subject": "邮件投诉",
                                               "caller_email": "c@example.com"}, content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["caller_email"] != "c@example.com" and body["timeline"][0]["kind"] == "created"
    bad = client.post("/api/v1/tickets/", {"channel": "email", "category": "nope", "subject": ""},
                      content_type="application/json")
    assert bad.status_code == 400 and {"category", "subject"} <= set(bad.json()["error"]["fields"])
    queue = client.get("/api/v1/tickets/queue/?view=team").json()
    assert [r["number"] for r in queue["results"]] == [body["number"]] and "counts" not in queue
    queue = client.get("/api/v1/tickets/queue/?view=team&counts=true").json()
    assert [r["number"] for r in queue["results"]] == [body["number"]] and queue["counts"]["team"] == 1
    assert client.get("/api/v1/tickets/queue/?view=nope").status_code == 400
    pk = body["id"]
    reply = client.post(f"/api/v1/tickets/{pk}/reply/", {"body": "收到", "then_status": "waiting_customer"},
                        content_type="application/json")
    assert reply.status_code == 200 and reply.json()["status"] == "waiting_customer"
    b_ticket = open_tickets(desks.b, 1)[0]
    assert client.get(f"/api/v1/tickets/{b_ticket.pk}/").status_code == 404
    merge = client.post(f"/api/v1/tickets/{pk}/merge/", {"duplicates": [b_ticket.pk]}, content_type="application/json")
    assert merge.status_code == 400
    inbound = client.post("/api/v1/tickets/inbound/", {"channel": "wechat", "external_ref": "wx-1", "body": "在吗"},
                          content_type="application/json")
    assert inbound.status_code == 201 and inbound.json()["created"] is True
    again = client.post("/api/v1/tickets/inbound/", {"channel": "wechat", "external_ref": "wx-1", "body": "在吗?"},
                        content_type="application/json")
    assert again.status_code == 200 and again.json()["ticket"]["id"] == inbound.json()["ticket"]["id"]
