"""Every write of a violation case (DOMAIN.md §5): proposal (by a person or a detector), four-eyes
confirmation, the one appeal and its decision, voiding, payments, evidence and notes.

Each service locks the case and checks the state machine under the lock. Money never changes by
editing the case: confirmation issues a ledger entry; a reduction, an overturn or a void reverses
part or all of it; a payment is an entry too — each appended last, so the company's ledger head
is held for the shortest time. The case keeps the current amount for lists; the ledger is the
record, and what is still owed is the sum of the case's entries."""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.inputs import clean_amount, clean_choice, clean_text
from tenancy.models import Branch, BranchKind, Membership, User
from tenancy.selectors import acting_membership, branch_reach
from tenancy.services import notification_send, number_next, require_perm

from .. import rules
from ..models import (
    CASE_TRANSITIONS,
    PAYABLE,
    Appeal,
    AppealStatus,
    CaseEvent,
    CaseEventKind,
    CaseStatus,
    Detector,
    EntryKind,
    PaymentMethod,
    SubjectKind,
    ViolationCase,
    ViolationCategory,
    ViolationEvidence,
    ViolationType,
)
from .ledger import ledger_append

EVIDENCE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "application/pdf")
MAX_EVIDENCE_PER_CASE = 30


# --- helpers ---------------------------------------------------------------------------------------

def _check_reach(actor: User, case_or_branch) -> None:
    branch = case_or_branch if isinstance(case_or_branch, Branch) else case_or_branch.branch
    reach = branch_reach(acting_membership(actor))
    if reach is not None and not branch.path.startswith(reach.path):
        raise PermissionDenied(_("This fine belongs to another branch."))


def _is_subject(actor: User, case: ViolationCase) -> bool:
    return case.subject_membership_id is not None and case.subject_membership.user_id == actor.pk


def _lock(case: ViolationCase) -> ViolationCase:
    return (ViolationCase.objects.select_for_update(of=("self",))
            .select_related("branch", "violation_type", "subject_membership__user").get(pk=case.pk))


def _event(case, kind, actor, *, now, body="", from_status="", to_status="", data=None) -> CaseEvent:
    return CaseEvent.objects.create(case=case, kind=kind, actor=actor, body=body, from_status=from_status,
                                    to_status=to_status, data=data or {}, created_at=now)


def _move(case: ViolationCase, to_status: str, actor: User | None, *, now, body: str = "", data=None) -> None:
    if to_status not in CASE_TRANSITIONS.get(case.status, ()):
        raise ValidationError({"status": _("A fine cannot go from “%(from)s” to “%(to)s”.") % {
            "from": CaseStatus(case.status).label, "to": CaseStatus(to_status).label}})
    from_status = case.status
    case.status = to_status
    case.updated_at = now
    _event(case, CaseEventKind.STATUS, actor, now=now, body=body, from_status=from_status, to_status=to_status,
           data=data)


def case_outstanding(case: ViolationCase) -> Decimal:
    """What is still owed on the case: the sum of its ledger entries."""
    return case.entries.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


def _paid(case: ViolationCase) -> Decimal:
    return -(case.entries.filter(kind=EntryKind.PAYMENT_RECEIVED).aggregate(total=Sum("amount"))["total"]
             or Decimal("0"))


def _notify_subject(case: ViolationCase, title: str, key: str) -> None:
    if case.subject_membership_id:
        from django.urls import reverse

        notification_send(membership=case.subject_membership, title=title, dedup_key=f"fine:{case.pk}:{key}",
                          url=reverse("penalties:case", args=[case.pk]))


# --- proposal ----------------------------------------------------------------------------------------

def case_propose(*, actor: User | None, violation_type: ViolationType, subject_kind: str,
                 subject_membership: Membership | None = None, branch: Branch | None = None, amount=None,
                 description: str, occurred_on: dt.date, out_of_range_reason: str = "", ticket=None, waybill=None,
                 access_log_ids: Sequence[int] = (), detector: str = "", detection_key: str = "",
                 now: dt.datetime | None = None) -> ViolationCase:
    """A proposed fine against an employee or a branch. A person proposes with `add_violationcase`
    (a branch manager within their subtree); a detector proposes with `actor=None`, its name and the
    key of the fact, and the same fact never proposes twice (returns the existing case)."""
    now = now or timezone.now()
    if actor is None:
        clean_choice(detector, "detector", Detector)
        if not detection_key:
            raise ValueError("a detector's proposal needs the key of its fact")
    else:
        require_perm(actor, "penalties.add_violationcase")
    if not violation_type.is_active:
        raise ValidationError({"violation_type": _("This violation type is no longer in use.")})
    clean_choice(subject_kind, "subject_kind", SubjectKind)
    description = clean_text(description, "description", required=True,
                             message=_("Describe what happened."))
    out_of_range_reason = clean_text(out_of_range_reason, "out_of_range_reason")
    if not isinstance(occurred_on, dt.date):
        raise ValidationError({"occurred_on": _("Enter the date it happened.")})
    if occurred_on > timezone.localdate(now):
        raise ValidationError({"occurred_on": _("The date cannot be in the future.")})
    amount = violation_type.default_amount if amount in (None, "") else clean_amount(amount, "amount")
    if not violation_type.amount_min <= amount <= violation_type.amount_max and not out_of_range_reason:
        raise ValidationError({"out_of_range_reason": _(
            "%(amount)s is outside this violation's range (%(min)s–%(max)s CNY): state why.") % {
            "amount": amount, "min": violation_type.amount_min, "max": violation_type.amount_max}})
    if subject_kind == SubjectKind.EMPLOYEE:
        if subject_membership is None or not subject_membership.is_active:
            raise ValidationError({"subject_membership": _("Choose an active employee.")})
        if actor is not None and subject_membership.user_id == actor.pk:
            raise ValidationError({"subject_membership": _("You cannot propose a fine against yourself.")})
        branch = subject_membership.branch or Branch.objects.filter(kind=BranchKind.HQ).first()
    else:
        subject_membership = None
        if branch is None:
            raise ValidationError({"branch": _("Choose the branch that is fined.")})
    if violation_type.category == ViolationCategory.REGULATOR and subject_kind != SubjectKind.BRANCH:
        raise ValidationError({"subject_kind": _("A regulator's fine is recorded against a branch (or headquarters).")})
    if actor is not None:
        _check_reach(actor, branch)
    access_log_ids = sorted({int(i) for i in access_log_ids})
    if access_log_ids:
        from compliance.selectors import access_log_list

        if access_log_list().filter(pk__in=access_log_ids).count() != len(access_log_ids):
            raise ValidationError({"access_log_ids": _("Some access-log rows do not exist.")})
    with transaction.atomic():
        if detection_key:
            found = ViolationCase.objects.filter(detection_key=detection_key).first()
            if found:
                return found
        number = f"V{now:%Y}-{number_next('violation_case'):06d}"
        case = ViolationCase(
            number=number, violation_type=violation_type, type_version=violation_type.version,
            category=violation_type.category, subject_kind=subject_kind, subject_membership=subject_membership,
            branch=branch, original_amount=amount, amount=amount, tier=rules.tier_of(amount),
            out_of_range_reason=out_of_range_reason, legal_reference=violation_type.legal_reference,
            description=description, occurred_on=occurred_on, proposed_by=actor, detector=detector,
            detection_key=detection_key[:200], ticket=ticket, waybill=waybill, access_log_ids=access_log_ids,
            created_at=now, updated_at=now)
        try:
            with transaction.atomic():
                case.save()
        except IntegrityError:
            if detection_key:  # a parallel run of the same detector proposed it first
                return ViolationCase.objects.get(detection_key=detection_key)
            raise
        _event(case, CaseEventKind.PROPOSED, actor, now=now, body=description, to_status=CaseStatus.PROPOSED,
               data={"amount": str(amount), "tier": case.tier, "detector": detector})
    return case


# --- confirmation (four-eyes) -------------------------------------------------------------------------

def case_confirm(*, actor: User, case: ViolationCase, note: str = "", now: dt.datetime | None = None) -> ViolationCase:
    """Confirm a proposed fine: someone other than its proposer (and not the person fined). Issues
    the fine in the ledger and opens the appeal window."""
    require_perm(actor, "penalties.confirm_violation")
    note = clean_text(note, "note")
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock(case)
        _check_reach(actor, case)
        if case.proposed_by_id == actor.pk:
            raise PermissionDenied(_("Four-eyes: a fine is confirmed by someone other than who proposed it."))
        if _is_subject(actor, case):
            raise PermissionDenied(_("You cannot confirm a fine against yourself."))
        _move(case, CaseStatus.CONFIRMED, actor, now=now, body=note)
        case.confirmed_by = actor
        case.confirmed_at = now
        case.appeal_due_at = now + dt.timedelta(days=rules.APPEAL_WINDOW_DAYS.value())
        case.save()
        kind = EntryKind.REGULATOR_FINE if case.category == ViolationCategory.REGULATOR else EntryKind.FINE_ISSUED
        ledger_append(kind=kind, case=case, amount=case.amount, actor=actor, effective_on=timezone.localdate(now),
                      memo=note, now=now)
        _notify_subject(case, _("Fine %(number)s confirmed: %(amount)s CNY") % {
            "number": case.number, "amount": case.amount}, "confirmed")
    return case


# --- appeal --------------------------------------------------------------------------------------------

def case_appeal(*, actor: User, case: ViolationCase, grounds: str, requested_amount=None,
                now: dt.datetime | None = None) -> Appeal:
    """The one appeal of a confirmed fine, within the appeal window and before any payment: by the
    employee fined, or on their behalf by a manager over their branch."""
    require_perm(actor, "penalties.appeal_violation")
    grounds = clean_text(grounds, "grounds", required=True, message=_("State the grounds of the appeal."))
    if requested_amount not in (None, ""):
        requested_amount = clean_amount(requested_amount, "requested_amount", positive=False)
    else:
        requested_amount = None
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock(case)
        on_behalf = not _is_subject(actor, case)
        if on_behalf:
            if not actor.has_perm("penalties.confirm_violation"):
                raise PermissionDenied(_("Only the person fined, or a manager on their behalf, may appeal."))
            _check_reach(actor, case)
        if case.status != CaseStatus.CONFIRMED:
            raise ValidationError({"status": _("Only a confirmed fine can be appealed (this one is “%(status)s”).")
                                   % {"status": CaseStatus(case.status).label}})
        if case.appeal_due_at and now > case.appeal_due_at:
            raise ValidationError({"grounds": _("The appeal window closed on %(date)s.") % {
                "date": timezone.localtime(case.appeal_due_at).strftime("%Y-%m-%d %H:%M")}})
        if _paid(case) > 0:
            raise ValidationError({"grounds": _("A fine that is being paid can no longer be appealed.")})
        if requested_amount is not None and requested_amount >= case.amount:
            raise ValidationError({"requested_amount": _("Ask for less than the fine (%(amount)s CNY).") % {
                "amount": case.amount}})
        appeal = Appeal.objects.create(case=case, filed_by=actor, on_behalf=on_behalf, grounds=grounds,
                                       requested_amount=requested_amount, created_at=now)
        _event(case, CaseEventKind.APPEAL, actor, now=now, body=grounds, data={"on_behalf": on_behalf})
        _move(case, CaseStatus.APPEALED, actor, now=now)
        case.save()
    return appeal


def appeal_decide(*, actor: User, case: ViolationCase, outcome: str, reason: str, reduced_to=None,
                  now: dt.datetime | None = None) -> Appeal:
    """Decide the pending appeal: upheld, reduced (to a lower amount) or overturned. The decider is
    not whoever confirmed the fine, filed the appeal or is fined. A reduction or an overturn writes
    the reversing ledger entry."""
    require_perm(actor, "penalties.decide_appeal")
    clean_choice(outcome, "outcome", AppealStatus)
    if outcome == AppealStatus.PENDING:
        raise ValidationError({"outcome": _("Choose upheld, reduced or overturned.")})
    reason = clean_text(reason, "reason", required=True, message=_("Give the reasons for the decision."))
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock(case)
        _check_reach(actor, case)
        appeal = Appeal.objects.select_for_update().filter(case=case, status=AppealStatus.PENDING).first()
        if case.status != CaseStatus.APPEALED or appeal is None:
            raise ValidationError({"status": _("This fine has no pending appeal.")})
        if actor.pk == case.confirmed_by_id:
            raise PermissionDenied(_("Four-eyes: an appeal is decided by someone other than who confirmed the fine."))
        if actor.pk == appeal.filed_by_id or _is_subject(actor, case):
            raise PermissionDenied(_("You cannot decide an appeal you filed or that concerns you."))
        effective_on = timezone.localdate(now)
        if outcome == AppealStatus.REDUCED:
            reduced_to = clean_amount(reduced_to, "reduced_to")
            if reduced_to >= case.amount:
                raise ValidationError({"reduced_to": _("A reduction is below the fine (%(amount)s CNY).") % {
                    "amount": case.amount}})
            difference = case.amount - reduced_to
            appeal.reduced_to = reduced_to
            _move(case, CaseStatus.REDUCED, actor, now=now, body=reason,
                  data={"from": str(case.amount), "to": str(reduced_to)})
            case.amount = reduced_to
            case.save()
            entry = (EntryKind.FINE_REDUCED, difference)
        elif outcome == AppealStatus.OVERTURNED:
            _move(case, CaseStatus.OVERTURNED, actor, now=now, body=reason)
            case.save()
            entry = (EntryKind.FINE_REVERSED, case_outstanding(case))
        else:
            _move(case, CaseStatus.UPHELD, actor, now=now, body=reason)
            case.save()
            entry = None
        appeal.status = outcome
        appeal.decided_by = actor
        appeal.decided_at = now
        appeal.decision_reason = reason
        appeal.save()
        if entry and entry[1] > 0:
            ledger_append(kind=entry[0], case=case, amount=entry[1], actor=actor, effective_on=effective_on,
                          memo=reason, now=now)
        _notify_subject(case, _("Appeal of fine %(number)s: %(outcome)s") % {
            "number": case.number, "outcome": AppealStatus(outcome).label}, "appeal")
    return appeal


# --- void and payments ------------------------------------------------------------------------------------

def case_void(*, actor: User, case: ViolationCase, reason: str, now: dt.datetime | None = None) -> ViolationCase:
    """Void a fine raised in error: a proposal, or a fine in force before any payment (its issue is
    reversed in the ledger)."""
    require_perm(actor, "penalties.void_violation")
    reason = clean_text(reason, "reason", required=True, message=_("State why the fine is voided."))
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock(case)
        _check_reach(actor, case)
        if _is_subject(actor, case):
            raise PermissionDenied(_("You cannot void a fine against yourself."))
        if case.status in PAYABLE and _paid(case) > 0:
            raise ValidationError({"reason": _("Payments were received on this fine: it cannot be voided.")})
        _move(case, CaseStatus.VOIDED, actor, now=now, body=reason)
        case.voided_by = actor
        case.voided_at = now
        case.void_reason = reason
        case.save()
        outstanding = case_outstanding(case)
        if outstanding > 0:
            ledger_append(kind=EntryKind.FINE_REVERSED, case=case, amount=outstanding, actor=actor,
                          effective_on=timezone.localdate(now), memo=reason, now=now)
    return case


def case_payment_record(*, actor: User, case: ViolationCase, amount, method: str, paid_on: dt.date | None = None,
                        reference: str = "", now: dt.datetime | None = None) -> ViolationCase:
    """A payment received on a fine in force; paid in full, the fine is settled."""
    require_perm(actor, "penalties.record_fine_payment")
    amount = clean_amount(amount, "amount")
    clean_choice(method, "method", PaymentMethod)
    reference = clean_text(reference, "reference", limit=200)
    now = now or timezone.now()
    paid_on = paid_on or timezone.localdate(now)
    if paid_on > timezone.localdate(now):
        raise ValidationError({"paid_on": _("The payment date cannot be in the future.")})
    with transaction.atomic():
        case = _lock(case)
        _check_reach(actor, case)
        if _is_subject(actor, case):
            raise PermissionDenied(_("You cannot record a payment of your own fine."))
        if case.status not in PAYABLE:
            raise ValidationError({"amount": _("Payments are taken on a fine in force (this one is “%(status)s”).")
                                   % {"status": CaseStatus(case.status).label}})
        if paid_on < timezone.localdate(case.confirmed_at):
            raise ValidationError({"paid_on": _("A payment cannot predate the fine's confirmation.")})
        outstanding = case_outstanding(case)
        if amount > outstanding:
            raise ValidationError({"amount": _("Only %(outstanding)s CNY is owed on this fine.") % {
                "outstanding": outstanding}})
        _event(case, CaseEventKind.PAYMENT, actor, now=now, body=reference,
               data={"amount": str(amount), "method": method, "paid_on": paid_on.isoformat()})
        if amount == outstanding:
            _move(case, CaseStatus.SETTLED, actor, now=now)
            case.settled_at = now
        case.updated_at = now
        case.save()
        ledger_append(kind=EntryKind.PAYMENT_RECEIVED, case=case, amount=amount, actor=actor, effective_on=paid_on,
                      memo=reference, payment_method=method, now=now)
    return case


# --- evidence and notes -----------------------------------------------------------------------------------

def case_evidence_add(*, actor: User, case: ViolationCase, name: str, content: bytes, description: str = "",
                      now: dt.datetime | None = None) -> ViolationEvidence:
    """A file that shows what happened (photos or PDF; the real type is read from the bytes)."""
    from tickets.services.conversation import sniff_type

    require_perm(actor, "penalties.add_violationevidence")
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200] or "file"
    description = clean_text(description, "description", limit=300)
    limit_mb = rules.EVIDENCE_MAX_MB.value()
    if not content:
        raise ValidationError({"file": _("The file is empty.")})
    if len(content) > limit_mb * 1024 * 1024:
        raise ValidationError({"file": _("The file is larger than %(mb)d MB.") % {"mb": limit_mb}})
    content_type = sniff_type(content[:2048])
    if content_type not in EVIDENCE_TYPES:
        raise ValidationError({"file": _("Evidence is a photo (JPEG, PNG, WebP, GIF) or a PDF.")})
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock(case)
        _check_reach(actor, case)
        if case.status in (CaseStatus.SETTLED, CaseStatus.VOIDED, CaseStatus.OVERTURNED):
            raise ValidationError({"file": _("This fine is closed.")})
        if case.evidence.count() >= MAX_EVIDENCE_PER_CASE:
            raise ValidationError({"file": _("This fine already has the most files allowed.")})
        digest = hashlib.sha256(content).hexdigest()
        evidence = ViolationEvidence(case=case, name=name, content_type=content_type, size=len(content),
                                     sha256=digest, description=description, uploaded_by=actor, created_at=now)
        evidence.file.save(digest, ContentFile(content), save=False)
        evidence.save()
        _event(case, CaseEventKind.EVIDENCE, actor, now=now, body=name, data={"sha256": digest, "size": len(content)})
    return evidence


def case_note(*, actor: User, case: ViolationCase, body: str, now: dt.datetime | None = None) -> CaseEvent:
    require_perm(actor, "penalties.add_violationcase")
    body = clean_text(body, "body", required=True, message=_("Write the note."))
    now = now or timezone.now()
    with transaction.atomic():
        case = _lock(case)
        _check_reach(actor, case)
        return _event(case, CaseEventKind.NOTE, actor, now=now, body=body)
