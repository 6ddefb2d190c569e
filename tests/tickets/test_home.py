"""The agent's home page shows their queue (assigned to them, due soon, late, unassigned in their
teams), and the customer 360 the customer's tickets — each in their own company only."""
from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tickets.models import Ticket
from tickets.services import intake


def _open(tw, n: int) -> list[Ticket]:
    agent = tw.user(Role.AGENT)
    with tenant_scope(tw.tenant, user=agent):
        return [intake.ticket_create(actor=agent, draft=intake.TicketDraft(
            channel="phone", category="complaint", subject=f"投诉{i}", caller_phone="13900001111"))
            for i in range(n)]


def test_agent_home_counts_my_queue(desks):
    tw = desks.a
    me = tw.members[Role.AGENT]
    tickets = _open(tw, 4)   # round robin over the team's two agents: two each
    _open(desks.b, 3)        # the other company's tickets never count
    mine = [t for t in tickets if t.assignee_id == me.pk]
    assert len(mine) == 2
    now = timezone.now()
    with tenant_scope(tw.tenant):
        # the first clock still running decides: an unanswered ticket due for its first response in an hour
        Ticket.objects.filter(pk=mine[0].pk).update(first_responded_at=None, first_response_due=now + dt.timedelta(
            hours=1), resolution_due=now + dt.timedelta(days=7))
        # answered, resolution a week away, but late on its first response
        Ticket.objects.filter(pk=mine[1].pk).update(first_responded_at=now, first_response_due=now - dt.timedelta(
            hours=1), resolution_due=now + dt.timedelta(days=7), first_response_breached=True)
    response = desks.client_for(tw.user(Role.AGENT)).get("/")
    assert response.status_code == 200
    queue = response.context["ticket_queue"]
    assert (queue["mine"], queue["mine_due_soon"], queue["mine_late"]) == (2, 1, 1)
    assert 'href="/console/"' in response.content.decode()


def test_other_roles_have_no_queue_card(desks):
    response = desks.client_for(desks.a.user(Role.BRANCH_MANAGER)).get("/")
    assert response.status_code == 200 and "ticket_queue" not in response.context


def test_customer_360_lists_the_customers_tickets_open_first(desks):
    tw = desks.a
    person = tw.desk.person
    agent = tw.user(Role.AGENT)
    with tenant_scope(tw.tenant, user=agent):
        first, second = (intake.ticket_create(actor=agent, draft=intake.TicketDraft(
            channel="phone", category="complaint", subject=subject, customer_id=person.pk))
            for subject in ("外箱破损", "催派"))
        Ticket.objects.filter(pk=second.pk).update(status="closed")
    client = desks.client_for(agent)
    page = client.get(f"/customers/{person.pk}/")
    assert page.status_code == 200 and f'/customers/{person.pk}/tickets/' in page.content.decode()
    rows = client.get(f"/customers/{person.pk}/tickets/", HTTP_HX_REQUEST="true")
    html = rows.content.decode()
    assert rows.status_code == 200 and (rows.context["open"], rows.context["total"]) == (1, 2)
    assert [t.pk for t in rows.context["tickets"]] == [first.pk, second.pk]
    assert first.number in html and second.number in html
    # without htmx the address leads to the customer page; another company's customer is 404
    assert client.get(f"/customers/{person.pk}/tickets/").status_code == 302
    assert client.get(f"/customers/{desks.b.desk.person.pk}/tickets/", HTTP_HX_REQUEST="true").status_code == 404
    # sales managers read tickets too; nobody without the permission gets the rows
    assert desks.client_for(tw.user(Role.SALES_MANAGER)).get(
        f"/customers/{person.pk}/tickets/", HTTP_HX_REQUEST="true").status_code == 200
