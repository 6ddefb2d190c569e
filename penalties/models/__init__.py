"""Models of the penalties app: the catalogue, cases (with evidence, appeals, timeline) and the ledger."""
from .cases import (
    CASE_TRANSITIONS,
    OPEN_STATUSES,
    PAYABLE,
    Appeal,
    AppealStatus,
    CaseEvent,
    CaseEventKind,
    CaseStatus,
    SubjectKind,
    Tier,
    ViolationCase,
    ViolationEvidence,
)
from .catalogue import Detector, Severity, ViolationCategory, ViolationType, ViolationTypeVersion
from .ledger import (
    CREDIT_KINDS,
    DEBIT_KINDS,
    GENESIS_HASH,
    EntryKind,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerHead,
    LedgerVerification,
    PaymentMethod,
    VerificationSource,
    VerificationStatus,
)

__all__ = [
    "CASE_TRANSITIONS", "CREDIT_KINDS", "DEBIT_KINDS", "GENESIS_HASH", "OPEN_STATUSES", "PAYABLE", "Appeal",
    "AppealStatus", "CaseEvent", "CaseEventKind", "CaseStatus", "Detector", "EntryKind", "LedgerCheckpoint",
    "LedgerEntry", "LedgerHead", "LedgerVerification", "PaymentMethod", "Severity", "SubjectKind", "Tier",
    "VerificationSource", "VerificationStatus", "ViolationCase", "ViolationCategory", "ViolationEvidence",
    "ViolationType", "ViolationTypeVersion",
]
