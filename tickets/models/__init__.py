"""Models of the tickets app, one module per area."""
from .conversation import DeliveryStatus, Macro, MacroAction, OutboundMessage, ReplyStage, TicketAttachment
from .kb import ArticleStatus, KbArticle, KbArticleGram, KbArticleVersion, KbCategory
from .routing import AssignMode, CustomerClass, RoutingRule, Team, TeamMember
from .sla import BusinessCalendar, CalendarDay, SlaClock, SlaPolicy
from .tickets import (
    DONE_STATUSES,
    ExceptionKind,
    Ticket,
    TicketCategory,
    TicketChannel,
    TicketEvent,
    TicketEventKind,
    TicketPriority,
    TicketStatus,
)

__all__ = [
    "DONE_STATUSES", "ArticleStatus", "AssignMode", "BusinessCalendar", "CalendarDay", "CustomerClass",
    "DeliveryStatus", "ExceptionKind", "KbArticle", "KbArticleGram", "KbArticleVersion", "KbCategory", "Macro",
    "MacroAction", "OutboundMessage", "ReplyStage", "RoutingRule", "SlaClock", "SlaPolicy", "Team", "TeamMember",
    "Ticket", "TicketAttachment", "TicketCategory", "TicketChannel", "TicketEvent", "TicketEventKind",
    "TicketPriority", "TicketStatus",
]
