"""Reads of the tickets app, one module per area; the exception queue's are re-exported here."""
from .exceptions import (
    ASSIGNABLE_ROLES,
    OPEN_STATUSES,
    Sla,
    assignable_members,
    exception_queue,
    exception_queue_summary,
    exception_tickets_chosen,
    queue_branches,
    reach_of,
    sla_of,
    ticket_get,
    ticket_list,
    ticket_timeline,
    tickets_of_waybill,
    with_sla,
)

__all__ = [
    "ASSIGNABLE_ROLES", "OPEN_STATUSES", "Sla", "assignable_members", "exception_queue", "exception_queue_summary",
    "exception_tickets_chosen", "queue_branches", "reach_of", "sla_of", "ticket_get", "ticket_list",
    "ticket_timeline", "tickets_of_waybill", "with_sla",
]
