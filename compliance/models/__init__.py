"""Models of the compliance app (DOMAIN.md §6): the access log, consent, data-subject requests,
retention runs, key rotations and the incident register."""
from .access import AccessAction, AccessLog
from .consent import ConsentPurpose, ConsentRecord, ConsentSource
from .incidents import (
    AffectedRecord,
    Incident,
    IncidentEvent,
    IncidentSeverity,
    IncidentStatus,
    RemedialAction,
)
from .jobs import (
    JobStatus,
    KeyRotation,
    RetentionRun,
    RotationKind,
)
from .requests import (
    DataSubjectRequest,
    DsrEvent,
    DsrExport,
    DsrKind,
    DsrRegime,
    DsrStatus,
)

__all__ = [
    "AccessAction", "AccessLog", "AffectedRecord", "ConsentPurpose", "ConsentRecord", "ConsentSource",
    "DataSubjectRequest", "DsrEvent", "DsrExport", "DsrKind", "DsrRegime", "DsrStatus", "Incident",
    "IncidentEvent", "IncidentSeverity", "IncidentStatus", "JobStatus", "KeyRotation", "RemedialAction",
    "RetentionRun", "RotationKind",
]
