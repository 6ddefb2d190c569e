from django import template
from django.utils.translation import gettext

from tickets.models import TicketChannel, TicketPriority, TicketStatus

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
