"""Writes of the penalties app, one module per area."""
from .cases import (
    appeal_decide,
    case_appeal,
    case_confirm,
    case_evidence_add,
    case_note,
    case_outstanding,
    case_payment_record,
    case_propose,
    case_void,
)
from .catalogue import catalogue_defaults_ensure, violation_type_create, violation_type_update
from .detectors import detectors_run
from .ledger import (
    ledger_append,
    ledger_checkpoint_create,
    ledger_head,
    ledger_verification_request,
    ledger_verification_run,
    ledger_verify,
)

__all__ = [
    "appeal_decide", "case_appeal", "case_confirm", "case_evidence_add", "case_note", "case_outstanding",
    "case_payment_record", "case_propose", "case_void", "catalogue_defaults_ensure", "detectors_run",
    "ledger_append", "ledger_checkpoint_create", "ledger_head", "ledger_verification_request",
    "ledger_verification_run", "ledger_verify", "violation_type_create", "violation_type_update",
]
