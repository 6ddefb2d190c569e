"""Reads of the agent console: the queues (lean rows, sorted by SLA time left), their counts,
the ticket page (timeline including merged tickets), the phone-call lookup, macros.

The queue is the hottest read of the product (every agent, every 30 s): it is one indexed query
returning plain dicts — no model instances, no serializer per row."""
from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import Case, F, Q, QuerySet, When
from django.db.models.functions import Least
from django.utils import timezone

from tenancy.masking import mask_name
from tenancy.models import Branch, Membership

from ..models import (
    DONE_STATUSES,
    Macro,
    Team,
    TeamMember,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketStatus,
)
from .exceptions import in_reach, reach_of

QUEUE_VIEWS = ("mine", "team", "unassigned", "breached", "waiting")
QUEUE_FIELDS = ("id", "number", "subject", "status", "priority", "category", "channel", "created_at",
                "first_response_due", "resolution_due", "first_responded_at", "sla_paused_at",
                "first_response_breached", "resolution_breached", "assignee_id", "team_id",
                "customer_id", "customer__name", "customer__kind", "waybill__number", "next_due")


def team_ids_of(membership: Membership) -> list[int]:
    return list(TeamMember.objects.filter(membership=membership).values_list("team_id", flat=True))


def _next_due():
    """The clock that runs out first: the first response while none was given, else resolution."""
    return Case(When(first_responded_at__isnull=True, then=Least("first_response_due", "resolution_due")),
                default=F("resolution_due"))


def queue_queryset(*, membership: Membership, view: str = "mine", team_ids: list[int] | None = None) -> QuerySet:
    """Open tickets of one queue view in this member's reach."""
    qs = Ticket.objects.exclude(status__in=DONE_STATUSES)
    if view == "mine":
        qs = qs.filter(assignee=membership)
    else:
        team_ids = team_ids if team_ids is not None else team_ids_of(membership)
        qs = qs.filter(team_id__in=team_ids)
        if view == "unassigned":
            qs = qs.filter(assignee__isnull=True)
        elif view == "breached":
            qs = qs.filter(Q(first_response_breached=True) | Q(resolution_breached=True))
        elif view == "waiting":
            qs = qs.filter(status=TicketStatus.WAITING_CUSTOMER)
    return in_reach(qs, membership)


def queue_rows(*, membership: Membership, view: str = "mine", limit: int = 50, offset: int = 0,
               team_ids: list[int] | None = None) -> list[dict]:
    """The first `limit` tickets of a queue by SLA time left (paused clocks last), as dicts with
    the customer's name masked for persons."""
    qs = (queue_queryset(membership=membership, view=view, team_ids=team_ids)
          .annotate(next_due=_next_due())
          .order_by(F("sla_paused_at").asc(nulls_first=True), F("next_due").asc(nulls_last=True), "id")
          .values(*QUEUE_FIELDS)[offset:offset + limit])
    rows = list(qs)
    for row in rows:
        name = row.pop("customer__name") or ""
        kind = row.pop("customer__kind") or ""
        row["customer_name"] = mask_name(name) if kind == "person" else name
        row["waybill_number"] = row.pop("waybill__number") or ""
    return rows


_OPEN_SQL = "NOT (t.status IN ({}))".format(", ".join(f"'{status}'" for status in DONE_STATUSES))
_COUNTS_SQL = """
SELECT * FROM (
    SELECT count(*) AS mine,
           count(*) FILTER (WHERE t.first_response_breached OR t.resolution_breached) AS mine_late,
           count(*) FILTER (WHERE t.sla_paused_at IS NULL AND (CASE WHEN t.first_responded_at IS NULL
                THEN LEAST(t.first_response_due, t.resolution_due) ELSE t.resolution_due END) <= %(soon)s)
               AS mine_due_soon
    FROM {ticket} t
    WHERE t.tenant_id = %(tenant)s AND {open} AND t.assignee_id = %(membership)s {reach}
) AS mine CROSS JOIN (
    SELECT count(*) AS team,
           count(*) FILTER (WHERE t.assignee_id IS NULL) AS unassigned,
           count(*) FILTER (WHERE t.first_response_breached OR t.resolution_breached) AS breached,
           count(*) FILTER (WHERE t.status = %(waiting)s) AS waiting
    FROM {ticket} t
    WHERE t.tenant_id = %(tenant)s AND {open} AND t.team_id = ANY(%(teams)s) {reach}
) AS team
"""
# queue_queryset's in_reach for a branch manager: tickets of their branch's subtree
_REACH_SQL = ("AND t.branch_id IN (SELECT b.id FROM {branch} b WHERE b.tenant_id = %(tenant)s "
              "AND b.path LIKE %(reach)s)")
COUNT_NAMES = ("mine", "mine_late", "mine_due_soon", "team", "unassigned", "breached", "waiting")


def queue_counts(*, membership: Membership, team_ids: list[int] | None = None,
                 now: dt.datetime | None = None) -> dict[str, int]:
    """The numbers on the queue tabs, in one query.

    Hand-written SQL: this runs on every queue request, and building seven filtered aggregates
    with the ORM cost more CPU than the query itself. Two aggregates in one statement rather than
    one over `mine OR team`: each part is a range of one partial index (tickets 0004: the open
    tickets by assignee and by team, with the counted flags in INCLUDE) read index-only; the OR
    was a bitmap heap scan visiting every open ticket of the team (~26k rows at 200 agents in 8
    teams). Same rows as queue_queryset() (open, in the member's reach)."""
    now = now or timezone.now()
    team_ids = team_ids if team_ids is not None else team_ids_of(membership)
    branch = reach_of(membership)
    reach = ""
    params = {"tenant": membership.tenant_id, "membership": membership.pk, "teams": list(team_ids),
              "soon": now + dt.timedelta(hours=4), "waiting": TicketStatus.WAITING_CUSTOMER.value}
    if branch is not None:
        reach = _REACH_SQL.format(branch=Branch._meta.db_table)
        params["reach"] = branch.path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    sql = _COUNTS_SQL.format(ticket=Ticket._meta.db_table, open=_OPEN_SQL, reach=reach)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return dict(zip(COUNT_NAMES, row, strict=True))


# --- the ticket page ---------------------------------------------------------------------------------

def ticket_page_get(*, membership: Membership | None, pk: int) -> Ticket:
    from .exceptions import ticket_get

    return ticket_get(membership=membership, pk=pk)


def merged_ticket_ids(ticket: Ticket) -> dict[int, str]:
    """{id: number} of the tickets merged into this one."""
    return dict(Ticket.objects.filter(merged_into=ticket).values_list("id", "number"))


def ticket_full_timeline(*, ticket: Ticket, merged: dict[int, str] | None = None) -> list[TicketEvent]:
    """The ticket's timeline with those of the tickets merged into it, in time order; each event
    from a merged ticket carries `from_number`."""
    merged = merged if merged is not None else merged_ticket_ids(ticket)
    events = list(TicketEvent.objects.filter(ticket_id__in=[ticket.pk, *merged])
                  .select_related("actor", "outbound").order_by("created_at", "id"))
    for event in events:
        event.from_number = merged.get(event.ticket_id, "")
    return events


def ticket_attachments(*, ticket: Ticket, merged: dict[int, str] | None = None) -> list[TicketAttachment]:
    merged = merged if merged is not None else merged_ticket_ids(ticket)
    return list(TicketAttachment.objects.filter(ticket_id__in=[ticket.pk, *merged])
                .select_related("uploaded_by").order_by("created_at", "id"))


def attachment_get(*, membership: Membership | None, pk: int) -> TicketAttachment:
    from django.http import Http404

    attachment = TicketAttachment.objects.select_related("ticket").filter(pk=pk).first()
    if attachment is None or not in_reach(Ticket.objects.filter(pk=attachment.ticket_id), membership).exists():
        raise Http404
    return attachment


def merge_candidates(*, ticket: Ticket, membership: Membership | None, limit: int = 20) -> list[Ticket]:
    """Other open tickets of the same customer (or the same caller's number), newest first."""
    if ticket.customer_id:
        same = Q(customer_id=ticket.customer_id)
    elif ticket.caller_phone_bidx:
        same = Q(caller_phone_bidx=ticket.caller_phone_bidx, customer__isnull=True)
    else:
        return []
    qs = (Ticket.objects.filter(same, merged_into__isnull=True).exclude(pk=ticket.pk)
          .exclude(status=TicketStatus.CLOSED).order_by("-created_at"))
    return list(in_reach(qs, membership)[:limit])


def customer_recent_tickets(*, customer_id: int, limit: int = 10, exclude_id: int | None = None) -> list[Ticket]:
    qs = Ticket.objects.filter(customer_id=customer_id).select_related("assignee__user").order_by("-created_at")
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return list(qs[:limit])


def caller_recent_tickets(*, phone_bidx: bytes | str, limit: int = 10) -> list[Ticket]:
    return list(Ticket.objects.filter(caller_phone_bidx=phone_bidx).order_by("-created_at")[:limit])


def macros_for(*, membership: Membership, team_ids: list[int] | None = None) -> list[Macro]:
    """Active macros for everyone plus those of the member's teams."""
    team_ids = team_ids if team_ids is not None else team_ids_of(membership)
    return list(Macro.objects.filter(is_active=True).filter(Q(team__isnull=True) | Q(team_id__in=team_ids))
                .order_by("name"))


def teams_with_members() -> list[Team]:
    return list(Team.objects.prefetch_related("members__membership__user").select_related("lead__user")
                .order_by("name"))


def assignable_for(*, ticket: Ticket | None = None) -> list[tuple[int, str]]:
    """People a ticket may be given to, as (membership id, "name · branch") choices: active agents
    and branch managers, the ticket's team's members first. Plain tuples: the ticket page lists
    every agent of the company (200 here), and model instances cost more than the page's SQL."""
    from .exceptions import ASSIGNABLE_ROLES

    rows = (Membership.objects.filter(is_active=True, role__in=ASSIGNABLE_ROLES)
            .order_by("user__display_name", "pk").values_list("pk", "user__display_name", "branch__name"))
    choices = [(pk, f"{name} · {branch or '—'}") for pk, name, branch in rows]
    if ticket is not None and ticket.team_id:
        in_team = set(TeamMember.objects.filter(team_id=ticket.team_id).values_list("membership_id", flat=True))
        choices.sort(key=lambda choice: choice[0] not in in_team)
    return choices
