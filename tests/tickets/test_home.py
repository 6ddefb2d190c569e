"""The agent's home page shows their queue: tickets assigned to them, due soon, late, and the
unassigned ones of their teams — counted in their own company only."""
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
    with tenant_scope(tw.tenant):
        Ticket.objects.filter(pk=mine[0].pk).update(resolution_due=timezone.now() + dt.timedelta(hours=1))
        Ticket.objects.filter(pk=mine[1].pk).update(resolution_breached=True)
    response = desks.client_for(tw.user(Role.AGENT)).get("/")
    assert response.status_code == 200
    queue = response.context["ticket_queue"]
    assert (queue["mine"], queue["mine_due_soon"], queue["mine_late"]) == (2, 1, 1)
    assert 'href="/console/"' in response.content.decode()


def test_other_roles_have_no_queue_card(desks):
    response = desks.client_for(desks.a.user(Role.BRANCH_MANAGER)).get("/")
    assert response.status_code == 200 and "ticket_queue" not in response.context
