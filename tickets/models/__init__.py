"""Models of the tickets app, one module per area."""
from .claims import (
    APPROVAL_RANK,
    AWAITING_DECISION,
    AWAITING_PAYOUT,
    CLAIM_DONE,
    CLAIM_STANDING,
    CLAIM_TRANSITIONS,
    ApprovalLevel,
    Claim,
    ClaimantRole,
    ClaimCause,
    ClaimEvent,
    ClaimEventKind,
    ClaimEvidence,
    ClaimPayout,
    ClaimStatus,
    ClaimType,
    CompensationRule,
    EvidenceKind,
    PayoutMethod,
)
from .conversation import DeliveryStatus, Macro, MacroAction, OutboundMessage, ReplyStage, TicketAttachment
from .kb import ArticleStatus, KbArticle, KbArticleGram, KbArticleVersion, KbCategory
from .routing import AssignMode, CustomerClass, RoutingRule, Team, TeamMember
from .sla import BusinessCalendar, CalendarDay, SlaClock, SlaPolicy
from .surveys import Survey, SurveyChannel, SurveyKind, SurveyStatus
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
    "APPROVAL_RANK", "AWAITING_DECISION", "AWAITING_PAYOUT", "CLAIM_DONE", "CLAIM_STANDING", "CLAIM_TRANSITIONS",
    "ApprovalLevel", "Claim", "ClaimCause", "ClaimEvent", "ClaimEventKind", "ClaimEvidence", "ClaimPayout",
    "ClaimStatus", "ClaimType", "ClaimantRole", "CompensationRule", "EvidenceKind", "PayoutMethod",
    "Survey", "SurveyChannel", "SurveyKind", "SurveyStatus",
    "DONE_STATUSES", "ArticleStatus", "AssignMode", "BusinessCalendar", "CalendarDay", "CustomerClass",
    "DeliveryStatus", "ExceptionKind", "KbArticle", "KbArticleGram", "KbArticleVersion", "KbCategory", "Macro",
    "MacroAction", "OutboundMessage", "ReplyStage", "RoutingRule", "SlaClock", "SlaPolicy", "Team", "TeamMember",
    "Ticket", "TicketAttachment", "TicketCategory", "TicketChannel", "TicketEvent", "TicketEventKind",
    "TicketPriority", "TicketStatus",
]
