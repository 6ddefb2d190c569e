"""Writes of the fine ledger: entries, signed checkpoints and verification runs.

An entry is appended by an ordinary INSERT; the database trigger (migration 0002) serializes the
company's appends on its head row and fills in the sequence number and the hashes, so the chain
cannot be extended wrongly by any code path. Call `ledger_append` last in a transaction: the head
row stays locked until the transaction ends."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from tenancy.models import User
from tenancy.scoping import current_tenant_id
from tenancy.services import require_perm

from .. import signing
from ..chain import ChainReport, chain_walk
from ..models import (
    CREDIT_KINDS,
    DEBIT_KINDS,
    GENESIS_HASH,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerHead,
    LedgerVerification,
    VerificationSource,
    VerificationStatus,
    ViolationCase,
)


def ledger_append(*, kind: str, case: ViolationCase, amount: Decimal, actor: User | None, effective_on: dt.date,
                  memo: str = "", payment_method: str = "", now: dt.datetime | None = None) -> LedgerEntry:
    """One entry for `case`. `amount` is given as a positive figure; its sign follows the kind
    (issued +, reduced / reversed / paid −)."""
    if amount <= 0:
        raise ValueError("a ledger amount is given as a positive figure")
    if kind in DEBIT_KINDS:
        signed = amount
    elif kind in CREDIT_KINDS:
        signed = -amount
    else:
        raise ValueError(f"unknown ledger entry kind {kind!r}")
    return LedgerEntry.objects.create(
        kind=kind, case=case, subject_kind=case.subject_kind, subject_membership=case.subject_membership,
        branch=case.branch, violation_type=case.violation_type, tier=case.tier, amount=signed,
        effective_on=effective_on, payment_method=payment_method, memo=(memo or "")[:500], recorded_by=actor,
        recorded_at=now or timezone.now(),
    )


# --- checkpoints ---------------------------------------------------------------------------------------

def _checkpoint_map() -> dict[int, bytes]:
    return {seq: bytes(h) for seq, h in LedgerCheckpoint.objects.values_list("sequence", "head_hash")}


def ledger_checkpoint_create(*, now: dt.datetime | None = None) -> LedgerCheckpoint | None:
    """Sign the current head if entries were added since the last checkpoint. The chain is first
    recomputed up to the head (and against every earlier checkpoint), so a checkpoint never vouches
    for a chain that is already broken; a broken chain is recorded as a failed verification instead.
    Returns the new checkpoint, or None when there was nothing new (or the chain is broken)."""
    now = now or timezone.now()
    head = LedgerHead.objects.filter().first()
    last = LedgerCheckpoint.objects.order_by("-sequence").first()
    if head is None or head.last_sequence == 0 or (last and last.sequence >= head.last_sequence):
        return None
    report = _bad_signature() or _walk_to_head()
    if not report.ok or report.head_sequence is None:
        _record_verification(LedgerVerification(source=VerificationSource.CHECKPOINT, requested_at=now), report,
                             started=now)
        return None
    if last and last.sequence >= report.head_sequence:
        return None
    message = signing.checkpoint_message(tenant_id=current_tenant_id(), sequence=report.head_sequence,
                                         head_hash=report.head_hash, signed_at=now)
    key_id, signature = signing.sign(message)
    return LedgerCheckpoint.objects.create(sequence=report.head_sequence, head_hash=report.head_hash,
                                           signed_at=now, key_id=key_id, signature=signature)


def checkpoint_signature_valid(checkpoint: LedgerCheckpoint, tenant_id: int | None = None) -> bool:
    message = signing.checkpoint_message(tenant_id=tenant_id or checkpoint.tenant_id, sequence=checkpoint.sequence,
                                         head_hash=bytes(checkpoint.head_hash), signed_at=checkpoint.signed_at)
    return signing.signature_valid(key_id=checkpoint.key_id, message=message, signature=bytes(checkpoint.signature))


# --- verification ----------------------------------------------------------------------------------------

def _bad_signature() -> ChainReport | None:
    for checkpoint in LedgerCheckpoint.objects.order_by("sequence"):
        if not checkpoint_signature_valid(checkpoint):
            return ChainReport().fail(checkpoint.sequence, "signature",
                                      f"the checkpoint at entry {checkpoint.sequence} has no valid signature")
    return None


def _walk_to_head() -> ChainReport:
    """Walk the chain against the signed checkpoints and the head the trigger keeps — so the newest
    entries, not yet under a checkpoint, are vouched for too (entries missing from the end, or a
    different last hash, show). The head is read before the walk: entries appended meanwhile only
    make the walk longer, never a false alarm."""
    signed = _checkpoint_map()
    last_sequence, last_hash = ledger_head()
    head_is_extra = last_sequence > 0 and last_sequence not in signed
    walked = chain_walk(checkpoints={**signed, last_sequence: last_hash} if head_is_extra else signed)
    if head_is_extra and not walked.ok and walked.first_bad_sequence is not None:
        if walked.problem_code == "checkpoint" and walked.first_bad_sequence == last_sequence:
            walked.problem_code = "head"
            walked.problem = f"entry {last_sequence} does not match the chain's recorded head"
        elif walked.problem_code == "truncated" and not any(seq > (walked.head_sequence or 0) for seq in signed):
            walked.problem = (f"entries {walked.first_bad_sequence}–{last_sequence} are missing from the end "
                              "of the chain")
    if head_is_extra and walked.ok:
        walked.checkpoints_checked -= 1  # the head was counted, but it is not a signed checkpoint
    return walked


def ledger_verify() -> ChainReport:
    """Check every checkpoint's signature, then recompute the whole chain against the entries, the
    checkpoints and the recorded head. Returns the report (first bad sequence number and why, or all
    is well)."""
    report = _bad_signature()
    walked = _walk_to_head()
    if report is None or (not walked.ok and walked.first_bad_sequence < report.first_bad_sequence):
        return walked
    report.entries_checked = walked.entries_checked
    report.checkpoints_checked = walked.checkpoints_checked
    report.head_sequence = walked.head_sequence
    return report


def _record_verification(verification: LedgerVerification, report: ChainReport, *, started: dt.datetime):
    verification.status = VerificationStatus.PASSED if report.ok else VerificationStatus.FAILED
    verification.started_at = verification.started_at or started
    verification.finished_at = timezone.now()
    verification.entries_checked = report.entries_checked
    verification.checkpoints_checked = report.checkpoints_checked
    verification.head_sequence = report.head_sequence
    verification.first_bad_sequence = report.first_bad_sequence
    verification.problem = report.problem
    verification.save()
    return verification


def ledger_verification_request(*, actor: User) -> LedgerVerification:
    """An auditor's "verify now": a queued run, handed to a worker after commit."""
    require_perm(actor, "penalties.verify_ledger")
    verification = LedgerVerification.objects.create(requested_by=actor, source=VerificationSource.REQUEST)
    tenant_id = current_tenant_id()

    def enqueue():
        from ..tasks import ledger_verify_tenant

        ledger_verify_tenant.delay(tenant_id=tenant_id, verification_id=verification.pk)

    transaction.on_commit(enqueue)
    return verification


def ledger_verification_run(*, verification_id: int | None = None, source: str = "schedule") -> LedgerVerification:
    """Run the verifier and record what it found (a requested run, or a new scheduled one). A
    requested run already finished is not run again."""
    started = timezone.now()
    if verification_id is not None:
        verification = LedgerVerification.objects.select_for_update().filter(pk=verification_id).first()
        if verification is None or verification.status in (VerificationStatus.PASSED, VerificationStatus.FAILED):
            return verification
    else:
        verification = LedgerVerification(source=source, requested_at=started)
    verification.status = VerificationStatus.RUNNING
    verification.started_at = started
    return _record_verification(verification, ledger_verify(), started=started)


def ledger_head() -> tuple[int, bytes]:
    """(last sequence, last hash) of the company's chain, as the trigger keeps them."""
    head = LedgerHead.objects.first()
    return (head.last_sequence, bytes(head.last_hash)) if head else (0, GENESIS_HASH)
