"""The compensation rules of claims (DOMAIN.md §4): per-tenant numbers, versioned by the date they
take effect (tenancy.rules), and the pure arithmetic that turns an assessment into the amount the
rules allow.

- Insured parcels: the actual loss, up to the insured amount.
- Uninsured parcels: the actual loss, at most N × the service fee (N = 3 by default).
- Delay without loss of value: the service fee is refunded (a delay that destroys the value of
  the contents is filed as loss or damage).
- Partial damage: the actual loss is the assessed share of the goods' value.
Never more than the claimant asked for. Who approves follows the amount: up to 500 CNY a team
lead, up to 5,000 a branch manager, above that headquarters."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.utils.translation import gettext_lazy as _

from tenancy.rules import Rule, rule_value_with_version

from .models import ApprovalLevel, ClaimType, CompensationRule, EvidenceKind

CENT = Decimal("0.01")

UNINSURED_FEE_MULTIPLE = Rule("claims.uninsured_fee_multiple", Decimal("3"),
                              _("Claims: uninsured parcels get at most this many times the service fee"),
                              kind="decimal", min_value=Decimal("0"), max_value=Decimal("100"))
TEAM_LEAD_LIMIT = Rule("claims.team_lead_limit", Decimal("500"),
                       _("Claims: a team lead approves up to (CNY)"), kind="decimal", min_value=Decimal("0"))
BRANCH_LIMIT = Rule("claims.branch_manager_limit", Decimal("5000"),
                    _("Claims: a branch manager approves up to (CNY; above it headquarters)"), kind="decimal",
                    min_value=Decimal("0"))
DECISION_DAYS = Rule("claims.decision_days", 7, _("Claims: decide within (days of submission)"), kind="int",
                     min_value=1, max_value=90)
FILING_WINDOW_DAYS = Rule("claims.filing_window_days", 365,
                          _("Claims: may be filed within (days of the shipping date)"), kind="int",
                          min_value=1, max_value=3650)
DECLARE_ABOVE = Rule("claims.declare_above", Decimal("1000"),
                     _("Claims: contents above this value should have been declared or insured (CNY; a hint)"),
                     kind="decimal", min_value=Decimal("0"))
EVIDENCE_LOSS = Rule("claims.evidence_loss", "proof_of_value",
                     _("Claims: evidence a loss claim needs (comma-separated: photo, packaging_photo, "
                       "proof_of_value, damage_report)"), kind="text")
EVIDENCE_DAMAGE = Rule("claims.evidence_damage", "photo,packaging_photo,proof_of_value,damage_report",
                       _("Claims: evidence a damage claim needs (comma-separated)"), kind="text")
EVIDENCE_DELAY = Rule("claims.evidence_delay", "", _("Claims: evidence a delay claim needs (comma-separated)"),
                      kind="text")

_EVIDENCE_RULES = {ClaimType.LOSS: EVIDENCE_LOSS, ClaimType.DAMAGE: EVIDENCE_DAMAGE, ClaimType.DELAY: EVIDENCE_DELAY}


@dataclass(frozen=True)
class Compensation:
    """What the rules allow for one assessment, and how they got there."""

    amount: Decimal
    rule: str
    version: str
    cap: Decimal | None
    actual_loss: Decimal | None
    detail: dict = field(default_factory=dict)


def compensation_compute(*, claim_type: str, claimed_amount: Decimal, assessed_value: Decimal | None,
                         damage_percent: Decimal | None, insured_amount: Decimal, service_fee: Decimal,
                         fee_multiple: Decimal, version: str = "default") -> Compensation:
    """The payable amount by the rules (pure: no database). Rounded to the fen; the cap is
    rounded down so the amount never exceeds the exact cap."""
    claimed_amount = Decimal(claimed_amount)
    if claim_type == ClaimType.DELAY:
        amount = min(Decimal(service_fee), claimed_amount).quantize(CENT, ROUND_DOWN)
        return Compensation(amount=amount, rule=CompensationRule.DELAY_REFUND, version=version,
                            cap=Decimal(service_fee).quantize(CENT, ROUND_DOWN), actual_loss=None,
                            detail={"service_fee": str(service_fee)})
    value = Decimal(assessed_value if assessed_value is not None else claimed_amount)
    share = Decimal(100) if claim_type == ClaimType.LOSS or damage_percent is None else Decimal(damage_percent)
    actual_loss = (value * share / Decimal(100)).quantize(CENT, ROUND_HALF_UP)
    if Decimal(insured_amount) > 0:
        rule, cap = CompensationRule.INSURED, Decimal(insured_amount).quantize(CENT, ROUND_DOWN)
        detail = {"insured_amount": str(insured_amount)}
    else:
        rule = CompensationRule.UNINSURED
        cap = (Decimal(fee_multiple) * Decimal(service_fee)).quantize(CENT, ROUND_DOWN)
        detail = {"service_fee": str(service_fee), "fee_multiple": str(fee_multiple)}
    amount = max(min(actual_loss, cap, claimed_amount.quantize(CENT, ROUND_DOWN)), Decimal("0.00"))
    detail.update({"assessed_value": str(value), "damage_percent": str(share), "actual_loss": str(actual_loss),
                   "cap": str(cap)})
    return Compensation(amount=amount, rule=rule, version=version, cap=cap, actual_loss=actual_loss, detail=detail)


def claim_compensation(claim, *, on=None) -> Compensation:
    """The rules' amount for a claim as assessed, with the tenant's settings in force on `on`
    (the day the claim was submitted, so a later change of the rules does not move it)."""
    multiple, version = rule_value_with_version(UNINSURED_FEE_MULTIPLE, on=on)
    return compensation_compute(
        claim_type=claim.claim_type, claimed_amount=claim.claimed_amount, assessed_value=claim.assessed_value,
        damage_percent=claim.damage_percent, insured_amount=claim.insured_amount, service_fee=claim.service_fee,
        fee_multiple=multiple, version=version)


def approval_level_for(amount: Decimal, *, on=None) -> str:
    """The lowest level that may approve paying `amount`."""
    if amount <= TEAM_LEAD_LIMIT.value(on=on):
        return ApprovalLevel.TEAM_LEAD
    if amount <= BRANCH_LIMIT.value(on=on):
        return ApprovalLevel.BRANCH
    return ApprovalLevel.HEADQUARTERS


def evidence_required(claim_type: str, *, on=None) -> list[str]:
    """The evidence kinds a claim of this type needs before it can be submitted for review."""
    raw = _EVIDENCE_RULES[claim_type].value(on=on) if claim_type in _EVIDENCE_RULES else ""
    kinds = [k.strip() for k in str(raw).split(",") if k.strip()]
    return [k for k in dict.fromkeys(kinds) if k in EvidenceKind.values]
