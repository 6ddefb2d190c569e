"""Every write of a claim (DOMAIN.md §4): filing, evidence, submission, assessment, the decision
at the right approval level, the one payout, withdrawal, notes and the decision clock's sweep.

Each service locks the claim (then its ticket) and checks the state machine under the lock, so two
people deciding or paying at once end with one decision and one payout; the unique constraint on
the payout and the check on its amount hold the same line in the database. Every change writes
the claim's timeline and a line on its ticket's timeline; the customer is told the result (paid,
or rejected with the reason) by a staged reply that also resolves the ticket."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.inputs import clean_amount
from tenancy.inputs import clean_choice as _choice
from tenancy.inputs import clean_text as _clean_text
from tenancy.models import Membership, Role, User
from tenancy.selectors import acting_membership
from tenancy.services import notification_send, number_next, require_perm

from .. import claim_rules, rules
from ..models import (
    APPROVAL_RANK,
    AWAITING_DECISION,
    AWAITING_PAYOUT,
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
    EvidenceKind,
    PayoutMethod,
    Ticket,
    TicketEvent,
    TicketEventKind,
)
from ..permissions import claim_authority
from .core import _check_branch_scope, _lock

UNSET = object()


# --- helpers -------------------------------------------------------------------------------------

def _lock_claim(claim: Claim) -> Claim:
    return Claim.objects.select_for_update(of=("self",)).select_related("ticket", "waybill", "branch", "team").get(
        pk=claim.pk)


def _check_claim_scope(actor: User, claim: Claim) -> None:
    """A branch manager works the claims of their own branch subtree only (like tickets)."""
    _check_branch_scope(actor, claim, _("This claim belongs to another branch."))


def _event(claim: Claim, kind: str, actor: User | None, *, now: dt.datetime, body: str = "", from_status: str = "",
           to_status: str = "", data: dict | None = None) -> ClaimEvent:
    return ClaimEvent.objects.create(claim=claim, kind=kind, actor=actor, body=body, from_status=from_status,
                                     to_status=to_status, data=data or {}, created_at=now)


def _ticket_line(claim: Claim, actor: User | None, body: str, *, now: dt.datetime, **data) -> None:
    """The claim's step on its ticket's timeline (internal: never sent to the customer)."""
    TicketEvent.objects.create(ticket_id=claim.ticket_id, kind=TicketEventKind.CLAIM, actor=actor, body=body,
                               created_at=now, data={"claim": claim.pk, "number": claim.number, **data})
    Ticket.objects.filter(pk=claim.ticket_id).update(updated_at=now)


def _move(claim: Claim, to_status: str, actor: User | None, *, now: dt.datetime, body: str = "",
          data: dict | None = None) -> None:
    if to_status not in CLAIM_TRANSITIONS.get(claim.status, ()):
        raise ValidationError({"status": _("A claim cannot go from “%(from)s” to “%(to)s”.") % {
            "from": ClaimStatus(claim.status).label, "to": ClaimStatus(to_status).label}})
    from_status = claim.status
    claim.status = to_status
    claim.updated_at = now
    _event(claim, ClaimEventKind.STATUS, actor, now=now, body=body, from_status=from_status, to_status=to_status,
           data=data)
    line = _("Claim %(number)s: %(from)s → %(to)s.") % {
        "number": claim.number, "from": ClaimStatus(from_status).label, "to": ClaimStatus(to_status).label}
    _ticket_line(claim, actor, " ".join(filter(None, [line, body])), now=now, from_status=from_status,
                 to_status=to_status)


def missing_evidence(claim: Claim) -> list[str]:
    """The evidence kinds the claim's type needs (rules on the day it was filed) that no file shows yet."""
    required = claim_rules.evidence_required(claim.claim_type, on=timezone.localdate(claim.created_at))
    present = set(ClaimEvidence.objects.filter(claim=claim).values_list("kind", flat=True))
    return [kind for kind in required if kind not in present]


def _require_evidence(claim: Claim) -> None:
    missing = missing_evidence(claim)
    if missing:
        raise ValidationError({"evidence": _("Evidence still missing: %(kinds)s.") % {
            "kinds": "、".join(str(EvidenceKind(k).label) for k in missing)}})


def _number(now: dt.datetime) -> str:
    year = timezone.localtime(now).year
    return f"C{year}-{number_next(f'claim-{year}'):06d}"


# --- filing --------------------------------------------------------------------------------------

def claim_file(*, actor: User, ticket: Ticket, claim_type: str, claimant_role: str, claimed_amount,
               description: str = "", now: dt.datetime | None = None) -> Claim:
    """Open a draft claim for the ticket's waybill. The waybill's declared value, insured amount
    and service fee are copied; the filing window (from the shipping date) is enforced here."""
    require_perm(actor, "tickets.add_claim")
    errors = {}
    for check in (lambda: _choice(claim_type, "claim_type", ClaimType),
                  lambda: _choice(claimant_role, "claimant_role", ClaimantRole),
                  lambda: clean_amount(claimed_amount, "claimed_amount"),
                  lambda: _clean_text(description, "description")):
        try:
            check()
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    amount = clean_amount(claimed_amount, "claimed_amount")
    description = _clean_text(description, "description")
    with transaction.atomic():
        ticket = _lock(ticket)
        now = now or timezone.now()
        _check_branch_scope(actor, ticket)
        if ticket.merged_into_id:
            raise ValidationError({"ticket": _("This ticket was merged into %(number)s; file the claim there.") % {
                "number": ticket.merged_into.number}})
        waybill = ticket.waybill
        if waybill is None:
            raise ValidationError({"ticket": _("A claim needs the ticket's waybill: set the waybill number on the "
                                               "ticket first.")})
        shipped = waybill.shipped_at or waybill.created_at
        shipped_on = timezone.localdate(shipped) if shipped else None
        window = claim_rules.FILING_WINDOW_DAYS.value()
        if shipped_on and timezone.localdate(now) - shipped_on > dt.timedelta(days=window):
            raise ValidationError({"ticket": _("The filing window has passed: claims are accepted within %(days)d "
                                               "days of shipping (shipped on %(date)s).") % {
                "days": window, "date": shipped_on.isoformat()}})
        standing = (Claim.objects.filter(waybill=waybill, claim_type=claim_type, status__in=CLAIM_STANDING)
                    .values_list("number", flat=True).first())
        if standing:
            raise ValidationError({"claim_type": _("Waybill %(waybill)s already has claim %(number)s of this type.")
                                   % {"waybill": waybill.number, "number": standing}})
        sender = claimant_role == ClaimantRole.SENDER
        team = ticket.team
        if team is None:
            from .intake import route_team

            team = route_team(category="claim", priority=ticket.priority, branch=ticket.branch,
                              customer=ticket.customer)
        claim = Claim(
            number=_number(now), ticket=ticket, waybill=waybill, claim_type=claim_type, claimant_role=claimant_role,
            claimant_id=waybill.sender_id if sender else waybill.receiver_id,
            claimant_name=(waybill.sender_name if sender else waybill.receiver_name)[:120],
            claimed_amount=amount, description=description, declared_value=waybill.declared_value,
            insured_amount=waybill.insured_amount, service_fee=waybill.service_fee, shipped_on=shipped_on,
            branch_id=waybill.responsible_branch_id or ticket.branch_id, team=team, filed_by=actor,
            created_at=now, updated_at=now)
        try:
            with transaction.atomic():
                claim.save()
        except IntegrityError as exc:  # a concurrent filing of the same waybill and type won
            raise ValidationError({"claim_type": _("This waybill already has a claim of this type.")}) from exc
        _event(claim, ClaimEventKind.CREATED, actor, now=now, to_status=claim.status, body=description,
               data={"claimed_amount": str(amount), "type": claim_type})
        _ticket_line(claim, actor, _("Claim %(number)s filed: %(type)s, %(amount)s CNY.") % {
            "number": claim.number, "type": ClaimType(claim_type).label, "amount": amount}, now=now)
    return claim


def claim_update(*, actor: User, claim: Claim, claimed_amount=UNSET, description=UNSET, claimant_role=UNSET,
                 now: dt.datetime | None = None) -> Claim:
    """Change a draft's amount, description or claimant (UNSET = leave as is)."""
    require_perm(actor, "tickets.change_claim")
    changes = {}
    errors = {}
    for name, value, clean in (("claimed_amount", claimed_amount, lambda v: clean_amount(v, "claimed_amount")),
                               ("description", description, lambda v: _clean_text(v, "description")),
                               ("claimant_role", claimant_role, lambda v: _choice(v, "claimant_role",
                                                                                  ClaimantRole))):
        if value is UNSET:
            continue
        try:
            changes[name] = clean(value)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        claim = _lock_claim(claim)
        now = now or timezone.now()
        _check_claim_scope(actor, claim)
        if claim.status != ClaimStatus.DRAFT:
            raise ValidationError({"status": _("Only a draft claim can be changed; this one is “%(status)s”.") % {
                "status": claim.get_status_display()}})
        before = {}
        for name, value in changes.items():
            if getattr(claim, name) != value:
                before[name] = str(getattr(claim, name))
                setattr(claim, name, value)
        if "claimant_role" in before:
            sender = claim.claimant_role == ClaimantRole.SENDER
            claim.claimant_id = claim.waybill.sender_id if sender else claim.waybill.receiver_id
            claim.claimant_name = (claim.waybill.sender_name if sender else claim.waybill.receiver_name)[:120]
        if before:
            claim.updated_at = now
            claim.save()
            _event(claim, ClaimEventKind.UPDATED, actor, now=now,
                   data={"before": before, "after": {k: str(getattr(claim, k)) for k in before}})
    return claim


def claim_evidence_add(*, actor: User, claim: Claim, kind: str, name: str, content: bytes, note: str = "",
                       now: dt.datetime | None = None) -> ClaimEvidence:
    """Add one evidence file: stored as an attachment of the claim's ticket (type sniffed, size
    and count limits of the ticket's attachments), labelled with what it shows."""
    from .conversation import attachment_add

    require_perm(actor, "tickets.change_claim")
    kind = _choice(kind, "kind", EvidenceKind)
    note = _clean_text(note, "note", limit=300)
    with transaction.atomic():
        claim = _lock_claim(claim)
        now = now or timezone.now()
        _check_claim_scope(actor, claim)
        if claim.status not in (ClaimStatus.DRAFT, *AWAITING_DECISION):
            raise ValidationError({"file": _("Evidence can only be added until the claim is decided.")})
        attachment = attachment_add(actor=actor, ticket=claim.ticket, name=name, content=content, now=now)
        evidence = ClaimEvidence.objects.create(claim=claim, attachment=attachment, kind=kind, note=note,
                                                added_by=actor, created_at=now)
        _event(claim, ClaimEventKind.EVIDENCE, actor, now=now, body=attachment.name,
               data={"kind": kind, "attachment": attachment.pk})
        Claim.objects.filter(pk=claim.pk).update(updated_at=now)
    return evidence


def claim_submit(*, actor: User, claim: Claim, now: dt.datetime | None = None) -> Claim:
    """Draft → submitted once the evidence checklist is complete; starts the decision clock."""
    require_perm(actor, "tickets.change_claim")
    with transaction.atomic():
        claim = _lock_claim(claim)
        now = now or timezone.now()
        _check_claim_scope(actor, claim)
        if claim.status != ClaimStatus.DRAFT:
            raise ValidationError({"status": _("Only a draft claim can be submitted; this one is “%(status)s”.") % {
                "status": claim.get_status_display()}})
        _require_evidence(claim)
        days = claim_rules.DECISION_DAYS.value()
        claim.submitted_at = now
        claim.decision_due = now + dt.timedelta(days=days)
        warn_share = Decimal(rules.SLA_WARN_PERCENT.value()) / 100
        claim.decision_warn_at = now + dt.timedelta(seconds=int(days * 86400 * warn_share))
        claim.decision_warned = claim.decision_breached = False
        _move(claim, ClaimStatus.SUBMITTED, actor, now=now,
              body=_("Submitted; decision due %(due)s.") % {
                  "due": timezone.localtime(claim.decision_due).strftime("%Y-%m-%d %H:%M")})
        claim.save()
    return claim


def claim_review_start(*, actor: User, claim: Claim, now: dt.datetime | None = None) -> Claim:
    """Submitted → under review: the assessor takes the claim."""
    require_perm(actor, "tickets.assess_claim")
    with transaction.atomic():
        claim = _lock_claim(claim)
        now = now or timezone.now()
        _check_claim_scope(actor, claim)
        if claim.status != ClaimStatus.SUBMITTED:
            raise ValidationError({"status": _("Only a submitted claim can be taken into review.")})
        _require_evidence(claim)
        _move(claim, ClaimStatus.UNDER_REVIEW, actor, now=now)
        claim.save()
    return claim


def claim_assess(*, actor: User, claim: Claim, cause: str, assessed_value=None, damage_percent=None,
                 note: str = "", now: dt.datetime | None = None) -> Claim:
    """Record the assessment (value of the goods, damaged share, cause) and compute what the
    rules allow with the tenant's settings in force on the day the claim was submitted. A
    submitted claim goes under review on its first assessment; assessing again recomputes."""
    require_perm(actor, "tickets.assess_claim")
    errors = {}
    cleaned = {}
    try:
        cleaned["cause"] = _choice(cause, "cause", ClaimCause)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        cleaned["note"] = _clean_text(note, "note")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        cleaned["assessed_value"] = (clean_amount(assessed_value, "assessed_value", positive=False)
                                     if assessed_value not in (None, "") else None)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        percent = None
        if damage_percent not in (None, ""):
            percent = Decimal(str(damage_percent).strip())
            if not percent.is_finite() or not 0 <= percent <= 100 or percent != percent.quantize(Decimal("0.01")):
                raise InvalidOperation
        cleaned["damage_percent"] = percent
    except (InvalidOperation, ValueError, TypeError):
        errors["damage_percent"] = [_("Enter a share between 0 and 100 (%).")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        claim = _lock_claim(claim)
        now = now or timezone.now()
        _check_claim_scope(actor, claim)
        if claim.status not in AWAITING_DECISION:
            raise ValidationError({"status": _("Only a submitted claim or one under review can be assessed.")})
        if claim.claim_type == ClaimType.DAMAGE and cleaned["damage_percent"] is None:
            raise ValidationError({"damage_percent": _("Say what share of the goods' value the damage took (%).")})
        if claim.claim_type != ClaimType.DELAY and cleaned["assessed_value"] is None:
            raise ValidationError({"assessed_value": _("Enter the assessed value of the goods.")})
        if claim.status == ClaimStatus.SUBMITTED:
            _require_evidence(claim)
            _move(claim, ClaimStatus.UNDER_REVIEW, actor, now=now)
        claim.cause = cleaned["cause"]
        claim.assessed_value = cleaned["assessed_value"]
        claim.damage_percent = cleaned["damage_percent"] if claim.claim_type == ClaimType.DAMAGE else None
        claim.assessment_note = cleaned["note"]
        compensation = claim_rules.claim_compensation(claim, on=timezone.localdate(claim.submitted_at or now))
        claim.computed_amount = compensation.amount
        claim.rule = compensation.rule
        claim.rule_version = compensation.version
        claim.rule_detail = compensation.detail
        claim.assessed_by = actor
        claim.assessed_at = now
        claim.updated_at = now
        claim.save()
        _event(claim, ClaimEventKind.ASSESSED, actor, now=now, body=cleaned["note"], data={
            "computed_amount": str(compensation.amount), "rule": compensation.rule, "version": compensation.version,
            **compensation.detail, "cause": claim.cause})
        _ticket_line(claim, actor, _("Claim %(number)s assessed: %(amount)s CNY payable by the rules.") % {
            "number": claim.number, "amount": compensation.amount}, now=now)
    return claim


# --- decision ------------------------------------------------------------------------------------

def claim_required_level(claim: Claim, amount: Decimal) -> str:
    """The approval level a decision paying `amount` needs (thresholds on the day of submission);
    above the rules' cap only headquarters may approve."""
    on = timezone.localdate(claim.submitted_at) if claim.submitted_at else None
    level = claim_rules.approval_level_for(amount, on=on)
    if claim.computed_amount is not None and amount > claim.computed_amount:
        level = ApprovalLevel.HEADQUARTERS
    return level


def _check_authority(actor: User, claim: Claim, level: str) -> str:
    if claim.filed_by_id == actor.pk:
        raise PermissionDenied(_("Four-eyes rule: the person who filed a claim cannot decide it."))
    authority = claim_authority(acting_membership(actor), claim)
    if authority is None or APPROVAL_RANK[authority] < APPROVAL_RANK[level]:
        raise PermissionDenied(_("This decision needs approval by: %(level)s.") % {
            "level": ApprovalLevel(level).label})
    return authority


def claim_approve(*, actor: User, claim: Claim, amount=None, reason: str = "",
                  now: dt.datetime | None = None) -> Claim:
    """Approve paying `amount` (default: what the rules allow). Less than the rules allow is a
    partial approval and needs a reason; more than they allow (never more than was claimed) needs
    headquarters and a reason. The approver must hold the level the amount needs and must not be
    the filer."""
    require_perm(actor, "tickets.decide_claim")
    reason = _clean_text(reason, "reason")
    approved = clean_amount(amount, "amount") if amount not in (None, "") else None
    with transaction.atomic():
        claim = _lock_claim(claim)
        now = now or timezone.now()
        if claim.status != ClaimStatus.UNDER_REVIEW:
            raise ValidationError({"status": _("Only a claim under review can be decided; this one is "
                                               "“%(status)s”.") % {"status": claim.get_status_display()}})
        if claim.computed_amount is None:
            raise ValidationError({"amount": _("Assess the claim first: the rules' amount is not known yet.")})
        approved = claim.computed_amount if approved is None else approved
        if approved <= 0:
            raise ValidationError({"amount": _("Nothing is payable: reject the claim with a reason instead.")})
        if approved > claim.claimed_amount:
            raise ValidationError({"amount": _("No more than the claimed amount (%(claimed)s CNY) can be approved.")
                                   % {"claimed": claim.claimed_amount}})
        over_cap = approved > claim.computed_amount
        if approved != claim.computed_amount and not reason:
            raise ValidationError({"reason": _("Say why the approved amount differs from what the rules allow "
                                               "(%(amount)s CNY).") % {"amount": claim.computed_amount}})
        level = claim_required_level(claim, approved)
        authority = _check_authority(actor, claim, level)
        to_status = ClaimStatus.APPROVED if approved >= claim.computed_amount else ClaimStatus.PARTIALLY_APPROVED
        claim.approved_amount = approved
        claim.over_cap = over_cap
        claim.decision_reason = reason
        claim.decision_level = authority
        claim.decided_by = actor
        claim.decided_at = now
        body = _("Approved %(amount)s CNY (%(level)s).") % {"amount": approved,
                                                             "level": ApprovalLevel(authority).label}
        _move(claim, to_status, actor, now=now, body=" ".join(filter(None, [body, reason])),
              data={"amount": str(approved), "level": authority, "required": level, "over_cap": over_cap})
        claim.save()
        _event(claim, ClaimEventKind.DECIDED, actor, now=now, body=reason, data={
            "decision": to_status, "amount": str(approved), "computed_amount": str(claim.computed_amount),
            "level": authority, "required": level})
    return claim


def claim_reject(*, actor: User, claim: Claim, reason: str, now: dt.datetime | None = None) -> Claim:
    """Reject with a reason the customer is told; needs the level of what the rules would pay."""
    from .conversation import ticket_result_notify

    require_perm(actor, "tickets.decide_claim")
    reason = _clean_text(reason, "reason", required=True, message=_("Say why the claim is rejected; the customer "
                                                                      "is told."))
    with transaction.atomic():
        claim = _lock_claim(claim)
        now = now or timezone.now()
        if claim.status != ClaimStatus.UNDER_REVIEW:
            raise ValidationError({"status": _("Only a claim under review can be decided; this one is "
                                               "“%(status)s”.") % {"status": claim.get_status_display()}})
        basis = claim.computed_amount if claim.computed_amount is not None else claim.claimed_amount
        level = claim_required_level(claim, basis)
        authority = _check_authority(actor, claim, level)
        claim.decision_reason = reason
        claim.decision_level = authority
        claim.decided_by = actor
        claim.decided_at = now
        claim.closed_at = now
        _move(claim, ClaimStatus.REJECTED, actor, now=now, body=reason, data={"level": authority, "required": level})
        claim.save()
        _event(claim, ClaimEventKind.DECIDED, actor, now=now, body=reason,
               data={"decision": ClaimStatus.REJECTED, "level": authority, "required": level})
        ticket_result_notify(actor=actor, ticket=claim.ticket, now=now, body=_(
            "Your claim %(number)s for waybill %(waybill)s was not accepted. Reason: %(reason)s") % {
            "number": claim.number, "waybill": claim.waybill.number, "reason": reason})
    return claim


# --- payout --------------------------------------------------------------------------------------

def claim_pay(*, actor: User, claim: Claim, amount, method: str, payee_name: str, reference: str,
              payee_account: str = "", paid_at: dt.datetime | None = None, note: str = "",
              now: dt.datetime | None = None) -> ClaimPayout:
    """Record the one payout of an approved claim (at most the approved amount); the claim is
    paid, the ticket resolved and the customer told. A second payout is refused."""
    from .conversation import ticket_result_notify

    require_perm(actor, "tickets.pay_claim")
    errors = {}
    cleaned = {}
    for name, check in (("amount", lambda: clean_amount(amount, "amount")),
                        ("method", lambda: _choice(method, "method", PayoutMethod)),
                        ("payee_name", lambda: _clean_text(payee_name, "payee_name", required=True, limit=120,
                                                           message=_("Enter who was paid."))),
                        ("reference", lambda: _clean_text(reference, "reference", required=True, limit=80,
                                                          message=_("Enter the payment's reference (transaction "
                                                                    "number)."))),
                        ("payee_account", lambda: _clean_text(payee_account, "payee_account", limit=80)),
                        ("note", lambda: _clean_text(note, "note", limit=300))):
        try:
            cleaned[name] = check()
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        claim = _lock_claim(claim)
        now = now or timezone.now()
        _check_claim_scope(actor, claim)
        paid_at = paid_at or now
        if paid_at > now + dt.timedelta(minutes=5):
            raise ValidationError({"paid_at": _("The payment time cannot be in the future.")})
        if claim.decided_at and paid_at < claim.decided_at:
            raise ValidationError({"paid_at": _("The payment time cannot be before the claim was approved (%(time)s).")
                                   % {"time": timezone.localtime(claim.decided_at).strftime("%Y-%m-%d %H:%M")}})
        if claim.status == ClaimStatus.PAID or ClaimPayout.objects.filter(claim=claim).exists():
            raise ValidationError({"status": _("This claim has already been paid.")})
        if claim.status not in AWAITING_PAYOUT:
            raise ValidationError({"status": _("Only an approved claim can be paid; this one is “%(status)s”.") % {
                "status": claim.get_status_display()}})
        if cleaned["amount"] > claim.approved_amount:
            raise ValidationError({"amount": _("The payout cannot exceed the approved amount (%(approved)s CNY).")
                                   % {"approved": claim.approved_amount}})
        if cleaned["amount"] < claim.approved_amount and not cleaned["note"]:
            raise ValidationError({"note": _("Say why less than the approved amount is paid.")})
        payout = ClaimPayout(claim=claim, amount=cleaned["amount"], approved_amount=claim.approved_amount,
                             method=cleaned["method"], payee_name=cleaned["payee_name"],
                             reference=cleaned["reference"], note=cleaned["note"], paid_at=paid_at, paid_by=actor,
                             created_at=now)
        payout.payee_account = cleaned["payee_account"] or None
        try:
            with transaction.atomic():
                payout.save()
        except IntegrityError as exc:
            raise ValidationError({"status": _("This claim has already been paid.")}) from exc
        claim.paid_at = paid_at
        claim.closed_at = now
        _move(claim, ClaimStatus.PAID, actor, now=now, body=_("Paid %(amount)s CNY (%(method)s, ref. %(ref)s).") % {
            "amount": payout.amount, "method": PayoutMethod(payout.method).label, "ref": payout.reference})
        claim.save()
        _event(claim, ClaimEventKind.PAID, actor, now=now, body=payout.note,
               data={"amount": str(payout.amount), "method": payout.method, "reference": payout.reference})
        ticket_result_notify(actor=actor, ticket=claim.ticket, now=now, body=_(
            "Your claim %(number)s for waybill %(waybill)s has been paid: %(amount)s CNY by %(method)s "
            "(reference %(ref)s).") % {"number": claim.number, "waybill": claim.waybill.number,
                                       "amount": payout.amount, "method": PayoutMethod(payout.method).label,
                                       "ref": payout.reference})
    return payout


# --- withdrawal and notes ------------------------------------------------------------------------

def claim_withdraw(*, actor: User, claim: Claim, reason: str, now: dt.datetime | None = None) -> Claim:
    """The claimant withdraws (told to the agent); only until the claim is decided."""
    require_perm(actor, "tickets.change_claim")
    reason = _clean_text(reason, "reason", required=True, message=_("Say why the claim is withdrawn."))
    with transaction.atomic():
        claim = _lock_claim(claim)
        now = now or timezone.now()
        _check_claim_scope(actor, claim)
        claim.closed_at = now
        _move(claim, ClaimStatus.WITHDRAWN, actor, now=now, body=reason)
        claim.save()
    return claim


def claim_note(*, actor: User, claim: Claim, body: str, now: dt.datetime | None = None) -> ClaimEvent:
    """An internal note on the claim's timeline."""
    require_perm(actor, "tickets.change_claim")
    body = _clean_text(body, "body", required=True, message=_("Write something first."))
    with transaction.atomic():
        claim = _lock_claim(claim)
        now = now or timezone.now()
        _check_claim_scope(actor, claim)
        event = _event(claim, ClaimEventKind.NOTE, actor, now=now, body=body)
        Claim.objects.filter(pk=claim.pk).update(updated_at=now)
    return event


# --- the decision clock ------------------------------------------------------------------------

def _clock_recipients(claim: Claim) -> list[Membership]:
    """Who hears that a claim's decision clock runs out: the claims team's lead, else the branch
    managers over the claim's branch."""
    if claim.team_id and claim.team.lead_id and claim.team.lead.is_active:
        return [claim.team.lead]
    if claim.branch_id is None:
        return []
    managers = Membership.objects.filter(role=Role.BRANCH_MANAGER, is_active=True).select_related("branch")
    return [m for m in managers if m.branch_id and claim.branch.path.startswith(m.branch.path)]


def claims_clock_sweep(*, now: dt.datetime | None = None) -> dict:
    """Warn claims past the warning share of their decision time and mark breaches once
    (set-based updates; the timeline and notifications for the rows that changed). Safe to run
    twice: a claim is warned once and breached once."""
    now = now or timezone.now()
    waiting = Claim.objects.filter(status__in=AWAITING_DECISION)
    with transaction.atomic():
        warned = list(waiting.filter(decision_warned=False, decision_warn_at__lte=now, decision_due__gt=now)
                      .select_for_update(skip_locked=True).values_list("pk", flat=True))
        Claim.objects.filter(pk__in=warned).update(decision_warned=True)
        breached = list(waiting.filter(decision_breached=False, decision_due__lte=now)
                        .select_for_update(skip_locked=True).values_list("pk", flat=True))
        Claim.objects.filter(pk__in=breached).update(decision_breached=True, decision_warned=True)
        changed = Claim.objects.filter(pk__in=[*warned, *breached]).select_related("team__lead", "branch")
        for claim in changed:
            late = claim.pk in breached
            kind = ClaimEventKind.CLOCK_BREACHED if late else ClaimEventKind.CLOCK_WARNING
            _event(claim, kind, None, now=now, data={"due": claim.decision_due.isoformat()})
            title = (_("Claim %(number)s is past its decision time") if late else
                     _("Claim %(number)s is nearing its decision time")) % {"number": claim.number}
            for member in _clock_recipients(claim):
                notification_send(membership=member, title=title, dedup_key=f"claim-clock-{kind}-{claim.pk}",
                                  url=f"/claims/{claim.pk}/")
    return {"warned": len(warned), "breached": len(breached)}
