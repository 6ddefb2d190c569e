"""Tickets coming in: created by an agent (the phone-call flow), the public web form, the API and
the mail/WeChat gateways; routed to a team by the tenant's rules and auto-assigned within it.

`ticket_create` is the one way a single ticket is born (system exception tickets are opened
set-based by `core.exception_tickets_open`). It validates everything before writing anything,
numbers the ticket from the gapless per-tenant sequence, sets the SLA clocks, routes, assigns,
writes the timeline, and — outside the phone channel, where the agent says it on the call —
sends the intake acknowledgement of DOMAIN.md §3 through the channel adapter."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Contact, Customer, CustomerKind
from shipments.models import Waybill
from tenancy.models import Branch, Membership, User
from tenancy.normalize import normalize_phone
from tenancy.services import number_next, require_perm

from .. import rules
from ..models import (
    DONE_STATUSES,
    AssignMode,
    CustomerClass,
    RoutingRule,
    Team,
    TeamMember,
    Ticket,
    TicketCategory,
    TicketChannel,
    TicketEvent,
    TicketEventKind,
    TicketPriority,
    TicketStatus,
)
from . import sla
from .core import _number, ticket_transition

MAX_TAGS = 10


@dataclass
class TicketDraft:
    """What a new ticket is made of, from any intake path. Ids or objects may be given."""

    channel: str
    category: str
    subject: str
    description: str = ""
    priority: str = TicketPriority.NORMAL
    customer_id: int | None = None
    contact_id: int | None = None
    caller_phone: str = ""
    caller_name: str = ""
    caller_email: str = ""
    waybill_number: str = ""
    waybill_id: int | None = None
    branch_id: int | None = None
    team_id: int | None = None
    assignee_id: int | None = None
    tags: list[str] = field(default_factory=list)
    external_ref: str = ""


def _clean_tags(raw) -> list[str]:
    if isinstance(raw, str):
        raw = raw.replace("，", ",").split(",")
    tags = []
    for tag in raw or ():
        tag = str(tag).strip()[:30]
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValidationError({"tags": _("At most %(n)d tags.") % {"n": MAX_TAGS}})
    return tags


def ticket_draft_check(draft: TicketDraft) -> dict:
    """Validate a draft against the tenant's data; returns the objects it refers to. Every
    problem is reported at once, by field, before anything is written."""
    errors: dict[str, list[str]] = {}

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    draft.subject = (draft.subject or "").strip()
    draft.description = (draft.description or "").strip()
    if not draft.subject:
        fail("subject", _("Give the ticket a subject."))
    elif len(draft.subject) > 200:
        fail("subject", _("At most 200 characters."))
    if draft.category not in TicketCategory.values:
        fail("category", _("Choose a category."))
    if draft.channel not in TicketChannel.values or draft.channel == TicketChannel.SYSTEM:
        fail("channel", _("Choose a channel."))
    if draft.priority not in TicketPriority.values:
        fail("priority", _("Choose a priority."))
    found: dict = {"customer": None, "contact": None, "waybill": None, "branch": None, "team": None,
                   "assignee": None}
    phone = ""
    if draft.caller_phone:
        try:
            phone = normalize_phone(draft.caller_phone)
        except ValidationError:
            fail("caller_phone", _("Enter a valid phone number."))
    draft.caller_phone = phone
    email = (draft.caller_email or "").strip()
    if email and ("@" not in email or len(email) > 254 or " " in email):
        fail("caller_email", _("Enter a valid email address."))
    draft.caller_email = email
    draft.caller_name = (draft.caller_name or "").strip()[:80]
    if draft.customer_id:
        found["customer"] = Customer.objects.filter(pk=draft.customer_id).exclude(status="merged").first()
        if found["customer"] is None:
            fail("customer", _("No such customer."))
    if draft.contact_id:
        found["contact"] = Contact.objects.filter(pk=draft.contact_id).first()
        if found["contact"] is None or (found["customer"] and found["contact"].customer_id != found["customer"].pk):
            fail("contact", _("This contact does not belong to the customer."))
    number = (draft.waybill_number or "").strip().upper()
    if draft.waybill_id:
        found["waybill"] = Waybill.objects.filter(pk=draft.waybill_id).first()
        if found["waybill"] is None:
            fail("waybill", _("No such waybill."))
    elif number:
        found["waybill"] = Waybill.objects.filter(number=number).first()
        if found["waybill"] is None:
            fail("waybill_number", _("No waybill with this number."))
    for name, model, key in (("branch", Branch, draft.branch_id), ("team", Team, draft.team_id),
                             ("assignee", Membership, draft.assignee_id)):
        if key:
            found[name] = model.objects.filter(pk=key).first()
            if found[name] is None:
                fail(name, _("Not found."))
    if found["assignee"] is not None and not found["assignee"].is_active:
        fail("assignee", _("This person is no longer active."))
    try:
        draft.tags = _clean_tags(draft.tags)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    draft.external_ref = (draft.external_ref or "").strip()[:120]
    # Somebody must be reachable: a customer, a phone, an email, a waybill's parties, or the
    # gateway's thread (a WeChat open id) to answer on.
    if not (found["customer"] or found["contact"] or phone or email or found["waybill"] or draft.external_ref
            or draft.channel == TicketChannel.API):
        fail("caller_phone", _("Give the customer, a phone number, an email or a waybill number."))
    if errors:
        raise ValidationError(errors)
    return found


# --- routing and assignment ----------------------------------------------------------------------

def _customer_class(customer: Customer | None, today: dt.date) -> set[str]:
    if customer is None:
        return {CustomerClass.ANY}
    if customer.kind != CustomerKind.ACCOUNT:
        return {CustomerClass.ANY, CustomerClass.PERSON}
    classes = {CustomerClass.ANY, CustomerClass.ACCOUNT}
    if "high_value" in (customer.segments or []) or customer.contracts.filter(
            status="active", start_date__lte=today, end_date__gte=today).exists():
        classes.add(CustomerClass.VIP_ACCOUNT)
    return classes


def route_team(*, category: str, priority: str, branch: Branch | None, customer: Customer | None,
               today: dt.date | None = None) -> Team | None:
    """The team of the first active rule (by order) whose every set condition matches."""
    today = today or timezone.localdate()
    classes = None
    for rule in RoutingRule.objects.filter(is_active=True, team__is_active=True).select_related("branch", "team"):
        if rule.category and rule.category != category:
            continue
        if rule.priority and rule.priority != priority:
            continue
        if rule.branch_id and (branch is None or not branch.path.startswith(rule.branch.path)):
            continue
        if rule.customer_class:
            classes = classes if classes is not None else _customer_class(customer, today)
            if rule.customer_class not in classes:
                continue
        return rule.team
    return None


def team_pick_assignee(team: Team) -> Membership | None:
    """The next member of `team` to get a ticket: round robin or fewest open tickets; people
    marked away and inactive memberships are skipped. Locks the team row (round robin's
    cursor), so two tickets arriving at once go to two people."""
    if team.assign_mode == AssignMode.MANUAL:
        return None
    team = Team.objects.select_for_update().get(pk=team.pk)
    members = list(Membership.objects.filter(
        team_memberships__team=team, is_active=True, is_away=False).order_by("pk"))
    if not members:
        return None
    if team.assign_mode == AssignMode.LEAST_OPEN:
        load = dict(Ticket.objects.filter(assignee__in=members).exclude(status__in=DONE_STATUSES)
                    .values_list("assignee").annotate(n=Count("id")).values_list("assignee", "n"))
        chosen = min(members, key=lambda m: (load.get(m.pk, 0), m.pk))
    else:
        after = [m for m in members if team.last_assigned_id is None or m.pk > team.last_assigned_id]
        chosen = after[0] if after else members[0]
    Team.objects.filter(pk=team.pk).update(last_assigned=chosen)
    return chosen


# --- create --------------------------------------------------------------------------------------

def ticket_create(*, actor: User | None, draft: TicketDraft, now: dt.datetime | None = None,
                  acknowledge: bool = True) -> Ticket:
    """Open a ticket from `draft` (see module doc). `actor` None means the public form or a
    gateway acting for the customer."""
    if actor is not None:
        require_perm(actor, "tickets.add_ticket")
    now = now or timezone.now()
    with transaction.atomic():
        found = ticket_draft_check(draft)
        waybill = found["waybill"]
        customer = found["customer"] or (found["contact"].customer if found["contact"] else None)
        branch = found["branch"] or (waybill.responsible_branch if waybill else None)
        team = found["team"] or route_team(category=draft.category, priority=draft.priority, branch=branch,
                                           customer=customer, today=timezone.localdate(now))
        ticket = Ticket(
            number=_number(now.year, number_next(f"ticket-{now.year}")), customer=customer, contact=found["contact"],
            caller_phone=draft.caller_phone or None, caller_name=draft.caller_name,
            caller_email=draft.caller_email or None, waybill=waybill, category=draft.category,
            channel=draft.channel, priority=draft.priority, status=TicketStatus.NEW, branch=branch, team=team,
            subject=draft.subject, description=draft.description, tags=draft.tags, external_ref=draft.external_ref,
            created_by=actor, created_at=now, updated_at=now,
        )
        sla.sla_start(ticket, now=now)
        assignee = found["assignee"] or (team_pick_assignee(team) if team else None)
        if assignee is not None:
            ticket.assignee = assignee
            ticket.status = TicketStatus.ASSIGNED
        ticket.save()
        TicketEvent.objects.create(ticket=ticket, kind=TicketEventKind.CREATED, actor=actor, to_status=TicketStatus.NEW,
                                   body=draft.description, created_at=now,
                                   data={"channel": draft.channel, "team": team.name if team else ""})
        if assignee is not None:
            TicketEvent.objects.create(
                ticket=ticket, kind=TicketEventKind.ASSIGNED, actor=actor, from_status=TicketStatus.NEW,
                to_status=TicketStatus.ASSIGNED, created_at=now,
                body="" if found["assignee"] else _("Assigned automatically (%(team)s).") % {"team": team.name},
                data={"from": None, "to": assignee.pk, "to_name": str(assignee.user), "auto": not found["assignee"]})
        if acknowledge and draft.channel != TicketChannel.PHONE:
            from .conversation import intake_acknowledge

            intake_acknowledge(ticket, now=now)
    return ticket


# --- inbound messages (mail and WeChat gateways) ---------------------------------------------------

@dataclass
class InboundMessage:
    channel: str
    external_ref: str
    body: str
    subject: str = ""
    sender_phone: str = ""
    sender_email: str = ""
    sender_name: str = ""
    waybill_number: str = ""
    category: str = TicketCategory.OTHER


def inbound_message_receive(*, actor: User | None, message: InboundMessage,
                            now: dt.datetime | None = None) -> tuple[Ticket, bool]:
    """A customer's message from a gateway. The same thread (external reference) adds to its
    ticket: an answer while we wait for the customer puts the ticket back in progress, a message
    on a ticket resolved within the reopen window reopens it; otherwise a new ticket is opened.
    Returns (ticket, created)."""
    if actor is not None:
        require_perm(actor, "tickets.add_ticket")
    now = now or timezone.now()
    ref = (message.external_ref or "").strip()[:120]
    if message.channel not in (TicketChannel.EMAIL, TicketChannel.WECHAT, TicketChannel.APP, TicketChannel.API,
                               TicketChannel.WEB):
        raise ValidationError({"channel": _("Messages arrive by email, WeChat, app, web or API.")})
    if not (message.body or "").strip():
        raise ValidationError({"body": _("The message is empty.")})
    with transaction.atomic():
        existing = None
        if ref:
            window = dt.timedelta(days=rules.REOPEN_WINDOW_DAYS.value())
            existing = (Ticket.objects.select_for_update()
                        .filter(external_ref=ref, channel=message.channel, merged_into__isnull=True)
                        .exclude(status=TicketStatus.CLOSED)
                        .order_by("-created_at").first())
            if existing is not None and existing.status == TicketStatus.RESOLVED and (
                    existing.resolved_at is None or now - existing.resolved_at > window):
                existing = None
        if existing is None:
            draft = TicketDraft(channel=message.channel, category=message.category,
                                subject=(message.subject or message.body).strip()[:200],
                                description=message.body.strip(), caller_phone=message.sender_phone,
                                caller_email=message.sender_email, caller_name=message.sender_name,
                                waybill_number=message.waybill_number, external_ref=ref)
            if draft.caller_phone and not draft.customer_id:
                from customers.selectors import customer_lookup

                match = customer_lookup(draft.caller_phone, limit=1)
                draft.customer_id = match[0].pk if len(match) == 1 else None
            return ticket_create(actor=actor, draft=draft, now=now), True
        TicketEvent.objects.create(ticket=existing, kind=TicketEventKind.CUSTOMER_MESSAGE, actor=None,
                                   body=message.body.strip(), created_at=now,
                                   data={"channel": message.channel, "subject": message.subject[:200]})
        system = actor
        if existing.status == TicketStatus.WAITING_CUSTOMER:
            existing = _system_transition(system, existing, TicketStatus.IN_PROGRESS,
                                          _("The customer answered."))
        elif existing.status == TicketStatus.RESOLVED:
            existing = _system_transition(system, existing, TicketStatus.REOPENED,
                                          _("The customer wrote again after the resolution."))
        else:
            Ticket.objects.filter(pk=existing.pk).update(updated_at=now)
    return existing, False


def _system_transition(actor: User | None, ticket: Ticket, to_status: str, note: str) -> Ticket:
    """A transition the customer's own message causes: through the one state-machine service,
    with the gateway's user (or none) as the actor."""
    return ticket_transition(actor=actor, ticket=ticket, to_status=to_status, note=note, system=True)


# --- details ---------------------------------------------------------------------------------------

def ticket_update(*, actor: User, ticket: Ticket, category: str | None = None, priority: str | None = None,
                  subject: str | None = None, tags=None, team_id: int | None = None, customer_id: int | None = None,
                  waybill_number: str | None = None, reason: str = "", now: dt.datetime | None = None) -> Ticket:
    """Change a ticket's details (None = leave as is). A new category or priority re-evaluates
    the SLA clocks; every change is one timeline entry listing old → new."""
    from .core import _check_branch_scope, _lock

    require_perm(actor, "tickets.change_ticket")
    with transaction.atomic():
        ticket = _lock(ticket)
        now = now or timezone.now()  # under the lock: the timeline orders events as they happened
        _check_branch_scope(actor, ticket)
        if ticket.status in DONE_STATUSES:
            raise ValidationError({"category": _("A resolved or closed ticket cannot be changed; reopen it first.")})
        changes: dict[str, list] = {}
        errors: dict[str, str] = {}
        if category is not None and category != ticket.category:
            if category not in TicketCategory.values:
                errors["category"] = _("Choose a category.")
            else:
                changes["category"] = [ticket.category, category]
                ticket.category = category
        if priority is not None and priority != ticket.priority:
            if priority not in TicketPriority.values:
                errors["priority"] = _("Choose a priority.")
            else:
                changes["priority"] = [ticket.priority, priority]
                ticket.priority = priority
        if subject is not None and subject.strip() != ticket.subject:
            if not subject.strip() or len(subject.strip()) > 200:
                errors["subject"] = _("Give the ticket a subject of at most 200 characters.")
            else:
                changes["subject"] = [ticket.subject, subject.strip()]
                ticket.subject = subject.strip()
        if tags is not None:
            try:
                clean = _clean_tags(tags)
            except ValidationError as exc:
                errors.update({k: v[0] for k, v in exc.message_dict.items()})
            else:
                if clean != list(ticket.tags):
                    changes["tags"] = [list(ticket.tags), clean]
                    ticket.tags = clean
        if team_id is not None and team_id != ticket.team_id:
            team = Team.objects.filter(pk=team_id, is_active=True).first() if team_id else None
            if team_id and team is None:
                errors["team"] = _("Not found.")
            else:
                changes["team"] = [ticket.team.name if ticket.team_id else "", team.name if team else ""]
                ticket.team = team
        if customer_id is not None and customer_id != ticket.customer_id:
            customer = Customer.objects.filter(pk=customer_id).exclude(status="merged").first()
            if customer is None:
                errors["customer"] = _("No such customer.")
            else:
                changes["customer"] = [ticket.customer_id, customer.pk]
                ticket.customer = customer
        if waybill_number is not None and waybill_number.strip().upper() != (
                ticket.waybill.number if ticket.waybill_id else ""):
            number = waybill_number.strip().upper()
            waybill = Waybill.objects.filter(number=number).first() if number else None
            if number and waybill is None:
                errors["waybill_number"] = _("No waybill with this number.")
            else:
                changes["waybill"] = [ticket.waybill.number if ticket.waybill_id else "", number]
                ticket.waybill = waybill
        if errors:
            raise ValidationError(errors)
        if not changes:
            return ticket
        if "category" in changes or "priority" in changes:
            sla.sla_recompute(ticket, now=now)
        ticket.updated_at = now
        ticket.save()
        TicketEvent.objects.create(ticket=ticket, kind=TicketEventKind.UPDATED, actor=actor, body=reason.strip(),
                                   created_at=now, data={"changes": changes})
    return ticket


def team_member_ids(team: Team) -> list[int]:
    return list(TeamMember.objects.filter(team=team).values_list("membership_id", flat=True))
