"""What is said on a ticket: public replies (staged, sent through the channel adapters after
commit), internal notes, macros, attachments, and the delivery of outbound messages."""
from __future__ import annotations

import datetime as dt
import hashlib
import string

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.masking import mask_name
from tenancy.models import User
from tenancy.scoping import current_tenant_id
from tenancy.services import require_perm

from .. import rules
from ..channels import OutgoingText, adapter_for
from ..models import (
    DeliveryStatus,
    Macro,
    MacroAction,
    OutboundMessage,
    ReplyStage,
    Ticket,
    TicketAttachment,
    TicketChannel,
    TicketEvent,
    TicketEventKind,
    TicketStatus,
)
from .core import _check_branch_scope, _lock, ticket_transition

MAX_TEXT = 20_000


def _text(body: str, field: str = "body") -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({field: _("Write something first.")})
    if len(body) > MAX_TEXT:
        raise ValidationError({field: _("At most %(n)d characters.") % {"n": MAX_TEXT}})
    return body


def reply_route(ticket: Ticket) -> tuple[str, str]:
    """(delivery channel, recipient) of a public reply: the channel the customer came in on,
    to the address they used; web-form tickets get email when they left one, else SMS."""
    email = ticket.caller_email or (ticket.contact.email if ticket.contact_id and ticket.contact else None) or (
        ticket.customer.email if ticket.customer_id and ticket.customer and ticket.customer.email else None)
    phone = ticket.caller_phone or (ticket.contact.phone if ticket.contact_id and ticket.contact else None)
    channel = ticket.channel
    if channel == TicketChannel.EMAIL:
        return channel, str(email or "")
    if channel == TicketChannel.WEB:
        return ("email", str(email)) if email else ("sms", str(phone or ""))
    if channel in (TicketChannel.WECHAT, TicketChannel.APP, TicketChannel.API):
        return channel, ticket.external_ref or str(phone or "")
    if channel == TicketChannel.SYSTEM:
        return ("sms", str(phone)) if phone else ("phone", "")
    return TicketChannel.PHONE, str(phone or "")


def _outbound(ticket: Ticket, event: TicketEvent, stage: str, now: dt.datetime) -> OutboundMessage:
    channel, recipient = reply_route(ticket)
    message = OutboundMessage.objects.create(ticket=ticket, event=event, channel=channel, stage=stage,
                                             recipient=recipient or None, created_at=now)
    tenant_id = current_tenant_id()
    transaction.on_commit(lambda: _enqueue_delivery(tenant_id, message.pk))
    return message


def _enqueue_delivery(tenant_id: int, message_id: int) -> None:
    from ..tasks import outbound_deliver

    outbound_deliver.delay(tenant_id=tenant_id, message_id=message_id)


def intake_acknowledge(ticket: Ticket, *, now: dt.datetime) -> TicketEvent:
    """The first staged reply: we have your request, this is its number, expect an answer by …"""
    due = timezone.localtime(ticket.first_response_due) if ticket.first_response_due else None
    body = _("We have received your request %(number)s (%(subject)s).") % {
        "number": ticket.number, "subject": ticket.subject}
    if due:
        body += " " + _("We will get back to you by %(time)s.") % {"time": due.strftime("%Y-%m-%d %H:%M")}
    event = TicketEvent.objects.create(ticket=ticket, kind=TicketEventKind.REPLY, actor=None, body=body,
                                       created_at=now, data={"stage": ReplyStage.INTAKE, "automatic": True})
    _outbound(ticket, event, ReplyStage.INTAKE, now)
    return event


def _check_writable(actor: User, ticket: Ticket) -> None:
    require_perm(actor, "tickets.change_ticket")
    _check_branch_scope(actor, ticket)
    if ticket.merged_into_id:
        raise ValidationError({"body": _("This ticket was merged into %(number)s; write there.") % {
            "number": ticket.merged_into.number}})


def ticket_reply(*, actor: User, ticket: Ticket, body: str, stage: str = ReplyStage.PROGRESS,
                 then_status: str = "", kb_article_ids: tuple[int, ...] = (), macro_id: int | None = None,
                 now: dt.datetime | None = None) -> Ticket:
    """A public reply to the customer: recorded on the timeline, sent through the channel
    adapter after commit; the first human reply is the first response. `then_status` moves the
    ticket on in the same transaction (e.g. waiting for the customer, or resolved with the result)."""
    body = _text(body)
    kb_article_ids = tuple(dict.fromkeys(kb_article_ids))  # an article used twice in one reply counts once
    if stage not in ReplyStage.values:
        raise ValidationError({"stage": _("Choose a stage.")})
    if then_status and then_status not in TicketStatus.values:
        raise ValidationError({"then_status": _("Choose a status.")})
    with transaction.atomic():
        ticket = _lock(ticket)
        # Read the time under the lock: a change that held it before us is earlier on the timeline.
        now = now or timezone.now()
        _check_writable(actor, ticket)
        if ticket.status == TicketStatus.CLOSED:
            raise ValidationError({"body": _("A closed ticket takes no more replies; reopen is not possible "
                                             "after closing — open a new ticket.")})
        event = TicketEvent.objects.create(ticket=ticket, kind=TicketEventKind.REPLY, actor=actor, body=body,
                                           created_at=now, data={"stage": stage, "kb": list(kb_article_ids),
                                                                 "macro": macro_id})
        _outbound(ticket, event, stage, now)
        changed = {"updated_at": now}
        if ticket.first_responded_at is None:
            changed["first_responded_at"] = now
            if ticket.first_response_due and now > ticket.first_response_due:
                changed["first_response_breached"] = True
        Ticket.objects.filter(pk=ticket.pk).update(**changed)
        if then_status and then_status != ticket.status:
            ticket = ticket_transition(actor=actor, ticket=ticket, to_status=then_status,
                                       note=body if then_status == TicketStatus.RESOLVED else "")
        elif ticket.status in (TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.REOPENED):
            ticket = ticket_transition(actor=actor, ticket=ticket, to_status=TicketStatus.IN_PROGRESS)
    if kb_article_ids:
        from .kb import kb_article_used

        for article_id in kb_article_ids:
            kb_article_used(article_id=article_id)
    return Ticket.objects.get(pk=ticket.pk)


def ticket_result_notify(*, actor: User | None, ticket: Ticket, body: str, now: dt.datetime | None = None) -> Ticket:
    """Tell the customer the outcome of something decided elsewhere (a claim paid or rejected):
    a staged result reply sent through the channel adapter, and the ticket resolved if it is
    still open. Called inside the deciding service's transaction, whose permissions stand; the
    ticket's own checks (branch, role) do not apply to the system's message."""
    with transaction.atomic():
        ticket = _lock(ticket)
        now = now or timezone.now()
        event = TicketEvent.objects.create(ticket=ticket, kind=TicketEventKind.REPLY, actor=actor, body=body,
                                           created_at=now, data={"stage": ReplyStage.RESULT, "automatic": True})
        _outbound(ticket, event, ReplyStage.RESULT, now)
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
        if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED) and not ticket.merged_into_id:
            ticket = ticket_transition(actor=actor, ticket=ticket, to_status=TicketStatus.RESOLVED, note=body,
                                       system=True)
    return ticket


def ticket_note(*, actor: User, ticket: Ticket, body: str, now: dt.datetime | None = None) -> TicketEvent:
    """An internal note: colleagues see it, the customer never does."""
    body = _text(body)
    with transaction.atomic():
        ticket = _lock(ticket)
        _check_writable(actor, ticket)
        event = TicketEvent.objects.create(ticket=ticket, kind=TicketEventKind.NOTE, actor=actor, body=body,
                                           created_at=now or timezone.now())
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=event.created_at)
    return event


# --- macros ----------------------------------------------------------------------------------------

MACRO_VARIABLES = ("customer_name", "ticket_number", "ticket_subject", "waybill_number", "agent_name",
                   "first_response_due", "resolution_due", "status")


class _Vars(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def macro_variables(ticket: Ticket, actor: User) -> dict[str, str]:
    """What a macro's placeholders become on `ticket`: the customer's name masked (a macro text
    goes to the customer and into the timeline; full names are only revealed, never templated)."""
    def when(value):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""

    name = ticket.customer.name if ticket.customer_id else ticket.caller_name
    return {
        "customer_name": mask_name(name) if name else _("customer"),
        "ticket_number": ticket.number,
        "ticket_subject": ticket.subject,
        "waybill_number": ticket.waybill.number if ticket.waybill_id else "",
        "agent_name": actor.display_name or actor.username,
        "first_response_due": when(ticket.first_response_due),
        "resolution_due": when(ticket.resolution_due),
        "status": TicketStatus(ticket.status).label,
    }


def macro_check_body(body: str) -> str:
    """A macro's text may only use the known variables."""
    body = _text(body)
    try:
        fields = list(string.Formatter().parse(body))
    except ValueError as exc:  # a lone { or }
        raise ValidationError({"body": _("A brace must open and close a variable, e.g. {customer_name}; write "
                                         "{{ or }} for a brace itself.")}) from exc
    for _literal, name, _spec, _conv in fields:
        if name is not None and name not in MACRO_VARIABLES:
            raise ValidationError({"body": _("Unknown variable {%(name)s}. Use one of: %(known)s.") % {
                "name": name, "known": ", ".join("{" + v + "}" for v in MACRO_VARIABLES)}})
    return body


def macro_render(*, macro: Macro, ticket: Ticket, actor: User) -> str:
    try:
        return string.Formatter().vformat(macro.body, (), _Vars(macro_variables(ticket, actor)))
    except (ValueError, IndexError):
        return macro.body


def macro_apply(*, actor: User, ticket: Ticket, macro: Macro, body: str | None = None,
                now: dt.datetime | None = None) -> Ticket:
    """Post the macro's (possibly edited) text as a reply or note, then set what it sets."""
    if not macro.is_active:
        raise ValidationError({"macro": _("This macro is switched off.")})
    text = body if body is not None and body.strip() else macro_render(macro=macro, ticket=ticket, actor=actor)
    with transaction.atomic():
        if macro.action == MacroAction.NOTE:
            ticket_note(actor=actor, ticket=ticket, body=text, now=now)
            ticket = Ticket.objects.get(pk=ticket.pk)
            if macro.set_status and macro.set_status != ticket.status:
                ticket = ticket_transition(actor=actor, ticket=ticket, to_status=macro.set_status, note=text)
        else:
            ticket = ticket_reply(actor=actor, ticket=ticket, body=text, stage=macro.stage,
                                  then_status=macro.set_status, macro_id=macro.pk, now=now)
        if macro.set_category or macro.set_priority:
            from .intake import ticket_update

            ticket = ticket_update(actor=actor, ticket=ticket, category=macro.set_category or None,
                                   priority=macro.set_priority or None,
                                   reason=_("Macro “%(name)s”") % {"name": macro.name})
        Macro.objects.filter(pk=macro.pk).update(usage_count=F("usage_count") + 1)
    return ticket


# --- attachments -----------------------------------------------------------------------------------

_SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}


def sniff_type(head: bytes) -> str:
    """The file's type from its first bytes — the browser's claim is not trusted."""
    for content_type, magics in _SIGNATURES.items():
        if any(head.startswith(m) for m in magics):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain" if b"\x00" not in head else "application/octet-stream"


def attachment_add(*, actor: User, ticket: Ticket, name: str, content: bytes,
                   now: dt.datetime | None = None) -> TicketAttachment:
    """Store a file on the ticket after checking its real type and size against the tenant's
    rules; the timeline records it."""
    require_perm(actor, "tickets.add_ticketattachment")
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200] or "file"
    limit = rules.ATTACHMENT_MAX_MB.value() * 1024 * 1024
    if not content:
        raise ValidationError({"file": _("The file is empty.")})
    if len(content) > limit:
        raise ValidationError({"file": _("The file is larger than %(mb)d MB.") % {
            "mb": rules.ATTACHMENT_MAX_MB.value()}})
    content_type = sniff_type(content[:2048])
    allowed = {t.strip() for t in str(rules.ATTACHMENT_TYPES.value()).split(",") if t.strip()}
    if content_type not in allowed:
        raise ValidationError({"file": _("Files of this type are not accepted (allowed: %(types)s).") % {
            "types": ", ".join(sorted(allowed))}})
    with transaction.atomic():
        ticket = _lock(ticket)
        now = now or timezone.now()
        _check_writable(actor, ticket)
        if ticket.attachments.count() >= rules.ATTACHMENTS_PER_TICKET.value():
            raise ValidationError({"file": _("This ticket already has the most files allowed.")})
        digest = hashlib.sha256(content).hexdigest()
        attachment = TicketAttachment(ticket=ticket, name=name, content_type=content_type, size=len(content),
                                      sha256=digest, uploaded_by=actor, created_at=now)
        attachment.file.save(digest, ContentFile(content), save=False)
        event = TicketEvent.objects.create(ticket=ticket, kind=TicketEventKind.ATTACHMENT, actor=actor, body=name,
                                           created_at=now, data={"size": len(content), "type": content_type})
        attachment.event = event
        attachment.save()
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
    return attachment


def attachment_open(*, actor: User, attachment: TicketAttachment):
    require_perm(actor, "tickets.view_ticketattachment")
    return attachment.file.open("rb")


# --- delivery ---------------------------------------------------------------------------------------

def outbound_deliver(*, message_id: int) -> str:
    """Send one pending outbound message through its channel's adapter and record the outcome.
    Safe to run twice: only a pending message is sent, under a row lock."""
    from tenancy.models import Tenant

    with transaction.atomic():
        message = (OutboundMessage.objects.select_for_update(of=("self",)).select_related("ticket")
                   .filter(pk=message_id).first())
        if message is None or message.status != DeliveryStatus.PENDING:
            return message.status if message else "missing"
        adapter = adapter_for(message.channel)
        recipient = str(message.recipient or "")
        message.attempts += 1
        if adapter.needs_recipient and not recipient:
            message.status, message.last_error = DeliveryStatus.FAILED, "no address to send to"
        else:
            event = TicketEvent.objects.get(pk=message.event_id)
            result = adapter.send(OutgoingText(
                tenant_code=Tenant.objects.get(pk=message.tenant_id).code, ticket_number=message.ticket.number,
                channel=message.channel, recipient=recipient, subject=message.ticket.subject, body=event.body,
                message_id=message.pk))
            message.status = {"sent": DeliveryStatus.SENT, "recorded": DeliveryStatus.RECORDED}.get(
                result.status, DeliveryStatus.FAILED)
            message.provider_ref, message.last_error = result.provider_ref[:120], result.error[:300]
            if message.status != DeliveryStatus.FAILED:
                message.sent_at = timezone.now()
        message.save()
    return message.status


def outbound_note_failure(*, message_id: int, error: str) -> None:
    """After the last retry of a transient failure: the message is failed, visibly."""
    OutboundMessage.objects.filter(pk=message_id, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, last_error=error[:300], attempts=F("attempts") + 1)

