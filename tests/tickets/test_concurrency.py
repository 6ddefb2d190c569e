"""Two agents changing one ticket at once cannot corrupt it: real concurrent transactions, each
thread with its own database connection (as the application role, under row-level security),
released together by a barrier once both are inside their tenant-scoped transaction. The row
lock of the ticket services serialises them: every change that succeeded is on the timeline
exactly once, in a chain that ends in the ticket's status, and the loser gets a clean
ValidationError — never a corrupt row or a lost update."""
from __future__ import annotations

import pytest

from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tickets.models import OutboundMessage, Ticket, TicketEvent, TicketStatus
from tickets.services import conversation, core, intake, merge

from .races import _empty_tables_as_the_owner, race  # noqa: F401 — the fixture is used by pytest

pytestmark = pytest.mark.django_db(transaction=True)


def open_ticket(tw, **kw) -> Ticket:
    agent = tw.user(Role.AGENT)
    base = {"channel": "phone", "category": "complaint", "subject": "快递三天没动", "caller_phone": "13900001111"}
    base.update(kw)
    with tenant_scope(tw.tenant, user=agent):
        return intake.ticket_create(actor=agent, draft=intake.TicketDraft(**base))


def status_chain(tw, pk) -> list[tuple[str, str]]:
    with tenant_scope(tw.tenant):
        return list(TicketEvent.objects.filter(ticket_id=pk, kind="status").order_by("created_at", "id")
                    .values_list("from_status", "to_status"))


def fresh(tw, pk) -> Ticket:
    with tenant_scope(tw.tenant):
        return Ticket.objects.get(pk=pk)


def in_progress(tw) -> Ticket:
    ticket = open_ticket(tw)
    agent = tw.user(Role.AGENT)
    with tenant_scope(tw.tenant, user=agent):
        return core.ticket_transition(actor=agent, ticket=ticket, to_status=TicketStatus.IN_PROGRESS)


def two_agents(tw):
    return [a.user for a in tw.desk.agents]


def test_two_agents_both_resolve_one_wins_the_other_is_refused(desks):
    tw = desks.a
    ticket = in_progress(tw)
    first, second = two_agents(tw)
    outcomes = race(tw, *[(user, lambda user=user: core.ticket_transition(
        actor=user, ticket=ticket, to_status=TicketStatus.RESOLVED, note=f"{user.username} 已解决"))
        for user in (first, second)])
    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"]
    refused = next(exc for kind, exc in outcomes if kind == "refused")
    assert set(refused.message_dict) == {"status"}
    assert status_chain(tw, ticket.pk) == [("assigned", "in_progress"), ("in_progress", "resolved")]
    row = fresh(tw, ticket.pk)
    assert row.status == TicketStatus.RESOLVED and row.resolved_at is not None
    with tenant_scope(tw.tenant):
        event = TicketEvent.objects.select_related("actor").get(ticket_id=ticket.pk, to_status="resolved")
    assert event.actor_id in {first.pk, second.pk} and event.body == f"{event.actor.username} 已解决"


def test_resolve_and_wait_for_the_customer_at_once_leave_one_valid_path(desks):
    tw = desks.a
    ticket = in_progress(tw)
    first, second = two_agents(tw)
    outcomes = race(
        tw,
        (first, lambda: core.ticket_transition(actor=first, ticket=ticket, to_status=TicketStatus.RESOLVED,
                                               note="已赔付")),
        (second, lambda: core.ticket_transition(actor=second, ticket=ticket,
                                                to_status=TicketStatus.WAITING_CUSTOMER)))
    chain = status_chain(tw, ticket.pk)[1:]  # after assigned → in_progress
    row = fresh(tw, ticket.pk)
    # Whichever came first, every transition that succeeded is on the timeline once, in a chain
    # the state machine allows, ending in the ticket's status; the other was refused cleanly.
    assert len(chain) == sum(kind == "ok" for kind, _ in outcomes)
    assert chain[0][0] == "in_progress" and chain[-1][1] == row.status
    assert all(a[1] == b[0] for a, b in zip(chain, chain[1:], strict=False))
    assert all(to in core.ALLOWED_TRANSITIONS[frm] for frm, to in chain)
    if outcomes[0][0] == "ok" and outcomes[1][0] == "refused":
        assert chain == [("in_progress", "resolved")]
        assert set(outcomes[1][1].message_dict) == {"status"}
    else:  # waiting first, then resolving from waiting_customer is allowed
        assert [kind for kind, _ in outcomes] == ["ok", "ok"]
        assert chain == [("in_progress", "waiting_customer"), ("waiting_customer", "resolved")]
    assert row.status == TicketStatus.RESOLVED and row.sla_paused_at is None


def test_two_agents_grabbing_one_unassigned_ticket(desks):
    tw = desks.a
    ticket = open_ticket(tw, category="other")  # no team, nobody assigned
    first, second = tw.desk.agents
    outcomes = race(tw, *[(m.user, lambda m=m: core.ticket_assign(actor=m.user, ticket=ticket, assignee=m))
                          for m in (first, second)])
    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"]
    winner = (first, second)[[kind for kind, _ in outcomes].index("ok")]
    refused = next(exc for kind, exc in outcomes if kind == "refused")
    assert set(refused.message_dict) == {"note"}  # taking it from the winner would need a reason
    row = fresh(tw, ticket.pk)
    assert row.assignee_id == winner.pk and row.status == TicketStatus.ASSIGNED
    with tenant_scope(tw.tenant):
        events = list(TicketEvent.objects.filter(ticket_id=ticket.pk, kind="assigned").values_list("data", flat=True))
    assert [e["to"] for e in events] == [winner.pk]


def test_two_simultaneous_reassignments_are_both_recorded_in_order(desks):
    tw = desks.a
    ticket = open_ticket(tw)
    first, second = tw.desk.agents
    manager = tw.members[Role.BRANCH_MANAGER]
    outcomes = race(tw,
                    (first.user, lambda: core.ticket_assign(actor=first.user, ticket=ticket, assignee=manager,
                                                            note="升级给主管")),
                    (second.user, lambda: core.ticket_assign(actor=second.user, ticket=ticket, assignee=first,
                                                             note="我来接")))
    assert [kind for kind, _ in outcomes] == ["ok", "ok"]
    with tenant_scope(tw.tenant):
        events = list(TicketEvent.objects.filter(ticket_id=ticket.pk, kind="assigned").order_by("created_at", "id")
                      .values_list("data", flat=True))
    # No lost update: each reassignment starts from where the previous one left the ticket.
    assert events[0]["from"] is None and events[1]["from"] == ticket.assignee_id
    assert events[2]["from"] == events[1]["to"] and fresh(tw, ticket.pk).assignee_id == events[2]["to"]


def test_reply_while_another_agent_merges_the_ticket(desks):
    tw = desks.a
    person = tw.desk.person.pk
    target = open_ticket(tw, customer_id=person, channel="web", caller_email="w@example.com", caller_phone="")
    duplicate = open_ticket(tw, customer_id=person, channel="web", caller_email="w@example.com", caller_phone="",
                            subject="又来问了")
    first, second = two_agents(tw)
    with tenant_scope(tw.tenant):
        messages_before = OutboundMessage.objects.filter(ticket_id=duplicate.pk).count()
    outcomes = race(
        tw,
        (first, lambda: conversation.ticket_reply(actor=first, ticket=duplicate, body="正在核实")),
        (second, lambda: merge.tickets_merge(actor=second, target=target, duplicates=[duplicate], reason="重复")))
    assert outcomes[1][0] == "ok"  # the merge always goes through
    row = fresh(tw, duplicate.pk)
    assert row.merged_into_id == target.pk and row.status == TicketStatus.CLOSED and row.closed_at
    with tenant_scope(tw.tenant):
        replies = TicketEvent.objects.filter(ticket_id=duplicate.pk, kind="reply", actor__isnull=False).count()
        messages = OutboundMessage.objects.filter(ticket_id=duplicate.pk).count()
        order = list(TicketEvent.objects.filter(ticket_id=duplicate.pk).order_by("created_at", "id")
                     .values_list("kind", flat=True))
    if outcomes[0][0] == "ok":  # replied before the merge: said, sent, then merged
        assert replies == 1 and messages == messages_before + 1
        assert order[-3:] == ["reply", "status", "merged"]
    else:  # merged first: the reply is refused, nothing written, nothing sent
        assert set(outcomes[0][1].message_dict) == {"body"}
        assert replies == 0 and messages == messages_before and order[-1] == "merged"


def test_two_tickets_arriving_at_once_go_to_two_agents_of_a_round_robin_team(desks):
    tw = desks.a
    first, second = two_agents(tw)

    def create(user, phone):
        return lambda: intake.ticket_create(actor=user, draft=intake.TicketDraft(
            channel="phone", category="complaint", subject="投诉", caller_phone=phone))

    outcomes = race(tw, (first, create(first, "13900001111")), (second, create(second, "13900002222")))
    assert [kind for kind, _ in outcomes] == ["ok", "ok"]
    tickets = [fresh(tw, result.pk) for _kind, result in outcomes]
    assert {t.assignee_id for t in tickets} == {a.pk for a in tw.desk.agents}
    assert len({t.number for t in tickets}) == 2 and all(t.team_id == tw.desk.team.pk for t in tickets)
