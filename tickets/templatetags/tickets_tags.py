from django import template
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from tickets.models import TicketChannel, TicketEventKind, TicketPriority, TicketStatus

register = template.Library()

_STATUS_BADGE = {
    TicketStatus.NEW: "text-bg-info",
    TicketStatus.ASSIGNED: "text-bg-primary",
    TicketStatus.IN_PROGRESS: "text-bg-primary",
    TicketStatus.WAITING_CUSTOMER: "text-bg-secondary",
    TicketStatus.RESOLVED: "text-bg-success",
    TicketStatus.CLOSED: "text-bg-light border",
    TicketStatus.REOPENED: "text-bg-warning",
}
_PRIORITY_BADGE = {
    TicketPriority.LOW: "text-bg-light border",
    TicketPriority.NORMAL: "text-bg-secondary",
    TicketPriority.HIGH: "text-bg-warning",
    TicketPriority.URGENT: "text-bg-danger",
}


@register.filter
def ticket_badge(status: str) -> str:
    return _STATUS_BADGE.get(status, "text-bg-light border")


@register.filter
def ticket_status_label(status: str) -> str:
    return TicketStatus(status).label if status in TicketStatus.values else status


@register.filter
def priority_badge(priority: str) -> str:
    return _PRIORITY_BADGE.get(priority, "text-bg-light border")


@register.filter
def priority_label(priority: str) -> str:
    return TicketPriority(priority).label if priority in TicketPriority.values else priority


@register.filter
def category_label(category: str) -> str:
    from tickets.models import TicketCategory

    return TicketCategory(category).label if category in TicketCategory.values else category


@register.simple_tag
def queue_clock(row: dict, now, amber_percent: int) -> dict:
    """The state of a queue row's next clock: paused, breached, amber (under `amber_percent` of
    its time left) or ok, with the due time."""
    due = row.get("next_due")
    if row.get("sla_paused_at"):
        return {"state": "paused", "due": due}
    if due is None:
        return {"state": "none", "due": None}
    if due <= now or row.get("first_response_breached") or row.get("resolution_breached") and due <= now:
        return {"state": "breached", "due": due}
    total = (due - row["created_at"]).total_seconds()
    left = (due - now).total_seconds()
    if total > 0 and left < total * amber_percent / 100:
        return {"state": "warning", "due": due}
    return {"state": "ok", "due": due}


@register.filter
def reply_stage_label(stage: str) -> str:
    from tickets.models import ReplyStage

    return ReplyStage(stage).label if stage in ReplyStage.values else stage


@register.filter
def outbound_channel_label(channel: str) -> str:
    """A reply's delivery channel: a ticket channel, or SMS to the caller's phone."""
    if channel == "sms":
        return gettext("SMS")
    return TicketChannel(channel).label if channel in TicketChannel.values else channel


_EVENT_BACKGROUND = {"note": " bg-warning-subtle", "reply": " bg-primary-subtle",
                     "customer_message": " bg-light border"}


def _ticket_link(pk, number) -> SafeString:
    return format_html('<a href="{}">{}</a>', reverse("tickets:detail", args=[pk]), number)


def _event_extras(e) -> list[SafeString]:
    """What an event kind adds after the actor: reply stage and delivery, assignee, links of
    merges and splits, changed details, the status move."""
    data, parts = e.data or {}, []
    if getattr(e, "from_number", ""):
        parts.append(format_html('<span class="badge text-bg-light border">{}</span>',
                                 gettext("from %(n)s") % {"n": e.from_number}))
    if e.kind == "reply":
        if data.get("stage"):
            parts.append(format_html('<span class="badge text-bg-light border">{}</span>',
                                     reply_stage_label(data["stage"])))
        outbound = getattr(e, "outbound", None)
        if outbound is not None:
            parts.append(format_html(' <span class="badge {}" title="{}">{} · {}</span>',
                                     "text-bg-danger" if outbound.status == "failed" else "text-bg-light border",
                                     outbound.last_error, outbound.get_status_display(),
                                     outbound_channel_label(outbound.channel)))
    elif e.kind == "assigned" and data.get("to_name"):
        parts.append(format_html("→ {}", data["to_name"]))
    elif e.kind == "merged":
        if data.get("into_number"):
            parts.append(format_html("→ {}", _ticket_link(data["into"], data["into_number"])))
        if data.get("numbers"):
            parts.append(format_html("← {}", ", ".join(data["numbers"])))
    elif e.kind == "split":
        if data.get("to"):
            parts.append(format_html("→ {}", _ticket_link(data["to"], data.get("to_number", ""))))
        if data.get("from"):
            parts.append(format_html("← {}", _ticket_link(data["from"], data.get("from_number", ""))))
    elif e.kind == "updated" and data.get("changes"):
        changes = format_html_join("; ", "{}: {} → {}", ((key, old or "—", new or "—")
                                                         for key, (old, new) in data["changes"].items()))
        parts.append(format_html('<span class="text-muted">{}</span>', changes))
    if e.from_status and e.to_status and e.from_status != e.to_status:
        parts.append(format_html('<span class="text-muted">({} → {})</span>', ticket_status_label(e.from_status),
                                 ticket_status_label(e.to_status)))
    return parts


@register.simple_tag
def timeline_items(events) -> SafeString:
    """The <li> of each timeline event, built in Python: a ticket page may show hundreds of events,
    and a template loop with a dozen conditions per event cost more than the rest of the page."""
    system = gettext("System")
    kind_labels = {kind: str(label) for kind, label in TicketEventKind.choices}  # translated once, not per event
    items = []
    for e in events:
        kind_attrs = mark_safe(' class="internal-badge text-warning-emphasis"') if e.kind == "note" else ""
        body = format_html('<div class="ms-3 mt-1">{}</div>', linebreaksbr(e.body)) if e.body else ""
        items.append(format_html(
            '<li class="mb-2 p-2 rounded timeline-{}{}"><span class="text-muted">{}</span> · <strong{}>{}</strong>'
            " · {} {}{}</li>",
            e.kind, _EVENT_BACKGROUND.get(e.kind, ""), timezone.localtime(e.created_at).strftime("%Y-%m-%d %H:%M"),
            kind_attrs, kind_labels.get(e.kind, e.kind), (e.actor.display_name if e.actor_id else "") or system,
            mark_safe(" ".join(_event_extras(e))), body))  # noqa: S308 - every part is built by format_html
    return mark_safe("\n".join(items))  # noqa: S308 - each item is built by format_html


# --- claims --------------------------------------------------------------------------------------

_CLAIM_BADGE = {
    "draft": "text-bg-light border",
    "submitted": "text-bg-info",
    "under_review": "text-bg-primary",
    "approved": "text-bg-success",
    "partially_approved": "text-bg-success",
    "rejected": "text-bg-danger",
    "paid": "text-bg-dark",
    "withdrawn": "text-bg-secondary",
}


@register.filter
def claim_badge(status: str) -> str:
    return _CLAIM_BADGE.get(status, "text-bg-light border")


@register.filter
def claim_status_label(status: str) -> str:
    from tickets.models import ClaimStatus

    return ClaimStatus(status).label if status in ClaimStatus.values else status


@register.filter
def approval_level_label(level: str) -> str:
    from tickets.models import ApprovalLevel

    return ApprovalLevel(level).label if level in ApprovalLevel.values else (level or "—")


@register.inclusion_tag("tickets/claims/_clock.html")
def claim_clock(claim, now) -> dict:
    """The decision clock of a claim waiting for a decision: late, running out (past the warning
    share) or ok, with the due time."""
    from tickets.models import AWAITING_DECISION

    if claim.status not in AWAITING_DECISION or claim.decision_due is None:
        return {"state": "", "due": claim.decision_due}
    if claim.decision_breached or claim.decision_due <= now:
        state = "breached"
    elif claim.decision_warned or (claim.decision_warn_at and claim.decision_warn_at <= now):
        state = "warning"
    else:
        state = "ok"
    return {"state": state, "due": claim.decision_due}
