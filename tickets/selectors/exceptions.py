"""Every read of the tickets app used by pages, the API and tasks.

A branch manager sees the tickets of their branch subtree (Branch.path prefix); everyone else
with the right to read tickets sees the whole company's (ARCHITECTURE.md §3)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from tenancy.models import Branch, Membership, Role
from tenancy.selectors import branch_reach, branch_subtree, in_branch_reach, membership_list

from .. import rules
from ..models import DONE_STATUSES, ExceptionKind, Ticket, TicketEvent, TicketStatus

# Roles a queue's tickets may be given to.
ASSIGNABLE_ROLES = (Role.AGENT, Role.BRANCH_MANAGER)

OPEN_STATUSES = [s for s in TicketStatus.values if s not in DONE_STATUSES]


# A branch manager's subtree limits their tickets and claims (the rule of tenancy.selectors).
reach_of = branch_reach
in_reach = in_branch_reach


def ticket_list(*, membership: Membership | None) -> QuerySet[Ticket]:
    """The tickets this member may read, newest first."""
    qs = (Ticket.objects.select_related("waybill", "branch", "assignee__user", "customer__churn")
          .order_by("-created_at", "-id"))
    return in_reach(qs, membership)


def ticket_get(*, membership: Membership | None, pk: int) -> Ticket:
    """One ticket this member may read, or 404 (another company's, or outside a manager's subtree)."""
    ticket = ticket_list(membership=membership).filter(pk=pk).first()
    if ticket is None:
        raise Http404
    return ticket


def customer_tickets(*, membership: Membership | None, customer_id: int, limit: int = 10) -> dict:
    """The customer 360's tickets card: how many are open and how many there are in this member's
    reach, and the latest `limit` (open ones first), in two queries."""
    qs = ticket_list(membership=membership).filter(customer_id=customer_id)
    counts = qs.aggregate(total=Count("id"), open=Count("id", filter=~Q(status__in=DONE_STATUSES)))
    rows = sorted(qs[:limit], key=lambda t: not t.is_open)
    return {"tickets": rows, "total": counts["total"], "open": counts["open"]}


def ticket_timeline(*, ticket_id: int) -> list[TicketEvent]:
    return list(TicketEvent.objects.filter(ticket_id=ticket_id).select_related("actor").order_by("created_at", "id"))


def tickets_of_waybill(*, waybill_id: int) -> list[Ticket]:
    """Every ticket of one waybill (open first, then newest), for the waybill page."""
    return sorted(Ticket.objects.filter(waybill_id=waybill_id).select_related("branch", "assignee__user")
                  .order_by("-created_at", "-id"), key=lambda t: not t.is_open)


# --- the branch manager's exception queue --------------------------------------------------------

def exception_queue(*, membership: Membership | None, kind: str = "", status: str = "",
                    assignee_id: int | None = None, unassigned: bool = False, branch_id: int | None = None,
                    search: str = "") -> QuerySet[Ticket]:
    """Open exception tickets in this member's reach, oldest first (keyset: created_at, id).
    `search` is a waybill or ticket number (exact, any case)."""
    qs = (Ticket.objects.exclude(exception_kind="").filter(status__in=OPEN_STATUSES)
          .select_related("waybill", "branch", "assignee__user").order_by("created_at", "id"))
    qs = in_reach(qs, membership)
    if kind:
        qs = qs.filter(exception_kind=kind)
    if status:
        qs = qs.filter(status=status)
    if unassigned:
        qs = qs.filter(assignee__isnull=True)
    elif assignee_id:
        qs = qs.filter(assignee_id=assignee_id)
    if branch_id:
        qs = qs.filter(branch_id=branch_id)
    search = (search or "").strip()
    if search:
        variants = sorted({search, search.upper(), search.lower()})
        qs = qs.filter(Q(number__in=variants) | Q(waybill__number__in=variants))
    return qs


def after_cursor(qs: QuerySet[Ticket], cursor: tuple[dt.datetime, int] | None) -> QuerySet[Ticket]:
    """The tickets after (created_at, id) in the queue's order."""
    if cursor is None:
        return qs
    created_at, pk = cursor
    return qs.filter(Q(created_at__gt=created_at) | Q(created_at=created_at, pk__gt=pk))


def exception_tickets_chosen(*, membership: Membership | None, ids: list[int]) -> list[Ticket]:
    """The exception tickets of a bulk action, whatever their status (the service says why a
    resolved one is refused); another company's ids and, for a branch manager, tickets outside
    the subtree are simply not found."""
    qs = Ticket.objects.exclude(exception_kind="").filter(pk__in=ids).select_related("branch").order_by("created_at",
                                                                                                        "id")
    return list(in_reach(qs, membership))


@dataclass
class Sla:
    state: str                  # "none", "ok", "warning" (under the amber share left) or "breached"
    due: dt.datetime | None


def sla_of(ticket: Ticket, *, now: dt.datetime, amber_percent: int | None = None) -> Sla:
    """The resolution clock of one ticket; lists pass `amber_percent` read once for all rows."""
    if amber_percent is None:
        amber_percent = rules.SLA_AMBER_PERCENT.value()
    due = ticket.resolution_due
    if due is None:
        return Sla("none", None)
    left = due - now
    if left.total_seconds() <= 0:
        return Sla("breached", due)
    total = due - ticket.created_at
    if total.total_seconds() > 0 and left < total * (amber_percent / 100):
        return Sla("warning", due)
    return Sla("ok", due)


def with_sla(tickets: list[Ticket], *, now: dt.datetime | None = None) -> list[Ticket]:
    now = now or timezone.now()
    amber_percent = rules.SLA_AMBER_PERCENT.value()
    for ticket in tickets:
        ticket.sla = sla_of(ticket, now=now, amber_percent=amber_percent)
    return tickets


def exception_queue_summary(*, membership: Membership | None, now: dt.datetime | None = None) -> dict:
    """Counts for the branch manager's home page: open, unassigned, breached, by kind (two queries)."""
    now = now or timezone.now()
    qs = exception_queue(membership=membership).order_by()
    totals = qs.aggregate(open=Count("id"), unassigned=Count("id", filter=Q(assignee__isnull=True)),
                          breached=Count("id", filter=Q(resolution_due__lt=now)))
    by_kind = {row["exception_kind"]: row["n"] for row in qs.values("exception_kind").annotate(n=Count("id"))}
    totals["by_kind"] = [(value, label, by_kind[value]) for value, label in ExceptionKind.choices if value in by_kind]
    return totals


def queue_branches(*, membership: Membership | None) -> QuerySet[Branch]:
    """The branches a queue may be filtered by: the manager's subtree, or the whole tree."""
    branch = reach_of(membership)
    return branch_subtree(branch) if branch is not None else Branch.objects.order_by("path")


def assignable_members(*, membership: Membership | None) -> QuerySet[Membership]:
    """Colleagues a ticket may be given to: active agents and branch managers of the manager's
    subtree (the whole company's for everyone else)."""
    branch = reach_of(membership)
    return membership_list(active=True, branch_subtree_of=branch).filter(role__in=ASSIGNABLE_ROLES)
