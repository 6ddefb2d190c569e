"""Customers and sales: one customer record for B-end accounts and C-end persons, their phones,
addresses, contacts and tags; contracts with agreement prices; dedup candidates and merges;
sales teams, leads, opportunities and follow-up activities."""
from .contracts import Contract, ContractLane, ContractStatus, LanePrice
from .imports import CustomerImport, ImportKind, ImportStatus
from .records import (
    Address,
    Contact,
    CreditRating,
    Customer,
    CustomerKind,
    CustomerNameGram,
    CustomerPhone,
    CustomerStatus,
    CustomerTag,
    DeliveryWindow,
    DuplicateCandidate,
    DuplicateReason,
    DuplicateStatus,
    Industry,
    MergeRecord,
    SettlementType,
    SourceChannel,
    Tag,
)
from .retention import (
    ChurnAlert,
    ChurnRisk,
    CustomerChurn,
    RetentionAction,
    RetentionOutcome,
    RetentionStatus,
    RetentionTask,
)
from .sales import (
    Activity,
    ActivityKind,
    Lead,
    LeadSource,
    LeadStatus,
    LostReason,
    Opportunity,
    OpportunityStage,
    QuoteLine,
    SalesTeam,
    SalesTeamMember,
)

__all__ = [
    "Activity", "ActivityKind", "ChurnAlert", "ChurnRisk", "CustomerChurn", "RetentionAction", "RetentionOutcome",
    "RetentionStatus", "RetentionTask", "Address", "Contact", "Contract", "ContractLane", "ContractStatus",
    "CreditRating",
    "Customer", "CustomerImport", "CustomerKind", "CustomerNameGram",
    "CustomerPhone", "CustomerStatus", "CustomerTag", "LanePrice",
    "DeliveryWindow", "DuplicateCandidate", "DuplicateReason", "DuplicateStatus", "ImportKind", "ImportStatus",
    "Industry", "Lead", "LostReason", "LeadSource", "LeadStatus", "MergeRecord", "Opportunity", "OpportunityStage",
    "QuoteLine", "SalesTeam", "SalesTeamMember", "SettlementType", "SourceChannel", "Tag",
]
