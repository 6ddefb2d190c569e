"""Writes of the tickets app, one module per area; the ticket core is re-exported here."""
from .core import (
    ALLOWED_TRANSITIONS,
    ExceptionTicketRequest,
    exception_tickets_open,
    ticket_assign,
    ticket_transition,
    tickets_assign_bulk,
    tickets_resolve_bulk,
)

__all__ = [
    "ALLOWED_TRANSITIONS", "ExceptionTicketRequest", "exception_tickets_open", "ticket_assign",
    "ticket_transition", "tickets_assign_bulk", "tickets_resolve_bulk",
]
