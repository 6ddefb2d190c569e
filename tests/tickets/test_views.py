"""The exception queue and the ticket page over HTTP: who may open them, another company's
ticket, the branch manager's subtree, filters, SLA clock, bulk assign and bulk resolve (with
their outcome on the tickets and the timelines), paging with a constant query count, and the
ticket page's actions with their errors."""
import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories.shipments import exception_tickets
from tickets import services
from tickets.models import Ticket, TicketEvent, TicketStatus

QUEUE_ROLES = {Role.BRANCH_MANAGER, Role.TENANT_ADMIN}


@pytest.fixture
def queue(world):
    """Tenant A: three damage tickets at the manager's branch, one loss ticket at the sibling
    branch (outside the manager's subtree); tenant B: one damage ticket."""
    world.a.mine = exception_tickets(world.a, 3, prefix="SFA")
    world.a.sibling = exception_tickets(world.a, 1, prefix="SFO", branch=world.a.other_branch, kind="lost")
    world.b.mine = exception_tickets(world.b, 1, prefix="SFB")
    return world.a.mine


def refresh(tw, ticket) -> Ticket:
    with tenant_scope(tw.tenant):
        return Ticket.objects.select_related("assignee").get(pk=ticket.pk)


def timeline(tw, ticket) -> list[TicketEvent]:
    with tenant_scope(tw.tenant):
        return list(TicketEvent.objects.filter(ticket_id=ticket.pk).order_by("created_at", "id"))


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("role", Role.values)
def test_pages_per_role(world, queue, role):
    client = world.client_for(world.a.user(role))
    assert client.get("/exceptions/").status_code == (200 if role in QUEUE_ROLES else 403), role
    assert client.post("/exceptions/", {"ticket": [queue[0].pk], "action": "resolve", "note": "x"}).status_code == (
        302 if role in QUEUE_ROLES else 403), role
    assert client.get(f"/tickets/{queue[1].pk}/").status_code == 200, role
    may_change = role in (Role.AGENT, Role.BRANCH_MANAGER, Role.TENANT_ADMIN)
    response = client.post(f"/tickets/{queue[1].pk}/", {"action": "status", "status-status": "in_progress"})
    assert response.status_code == (302 if may_change else 403), role
    assert refresh(world.a, queue[1]).status == ("in_progress" if may_change else "new")


def test_another_companys_ticket_is_404_and_a_manager_sees_only_the_subtree(world, queue):
    b_ticket = world.b.mine[0]
    sibling = world.a.sibling[0]
    admin = world.client_for(world.a.user("tenant_admin"))
    manager = world.client_for(world.a.user("branch_manager"))
    agent = world.client_for(world.a.user("agent"))
    for client in (admin, manager, agent):
        assert client.get(f"/tickets/{b_ticket.pk}/").status_code == 404
        assert client.post(f"/tickets/{b_ticket.pk}/", {"action": "status", "status-status": "in_progress"}
                           ).status_code == 404
    assert manager.get(f"/tickets/{sibling.pk}/").status_code == 404  # another branch of the same company
    assert admin.get(f"/tickets/{sibling.pk}/").status_code == 200
    assert agent.get(f"/tickets/{sibling.pk}/").status_code == 200

    numbers = [t.number for t in manager.get("/exceptions/").context["rows"]]
    assert numbers == [t.number for t in queue]                     # the subtree only, oldest first
    everything = [t.number for t in admin.get("/exceptions/").context["rows"]]
    assert set(everything) == {t.number for t in queue} | {sibling.number}
    # filtering by a branch outside the subtree is not a choice: no filter, still the subtree
    response = manager.get("/exceptions/", {"branch": world.a.other_branch.pk})
    assert [t.number for t in response.context["rows"]] == numbers
    response = admin.get("/exceptions/", {"branch": world.a.other_branch.pk})
    assert [t.number for t in response.context["rows"]] == [sibling.number]
    text = manager.get("/exceptions/").content.decode()
    # (ticket numbers are per company: B's waybill number is the tell)
    assert "SFB00000" not in text and "SFO00000" not in text and sibling.number not in text


def test_filters_by_kind_status_assignee_and_number(world, queue):
    a = world.a
    admin_user = a.user("tenant_admin")
    with tenant_scope(a.tenant, user=admin_user):
        services.ticket_assign(actor=admin_user, ticket=queue[0], assignee=a.members["agent"])
    client = world.client_for(a.user("tenant_admin"))

    def numbers(**params):
        return [t.number for t in client.get("/exceptions/", params).context["rows"]]

    assert numbers(kind="lost") == [a.sibling[0].number]
    assert numbers(status="assigned") == [queue[0].number]
    assert numbers(assignee=str(a.members["agent"].pk)) == [queue[0].number]
    assert numbers(assignee="none") == [t.number for t in queue[1:]] + [a.sibling[0].number]
    with tenant_scope(a.tenant):
        waybill_number = Ticket.objects.select_related("waybill").get(pk=queue[2].pk).waybill.number
    assert numbers(q=waybill_number.lower()) == [queue[2].number]
    assert numbers(q=queue[1].number) == [queue[1].number]


def test_bulk_assign_reports_done_and_refused(world, queue):
    a = world.a
    manager_user = a.user("branch_manager")
    with tenant_scope(a.tenant, user=manager_user):
        services.ticket_transition(actor=manager_user, ticket=queue[2], to_status="resolved", note="已联系收件人")
    client = world.client_for(manager_user)
    agent = a.members["agent"]
    response = client.post("/exceptions/?kind=damaged", {
        "ticket": [queue[0].pk, queue[1].pk, queue[2].pk], "action": "assign", "assignee": agent.pk,
        "note": "请今天处理"})
    assert response.status_code == 302 and response.url == "/exceptions/?kind=damaged"
    messages = texts(response)
    assert any("2" in m and agent.user.display_name in m for m in messages), messages
    assert any(queue[2].number in m for m in messages), messages    # refused, with the service's reason
    for ticket in queue[:2]:
        fresh = refresh(a, ticket)
        assert fresh.assignee_id == agent.pk and fresh.status == TicketStatus.ASSIGNED
        last = timeline(a, ticket)[-1]
        assert last.kind == "assigned" and last.actor_id == manager_user.pk and last.body == "请今天处理"
        assert last.data["to"] == agent.pk
    assert refresh(a, queue[2]).status == TicketStatus.RESOLVED and refresh(a, queue[2]).assignee_id is None
    page = client.get(response.url)
    text = page.content.decode()
    assert "alert-warning" in text and queue[2].number in text


def test_bulk_resolve_needs_a_note_then_resolves_and_leaves_the_queue(world, queue):
    a = world.a
    client = world.client_for(a.user("branch_manager"))
    chosen = [queue[0].pk, queue[1].pk]
    before = {t.pk: len(timeline(a, t)) for t in queue}
    response = client.post("/exceptions/", {"ticket": chosen, "action": "resolve", "note": "  "})
    assert response.status_code == 400
    assert response.context["bulk_form"].errors["note"]
    text = response.content.decode()
    assert 'class="invalid-feedback d-block"' in text
    for pk in chosen:                                              # the ticked rows stay ticked
        assert f'value="{pk}" id="tick-{pk}" checked' in text
    for ticket in queue:                                           # and nothing changed
        assert refresh(a, ticket).status == TicketStatus.NEW
        assert len(timeline(a, ticket)) == before[ticket.pk]

    response = client.post("/exceptions/", {"ticket": chosen, "action": "resolve", "note": "已与收件人确认，重新派送"})
    assert response.status_code == 302
    assert any("2" in m for m in texts(response))
    for pk in chosen:
        ticket = refresh(a, Ticket(pk=pk))
        assert ticket.status == TicketStatus.RESOLVED and ticket.resolved_at is not None
        last = timeline(a, ticket)[-1]
        assert (last.kind, last.from_status, last.to_status, last.body) == (
            "status", "new", "resolved", "已与收件人确认，重新派送")
    rows = client.get("/exceptions/").context["rows"]
    assert [t.pk for t in rows] == [queue[2].pk]


def test_bulk_actions_never_reach_another_company_or_branch(world, queue):
    a, b = world.a, world.b
    client = world.client_for(a.user("branch_manager"))
    b_ticket, sibling = b.mine[0], a.sibling[0]
    response = client.post("/exceptions/", {"ticket": [b_ticket.pk, sibling.pk, queue[0].pk], "action": "resolve",
                                            "note": "试图越权"})
    assert response.status_code == 302
    assert any("2" in m for m in texts(response))                   # 2 not in the queue
    assert refresh(b, b_ticket).status == TicketStatus.NEW and refresh(a, sibling).status == TicketStatus.NEW
    assert refresh(a, queue[0]).status == TicketStatus.RESOLVED
    # a colleague of another company (or outside the subtree) is not a choice
    response = client.post("/exceptions/", {"ticket": [queue[1].pk], "action": "assign",
                                            "assignee": b.members["agent"].pk})
    assert response.status_code == 400 and response.context["bulk_form"].errors["assignee"]
    assert refresh(a, queue[1]).assignee_id is None
    response = client.post("/exceptions/", {"ticket": ["x1"], "action": "assign", "assignee": a.members["agent"].pk})
    assert response.status_code == 400 and response.context["bulk_form"].errors["ticket"]
    response = client.post("/exceptions/", {"action": "resolve", "note": "没有勾选"})
    assert response.status_code == 400 and response.context["bulk_form"].errors["ticket"]


def test_sla_clock_colours(world, queue):
    a = world.a
    now = timezone.now()
    with tenant_scope(a.tenant):
        Ticket.objects.filter(pk=queue[0].pk).update(resolution_due=now - dt.timedelta(hours=3))
        Ticket.objects.filter(pk=queue[1].pk).update(created_at=now - dt.timedelta(days=6, hours=20),
                                                     resolution_due=now + dt.timedelta(hours=4))
    response = world.client_for(a.user("branch_manager")).get("/exceptions/")
    states = {t.pk: t.sla.state for t in response.context["rows"]}
    assert states[queue[0].pk] == "breached" and states[queue[1].pk] == "warning" and states[queue[2].pk] == "ok"
    text = response.content.decode()
    assert "badge text-bg-danger sla sla-breached" in text and "badge text-bg-warning sla sla-warning" in text
    assert [t.pk for t in response.context["rows"]][0] == queue[1].pk   # oldest first


def test_queue_pages_with_a_constant_query_count(world):
    a = world.a
    client = world.client_for(a.user("branch_manager"))
    counts = []
    for prefix, n in (("QA", 1), ("QB", 54)):
        exception_tickets(a, n, prefix=prefix)
        client.get("/exceptions/")  # warm the session and authorisation caches
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/exceptions/").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
    first = client.get("/exceptions/")
    assert len(first.context["rows"]) == 50 and first.context["has_next"]
    second = client.get("/exceptions/", {"after": first.context["next_after"]})
    assert len(second.context["rows"]) == 5 and not second.context["has_next"]
    assert not {t.pk for t in first.context["rows"]} & {t.pk for t in second.context["rows"]}
    assert client.get("/exceptions/", {"after": "not-a-cursor"}).status_code == 200


def test_ticket_page_assign_and_status_with_errors_in_the_form(world, queue):
    a = world.a
    client = world.client_for(a.user("branch_manager"))
    url = f"/tickets/{queue[0].pk}/"
    page = client.get(url)
    assert page.status_code == 200
    assert [e.kind for e in page.context["events"]] == ["created"]
    assert [e.event_type for e in page.context["waybill_events"]] == ["created", "picked_up", "arrived_at_site",
                                                                       "damaged"]
    assert set(dict(page.context["forms"]["status"].fields["status"].choices)) == {"", "assigned", "in_progress",
                                                                                  "resolved"}
    agent = a.members["agent"]
    response = client.post(url, {"action": "assign", "assign-assignee": agent.pk, "assign-note": "交给你"})
    assert response.status_code == 302
    assert refresh(a, queue[0]).assignee_id == agent.pk
    # resolving without saying how: the service's error is shown on the form, nothing changes
    response = client.post(url, {"action": "status", "status-status": "resolved", "status-note": ""})
    assert response.status_code == 400
    assert response.context["forms"]["status"].errors["note"]
    assert refresh(a, queue[0]).status == TicketStatus.ASSIGNED
    # a status the machine does not allow from here is not a choice
    response = client.post(url, {"action": "status", "status-status": "closed"})
    assert response.status_code == 400 and response.context["forms"]["status"].errors["status"]
    response = client.post(url, {"action": "status", "status-status": "resolved", "status-note": "已补发"})
    assert response.status_code == 302
    fresh = refresh(a, queue[0])
    assert fresh.status == TicketStatus.RESOLVED
    kinds = [(e.kind, e.to_status) for e in timeline(a, fresh)]
    assert kinds == [("created", "new"), ("assigned", "assigned"), ("status", "resolved")]
    page = client.get(url)
    assert "已补发" in page.content.decode() and "交给你" in page.content.decode()
    assert not page.context["can_change"]                          # resolved: no longer assignable
    assert client.post(url, {"action": "bogus"}).status_code == 404


def test_branch_manager_home_links_to_the_queue_with_counts(world, queue):
    response = world.client_for(world.a.user("branch_manager")).get("/")
    assert response.status_code == 200
    summary = response.context["exceptions"]
    assert summary["open"] == 3 and summary["unassigned"] == 3 and summary["breached"] == 0
    assert [(kind, n) for kind, _label, n in summary["by_kind"]] == [("damaged", 3)]
    assert 'href="/exceptions/"' in response.content.decode()
    agent_home = world.client_for(world.a.user("agent")).get("/")
    assert "exceptions" not in agent_home.context and 'action="/waybills/"' in agent_home.content.decode()
