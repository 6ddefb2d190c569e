"""Writes of the tickets app: system-opened exception tickets, the state machine, assignment.

Every status change goes through `ticket_transition` (allowed transitions, row lock, timeline
event); bulk actions are loops over it so each ticket keeps its own timeline."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.models import Membership, Role, User
from tenancy.scoping import current_state, current_tenant_id
from tenancy.services import number_next, require_perm

from .. import rules
from ..models import DONE_STATUSES, Ticket, TicketEvent, TicketEventKind, TicketStatus
from . import sla

# ARCHITECTURE.md §5: new → assigned → in_progress ⇄ waiting_customer → resolved → closed;
# resolved → reopened → in_progress (within the reopen window).
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    TicketStatus.NEW: {TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED},
    TicketStatus.ASSIGNED: {TicketStatus.IN_PROGRESS, TicketStatus.WAITING_CUSTOMER, TicketStatus.RESOLVED},
    TicketStatus.IN_PROGRESS: {TicketStatus.WAITING_CUSTOMER, TicketStatus.RESOLVED},
    TicketStatus.WAITING_CUSTOMER: {TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED},
    TicketStatus.RESOLVED: {TicketStatus.CLOSED, TicketStatus.REOPENED},
    TicketStatus.REOPENED: {TicketStatus.IN_PROGRESS, TicketStatus.ASSIGNED, TicketStatus.RESOLVED},
    TicketStatus.CLOSED: set(),
}


@dataclass(frozen=True)
class ExceptionTicketRequest:
    """What a shipments exception rule asks for: one ticket per (waybill, kind) while open."""

    waybill_id: int
    kind: str
    category: str
    priority: str
    branch_id: int | None
    customer_id: int | None
    subject: str
    description: str


def _number(year: int, value: int) -> str:
    return f"T{year}-{value:06d}"


def exception_tickets_open(requests: list[ExceptionTicketRequest], *, now: dt.datetime | None = None) -> int:
    """Open a system ticket for each request that has no open ticket of the same waybill and kind.

    Set-based (one read, one insert, one timeline insert) so ingest and the periodic sweeps can
    call it with thousands of requests. A request that already has an open ticket adds nothing;
    the partial unique index makes that hold under concurrency too. Returns tickets opened."""
    if not requests:
        return 0
    now = now or timezone.now()
    tenant_id = current_tenant_id()
    table, events = Ticket._meta.db_table, TicketEvent._meta.db_table
    unique = {(r.waybill_id, r.kind): r for r in requests}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT waybill_id, exception_kind FROM {table}
                WHERE tenant_id = %s AND waybill_id = ANY(%s) AND exception_kind <> ''
                  AND status NOT IN ('resolved', 'closed')""",
            [tenant_id, list({r.waybill_id for r in unique.values()})],
        )
        for key in cursor.fetchall():
            unique.pop(tuple(key), None)
        todo = list(unique.values())
        if not todo:
            return 0
        last = number_next(f"ticket-{now.year}", len(todo))
        first = last - len(todo) + 1
        dues, teams = {}, {}
        for r in todo:
            key = (r.category, r.priority, r.customer_id)
            if key not in dues:
                dues[key] = sla.sla_dues_for(category=r.category, priority=r.priority, customer_id=r.customer_id,
                                             start=now)
            route = (r.category, r.priority, r.branch_id)
            if route not in teams:
                teams[route] = _route_exception(r)
        plan = [(r, dues[(r.category, r.priority, r.customer_id)], teams[(r.category, r.priority, r.branch_id)])
                for r in todo]
        cursor.execute(
            f"""INSERT INTO {table} (tenant_id, number, customer_id, waybill_id, category, channel, priority, status,
                    branch_id, team_id, subject, description, exception_kind, sla_policy_id, first_response_due,
                    resolution_due, first_response_warn_at, resolution_warn_at, first_response_breached,
                    resolution_breached, created_at, updated_at, tags)
                SELECT %s, v.number, v.customer_id, v.waybill_id, v.category, 'system', v.priority, 'new',
                       v.branch_id, v.team_id, v.subject, v.description, v.kind, v.policy_id, v.first_due,
                       v.resolution_due, v.first_warn, v.resolution_warn, false, false, %s, %s, ARRAY[]::varchar[]
                FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::bigint[],
                            %s::bigint[], %s::text[], %s::text[], %s::text[], %s::bigint[], %s::timestamptz[],
                            %s::timestamptz[], %s::timestamptz[], %s::timestamptz[])
                     AS v(number, customer_id, waybill_id, category, priority, branch_id, team_id, subject,
                          description, kind, policy_id, first_due, resolution_due, first_warn, resolution_warn)
                ON CONFLICT (tenant_id, waybill_id, exception_kind)
                   WHERE waybill_id IS NOT NULL AND NOT exception_kind = '' AND NOT status IN ('resolved', 'closed')
                DO NOTHING
                RETURNING id, exception_kind""",
            [tenant_id, now, now,
             [_number(now.year, first + i) for i in range(len(todo))],
             [r.customer_id for r, _d, _t in plan], [r.waybill_id for r, _d, _t in plan],
             [r.category for r, _d, _t in plan], [r.priority for r, _d, _t in plan],
             [r.branch_id for r, _d, _t in plan], [t for _r, _d, t in plan],
             [r.subject[:200] for r, _d, _t in plan], [r.description for r, _d, _t in plan],
             [r.kind for r, _d, _t in plan], [d.policy_id for _r, d, _t in plan],
             [d.first_response_due for _r, d, _t in plan], [d.resolution_due for _r, d, _t in plan],
             [d.first_response_warn_at for _r, d, _t in plan], [d.resolution_warn_at for _r, d, _t in plan]],
        )
        created = cursor.fetchall()
        if created:
            cursor.execute(
                f"""INSERT INTO {events} (tenant_id, ticket_id, kind, from_status, to_status, body, data, created_at)
                    SELECT %s, v.id, 'created', '', 'new', '', jsonb_build_object('exception_kind', v.kind), %s
                    FROM unnest(%s::bigint[], %s::text[]) AS v(id, kind)""",
                [tenant_id, now, [row[0] for row in created], [row[1] for row in created]],
            )
    return len(created)


def _route_exception(request: ExceptionTicketRequest) -> int | None:
    """The team of a system ticket by the tenant's routing rules (category, priority, branch)."""
    from tenancy.models import Branch

    from .intake import route_team

    branch = Branch.objects.filter(pk=request.branch_id).first() if request.branch_id else None
    team = route_team(category=request.category, priority=request.priority, branch=branch, customer=None)
    return team.pk if team else None


def _lock(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def _acting_membership(actor: User) -> Membership | None:
    """The membership the actor works under in this scope (a request's active one), if known."""
    membership_id = current_state().membership_id
    return (Membership.objects.select_related("branch").filter(pk=membership_id, user=actor).first()
            if membership_id else None)


def _check_branch_scope(actor: User, obj, message: str = "") -> None:
    """A branch manager works the tickets (and claims: anything with a branch) of their own
    branch subtree only."""
    membership = _acting_membership(actor)
    if membership is None or membership.role != Role.BRANCH_MANAGER or membership.branch_id is None:
        return
    if obj.branch_id is None or not obj.branch.path.startswith(membership.branch.path):
        raise PermissionDenied(message or _("This ticket belongs to another branch."))


def ticket_transition(*, actor: User | None, ticket: Ticket, to_status: str, note: str = "",
                      system: bool = False) -> Ticket:
    """Move a ticket to `to_status` if the state machine allows it; writes the timeline.
    `system` transitions (a customer's message arriving, a merge) skip the actor's checks."""
    if not system:
        require_perm(actor, "tickets.change_ticket")
    with transaction.atomic():
        ticket = _lock(ticket)
        if not system:
            _check_branch_scope(actor, ticket)
        if to_status not in ALLOWED_TRANSITIONS.get(ticket.status, set()):
            raise ValidationError({"status": _("A ticket cannot go from “%(from)s” to “%(to)s”.") % {
                "from": TicketStatus(ticket.status).label, "to": TicketStatus(to_status).label
                if to_status in TicketStatus.values else to_status}})
        now = timezone.now()
        if to_status == TicketStatus.REOPENED:
            window = dt.timedelta(days=rules.REOPEN_WINDOW_DAYS.value())
            if ticket.resolved_at is None or now - ticket.resolved_at > window:
                raise ValidationError({"status": _("The reopen window of this ticket has passed.")})
        if to_status == TicketStatus.RESOLVED and not note.strip():
            raise ValidationError({"note": _("Say how the ticket was resolved.")})
        from_status = ticket.status
        ticket.status = to_status
        ticket.updated_at = now
        # The customer's turn stops the clocks; the ticket coming back to us starts them again.
        if to_status == TicketStatus.WAITING_CUSTOMER:
            sla.sla_pause(ticket, now=now)
        elif from_status == TicketStatus.WAITING_CUSTOMER:
            sla.sla_resume(ticket, now=now)
        if to_status == TicketStatus.RESOLVED:
            ticket.resolved_at = now
            if ticket.resolution_due and now > ticket.resolution_due:
                ticket.resolution_breached = True
        elif to_status == TicketStatus.CLOSED:
            ticket.closed_at = now
        elif to_status == TicketStatus.REOPENED:
            ticket.resolved_at = None
        if ticket.first_responded_at is None and to_status != TicketStatus.ASSIGNED and not system:
            ticket.first_responded_at = now
            if ticket.first_response_due and now > ticket.first_response_due:
                ticket.first_response_breached = True
        ticket.save()
        TicketEvent.objects.create(ticket=ticket, kind=TicketEventKind.STATUS, actor=actor, from_status=from_status,
                                   to_status=to_status, body=note.strip())
        if to_status == TicketStatus.CLOSED:
            # The CSAT survey (tickets.services.surveys) after commit; the survey sweep makes up
            # for a lost message.
            from tenancy.tasks import enqueue_on_commit

            from ..tasks import survey_csat_create

            enqueue_on_commit(survey_csat_create, tenant_id=ticket.tenant_id, ticket_id=ticket.pk)
    return ticket


def ticket_assign(*, actor: User, ticket: Ticket, assignee: Membership, note: str = "",
                  require_reason: bool = True) -> Ticket:
    """Give a ticket to a colleague (a new ticket becomes assigned); writes the timeline. Taking
    a ticket away from someone needs a reason (bulk actions of the exception queue pass theirs)."""
    from ..permissions import ROLE_GRANTS

    require_perm(actor, "tickets.change_ticket")
    if not assignee.is_active:
        raise ValidationError({"assignee": _("This person is no longer active.")})
    if "tickets.change_ticket" not in ROLE_GRANTS.get(assignee.role, ()):
        raise ValidationError({"assignee": _("This person's role does not work tickets.")})
    with transaction.atomic():
        ticket = _lock(ticket)
        _check_branch_scope(actor, ticket)
        if ticket.status in DONE_STATUSES:
            raise ValidationError({"assignee": _("A resolved or closed ticket cannot be reassigned.")})
        previous = ticket.assignee_id
        if previous is not None and previous != assignee.pk and require_reason and not note.strip():
            raise ValidationError({"note": _("Say why the ticket goes to someone else.")})
        ticket.assignee = assignee
        from_status = ticket.status
        if ticket.status == TicketStatus.NEW:
            ticket.status = TicketStatus.ASSIGNED
        ticket.updated_at = timezone.now()
        ticket.save()
        TicketEvent.objects.create(ticket=ticket, kind=TicketEventKind.ASSIGNED, actor=actor, from_status=from_status,
                                   to_status=ticket.status, body=note.strip(),
                                   data={"from": previous, "to": assignee.pk, "to_name": str(assignee.user)})
    return ticket


def _bulk(tickets: list[Ticket], action) -> tuple[int, list[tuple[Ticket, str]]]:
    """Apply `action` to each ticket in its own savepoint: one refusal does not undo the others."""
    done, failed = 0, []
    for ticket in tickets:
        try:
            with transaction.atomic():
                action(ticket)
            done += 1
        except (ValidationError, PermissionDenied) as exc:
            messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
            failed.append((ticket, " ".join(messages)))
    return done, failed


def tickets_assign_bulk(*, actor: User, tickets: list[Ticket], assignee: Membership, note: str = ""):
    """Assign many tickets; returns (assigned count, [(ticket, why not)])."""
    require_perm(actor, "tickets.resolve_exception")
    return _bulk(tickets, lambda t: ticket_assign(actor=actor, ticket=t, assignee=assignee, note=note,
                                                   require_reason=False))


def tickets_resolve_bulk(*, actor: User, tickets: list[Ticket], note: str):
    """Resolve many tickets with one note; returns (resolved count, [(ticket, why not)])."""
    require_perm(actor, "tickets.resolve_exception")
    if not (note or "").strip():
        raise ValidationError({"note": _("Say how the tickets were resolved.")})
    return _bulk(tickets, lambda t: ticket_transition(actor=actor, ticket=t, to_status=TicketStatus.RESOLVED,
                                                       note=note))
