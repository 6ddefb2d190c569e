"""Merging duplicate tickets of one customer, and splitting a second matter off a ticket.

Timeline rows never change, so a merge moves nothing: the duplicates are closed with a link
(`merged_into`) and a timeline entry on both sides, and the surviving ticket's page shows the
timelines and attachments of the tickets merged into it (tickets.selectors.queues)."""
from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.models import User
from tenancy.services import require_perm

from ..models import DONE_STATUSES, Ticket, TicketEvent, TicketEventKind, TicketStatus
from .core import _check_branch_scope
from .intake import TicketDraft, ticket_create

MAX_MERGE = 20


def _same_customer(a: Ticket, b: Ticket) -> bool:
    if a.customer_id or b.customer_id:
        return a.customer_id == b.customer_id
    return bool(a.caller_phone_bidx) and a.caller_phone_bidx == b.caller_phone_bidx


def tickets_merge(*, actor: User, target: Ticket, duplicates: list[Ticket], reason: str = "",
                  now: dt.datetime | None = None) -> Ticket:
    """Close `duplicates` into `target` (all of one customer, all open). Rows are locked in id
    order so two merges over the same tickets cannot deadlock or merge a ticket twice."""
    require_perm(actor, "tickets.merge_ticket")
    ids = sorted({t.pk for t in duplicates} - {target.pk})
    if not ids:
        raise ValidationError({"duplicates": _("Choose at least one other ticket to merge.")})
    if len(ids) > MAX_MERGE:
        raise ValidationError({"duplicates": _("At most %(n)d tickets at once.") % {"n": MAX_MERGE}})
    with transaction.atomic():
        locked = {t.pk: t for t in Ticket.objects.select_for_update().filter(pk__in=sorted([*ids, target.pk]))
                  .order_by("pk")}
        # The time is read once the locks are held, so the timeline orders events as they happened.
        now = now or timezone.now()
        target = locked.get(target.pk)
        if target is None or len(locked) != len(ids) + 1:
            raise ValidationError({"duplicates": _("Some of these tickets do not exist.")})
        _check_branch_scope(actor, target)
        if target.status in DONE_STATUSES or target.merged_into_id:
            raise ValidationError({"target": _("Merge into an open ticket.")})
        for pk in ids:
            duplicate = locked[pk]
            _check_branch_scope(actor, duplicate)
            if duplicate.merged_into_id or duplicate.status == TicketStatus.CLOSED:
                raise ValidationError({"duplicates": _("%(number)s is already closed or merged.") % {
                    "number": duplicate.number}})
            if not _same_customer(target, duplicate):
                raise ValidationError({"duplicates": _("%(number)s belongs to another customer.") % {
                    "number": duplicate.number}})
        for pk in ids:
            duplicate = locked[pk]
            from_status = duplicate.status
            duplicate.merged_into = target
            duplicate.status = TicketStatus.CLOSED
            duplicate.closed_at = now
            duplicate.updated_at = now
            duplicate.save(update_fields=["merged_into", "status", "closed_at", "updated_at"])
            TicketEvent.objects.create(ticket=duplicate, kind=TicketEventKind.MERGED, actor=actor,
                                       from_status=from_status, to_status=TicketStatus.CLOSED, body=reason.strip(),
                                       created_at=now, data={"into": target.pk, "into_number": target.number})
        TicketEvent.objects.create(ticket=target, kind=TicketEventKind.MERGED, actor=actor, body=reason.strip(),
                                   created_at=now, data={"merged": ids,
                                                         "numbers": [locked[pk].number for pk in ids]})
        # The earliest promise made to the customer stands.
        earliest = min((locked[pk] for pk in ids), key=lambda t: t.created_at)
        if earliest.created_at < target.created_at and earliest.first_responded_at and not target.first_responded_at:
            target.first_responded_at = earliest.first_responded_at
        target.updated_at = now
        target.save(update_fields=["first_responded_at", "updated_at"])
    return target


def ticket_split(*, actor: User, ticket: Ticket, subject: str, description: str = "", category: str = "",
                 now: dt.datetime | None = None) -> Ticket:
    """Open a new ticket for a second matter raised on `ticket` (same customer, caller and
    waybill), linked both ways on the timelines."""
    require_perm(actor, "tickets.merge_ticket")
    with transaction.atomic():
        source = Ticket.objects.select_for_update().get(pk=ticket.pk)
        now = now or timezone.now()
        _check_branch_scope(actor, source)
        if source.merged_into_id:
            raise ValidationError({"subject": _("This ticket was merged; split the ticket it was merged into.")})
        draft = TicketDraft(
            channel=source.channel if source.channel != "system" else "phone", category=category or source.category,
            subject=subject, description=description, priority=source.priority, customer_id=source.customer_id,
            contact_id=source.contact_id, caller_phone=str(source.caller_phone or ""), caller_name=source.caller_name,
            caller_email=str(source.caller_email or ""), waybill_id=source.waybill_id, branch_id=source.branch_id,
            tags=list(source.tags))
        new = ticket_create(actor=actor, draft=draft, now=now, acknowledge=False)
        Ticket.objects.filter(pk=new.pk).update(split_from=source)
        new.split_from = source
        TicketEvent.objects.create(ticket=source, kind=TicketEventKind.SPLIT, actor=actor, body=new.subject,
                                   created_at=now, data={"to": new.pk, "to_number": new.number})
        TicketEvent.objects.create(ticket=new, kind=TicketEventKind.SPLIT, actor=actor, body=source.subject,
                                   created_at=now, data={"from": source.pk, "from_number": source.number})
    return new
