from django import template

from tickets.models import TicketPriority, TicketStatus

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
