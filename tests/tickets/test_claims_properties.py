"""Claims compensation and decisions as properties (DOMAIN.md §4).

1. The pure arithmetic (`claim_rules.compensation_compute`), over any claim type, claimed amount,
   assessment, insured amount, service fee and fee multiple: the amount is never negative, never
   more than was claimed, never above the cap of its rule (the exact, unrounded cap too), never
   above the actual loss, a delay refunds min(fee, claimed), at most two decimals — and it is the
   largest fen amount within all of those bounds. The rule is insured iff an insured amount is set.
2. Through the services (file → evidence → submit → assess → approve → pay, each example rolled
   back to a savepoint): whatever amount an approver tries to approve and then pay, a payout never
   exceeds the approved amount, an approval above the rules' amount exists only as over_cap and
   decided at headquarters by an executive, and a refusal names the field and changes nothing.
   The approval level follows the thresholds (≤ 500 team lead, ≤ 5,000 branch manager, above that
   headquarters), boundaries included.
"""
from __future__ import annotations

from contextlib import contextmanager
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tickets import claim_rules
from tickets.claim_rules import compensation_compute
from tickets.models import (
    APPROVAL_RANK,
    ApprovalLevel,
    Claim,
    ClaimEvent,
    ClaimPayout,
    ClaimStatus,
    ClaimType,
    CompensationRule,
    TicketEvent,
)
from tickets.services import claims

from .claims_world import act, build_claims_desk, claim_under_review, insure_waybills

CENT = Decimal("0.01")
INSURED = Decimal("100000.00")  # far above every amount below: the insured cap never binds in the service tests


def money(low: str, high: str) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=Decimal(low), max_value=Decimal(high), places=2, allow_nan=False,
                       allow_infinity=False)


def fen(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_DOWN)


# --- 1. the pure arithmetic ----------------------------------------------------------------------

@settings(max_examples=1500, deadline=None)
@given(claim_type=st.sampled_from(ClaimType.values),
       claimed=money("0.01", "10000000"),
       assessed=st.none() | money("0", "10000000"),
       percent=st.none() | money("0", "100"),
       insured=st.just(Decimal("0")) | money("0.01", "10000000"),
       fee=money("0", "100000"),
       multiple=money("0", "100"))
def test_compensation_stays_within_every_bound(claim_type, claimed, assessed, percent, insured, fee, multiple):
    result = compensation_compute(claim_type=claim_type, claimed_amount=claimed, assessed_value=assessed,
                                  damage_percent=percent, insured_amount=insured, service_fee=fee,
                                  fee_multiple=multiple, version="v7")
    amount = result.amount
    assert isinstance(amount, Decimal) and amount.is_finite()
    assert amount >= 0
    assert amount.as_tuple().exponent >= -2 and amount == amount.quantize(CENT)  # at most two decimals
    assert amount <= claimed
    assert result.version == "v7"
    if claim_type == ClaimType.DELAY:
        assert result.rule == CompensationRule.DELAY_REFUND
        assert amount == min(fee, claimed)
        return
    # the rule: insured iff an insured amount is set
    assert result.rule == (CompensationRule.INSURED if insured > 0 else CompensationRule.UNINSURED)
    exact_cap = insured if insured > 0 else multiple * fee  # unrounded
    assert amount <= exact_cap
    assert result.cap is not None and result.cap <= exact_cap
    # the actual loss: the assessed value (else the claimed amount) × the damaged share
    value = assessed if assessed is not None else claimed
    share = Decimal(100) if claim_type == ClaimType.LOSS or percent is None else percent
    exact_loss = value * share / Decimal(100)
    loss = exact_loss.quantize(CENT, ROUND_HALF_UP)  # the actual loss to the fen
    assert amount <= loss and amount - exact_loss <= Decimal("0.005")
    assert result.actual_loss == loss
    # and nothing withheld: the largest fen amount inside every bound
    assert amount == max(min(loss, fen(exact_cap), claimed), Decimal("0.00"))


@settings(max_examples=300, deadline=None)
@given(claimed=money("0.01", "100000"), fee=money("0", "1000"), multiple=money("0", "100"),
       insured=st.just(Decimal("0")) | money("0.01", "100000"), percent=money("0", "100"))
def test_damage_never_pays_more_than_total_loss_of_the_same_goods(claimed, fee, multiple, insured, percent):
    """Monotone in the damaged share: partial damage never pays more than losing the goods."""
    common = {"claimed_amount": claimed, "assessed_value": claimed, "insured_amount": insured, "service_fee": fee,
              "fee_multiple": multiple}
    damage = compensation_compute(claim_type=ClaimType.DAMAGE, damage_percent=percent, **common)
    loss = compensation_compute(claim_type=ClaimType.LOSS, damage_percent=None, **common)
    assert damage.amount <= loss.amount and damage.rule == loss.rule


# --- 2. through the services ---------------------------------------------------------------------

class _Rollback(Exception):
    pass


@contextmanager
def rolled_back():
    """Run one example in a savepoint and undo everything it wrote."""
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


def level_by_threshold(amount: Decimal) -> str:
    if amount <= Decimal("500"):
        return ApprovalLevel.TEAM_LEAD
    if amount <= Decimal("5000"):
        return ApprovalLevel.BRANCH
    return ApprovalLevel.HEADQUARTERS


def as_amount(raw) -> Decimal | None:
    """What the services accept as an amount (two decimals, above zero), else None."""
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        return None
    if not value.is_finite() or value != value.quantize(CENT) or value <= 0:
        return None
    return value


INVALID_AMOUNTS = ["0", "-1", "-0.01", "0.001", "12.345", "abc", "NaN", "Infinity", ""]


@pytest.fixture
def desk(world):
    """Tenant A's claims desk; the waybill claims are filed on is insured for 100,000 CNY."""
    tw = world.a
    tw.claims = build_claims_desk(tw, prefix="CP", count=1)
    insure_waybills(tw, tw.claims.tickets, insured=INSURED)
    return tw


def _state(tw, claim) -> dict:
    """Everything a refused decision or payout must leave as it was."""
    with tenant_scope(tw.tenant):
        row = Claim.objects.filter(pk=claim.pk).values(
            "status", "approved_amount", "over_cap", "decision_level", "decision_reason", "decided_by_id",
            "decided_at", "paid_at", "closed_at", "computed_amount", "updated_at").get()
        row["events"] = ClaimEvent.objects.filter(claim_id=claim.pk).count()
        row["payouts"] = ClaimPayout.objects.filter(claim_id=claim.pk).count()
        row["ticket_events"] = TicketEvent.objects.filter(ticket_id=claim.ticket_id).count()
    return row


def _outcome(call) -> tuple[str, object]:
    try:
        return "ok", call()
    except ValidationError as exc:
        return "refused", exc
    except PermissionDenied as exc:
        return "denied", exc


def _stored_invariants(tw, executive) -> None:
    """What the database holds, whatever was attempted."""
    with tenant_scope(tw.tenant):
        assert not Claim.objects.filter(approved_amount__gt=F("claimed_amount")).exists()
        for row in Claim.objects.filter(approved_amount__gt=F("computed_amount")):
            assert row.over_cap and row.decision_level == ApprovalLevel.HEADQUARTERS
            assert row.decided_by_id == executive.pk
        for payout in ClaimPayout.objects.select_related("claim"):
            assert payout.amount <= payout.approved_amount == payout.claim.approved_amount
            assert payout.claim.status == ClaimStatus.PAID


# A few cases picked by hand, run through the same checks as the generated ones so that each run
# surely includes them: (claimed, assessed, approver's level, amount to approve, reason, payer,
# amount to pay, note). The rules' amount is min(assessed, claimed).
HAND_PICKED = [
    ("800", "300", "headquarters", "800.00", "重要客户", "executive", "800.00", ""),  # over the cap, by an executive
    ("800", "300", "branch_manager", "300.01", "重要客户", "executive", "300.01", ""),  # over the cap: not a manager
    ("800", "300", "headquarters", "800.01", "重要客户", "executive", "1", "x"),  # above the claimed amount
    ("300", "300", "team_lead", None, "", "branch_manager", "300.01", ""),  # pay one fen more than approved
    ("300", "300", "team_lead", "200", "包装不合规", "branch_manager", "150", ""),  # pay less without a note
    ("300", "300", "team_lead", "200", "包装不合规", "executive", "150", "客户同意"),  # … with a note
    ("6000", "6000", "team_lead", "500.00", "按比例", "branch_manager", "500", ""),  # partial brings it to a lead
    ("6000", "6000", "team_lead", "500.01", "按比例", "branch_manager", "500.01", ""),  # … not one fen more
    ("100", "0", "headquarters", None, "", "executive", "0.01", ""),  # nothing payable
    ("100", "60", "headquarters", "", "", "executive", "60", ""),  # an empty amount: the rules' amount
]


def test_whatever_is_approved_and_paid_no_payout_exceeds_its_approval(desk):
    tw = desk
    ticket = tw.claims.tickets[0]
    approvers = {ApprovalLevel.TEAM_LEAD: tw.claims.lead.user, ApprovalLevel.BRANCH: tw.user(Role.BRANCH_MANAGER),
                 ApprovalLevel.HEADQUARTERS: tw.user(Role.EXECUTIVE)}
    executive = approvers[ApprovalLevel.HEADQUARTERS]
    payers = {"branch_manager": tw.user(Role.BRANCH_MANAGER), "executive": executive}

    def scenario(claimed, assessed, level, reason, note, payer, approve_amount, pay_amount) -> None:
        """File and assess a claim, try to approve `approve_amount(computed, claimed)` as `level`,
        then to pay `pay_amount(anchor, claimed)`; check each outcome against the rules and what is
        stored against the invariants. Rolled back at the end."""
        claimed, assessed = Decimal(claimed), Decimal(assessed)
        with rolled_back():
            claim = claim_under_review(tw, ticket, claimed=claimed, assessed=assessed)
            computed = claim.computed_amount
            assert computed == min(assessed, claimed)  # loss, insured far above: the actual loss
            raw = approve_amount(computed, claimed)
            approver = approvers[level]
            before = _state(tw, claim)
            kind, result = _outcome(lambda: act(tw, approver, claims.claim_approve, claim=claim, amount=raw,
                                                reason=reason))
            # what the service must have done
            default = raw in (None, "")  # an empty amount field means the rules' amount
            approved = computed if default else as_amount(raw)
            if approved is None or approved <= 0 or approved > claimed:
                expected, field = "refused", "amount"
            elif approved != computed and not reason:
                expected, field = "refused", "reason"
            else:
                needed = ApprovalLevel.HEADQUARTERS if approved > computed else level_by_threshold(approved)
                expected = "ok" if APPROVAL_RANK[level] >= APPROVAL_RANK[needed] else "denied"
                field = None
            assert kind == expected, (raw, computed, claimed, level, reason, result)
            if kind == "refused":
                assert field in result.message_dict
            if kind != "ok":
                assert _state(tw, claim) == before
            else:
                decided = result
                assert decided.approved_amount == approved
                assert decided.over_cap == (approved > computed)
                assert decided.decision_level == level and decided.decided_by_id == approver.pk
                assert decided.status == (ClaimStatus.APPROVED if approved >= computed
                                          else ClaimStatus.PARTIALLY_APPROVED)
                if decided.over_cap:
                    assert level == ApprovalLevel.HEADQUARTERS and approver.pk == executive.pk
            _stored_invariants(tw, executive)

            # then someone records a payout of some amount
            approved_now = approved if kind == "ok" else None
            raw_pay = pay_amount(approved_now if approved_now else computed or CENT, claimed)
            before = _state(tw, claim)
            pay_kind, paid = _outcome(lambda: act(
                tw, payers[payer], claims.claim_pay, claim=claim, amount=raw_pay, method="bank_transfer",
                payee_name="张三", reference="PAY-1", note=note))
            typed = as_amount(raw_pay)
            if typed is None:
                expected, field = "refused", "amount"
            elif approved_now is None:
                expected, field = "refused", "status"
            elif typed > approved_now:
                expected, field = "refused", "amount"
            elif typed < approved_now and not note:
                expected, field = "refused", "note"
            else:
                expected, field = "ok", None
            assert pay_kind == expected, (raw_pay, approved_now, note, paid)
            if pay_kind == "refused":
                assert field in paid.message_dict
                assert _state(tw, claim) == before
            else:
                assert paid.amount == typed <= approved_now
                with tenant_scope(tw.tenant):
                    assert ClaimPayout.objects.filter(claim_id=claim.pk).count() == 1
                    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.PAID
            _stored_invariants(tw, executive)

    def attempts(anchor: Decimal, claimed: Decimal):
        """Amounts an approver or payer might type, mostly plausible ones: the anchor (the rules'
        amount, or the approved amount when paying) and a few fen either side of it, the claimed
        amount and one fen above it, anything up to the claimed amount, anything at all, and now
        and then something that is not an amount."""
        near = st.integers(-300, 300).map(lambda cents: str(anchor + Decimal(cents) / 100))
        return st.sampled_from(["anchor", "near", "near", "edge", "within", "within", "any", "invalid"]).flatmap(
            lambda mode: {
                "anchor": st.just(str(anchor)),
                "near": near,
                "edge": st.sampled_from([str(claimed), str(claimed + CENT), str(anchor + CENT), str(anchor - CENT)]),
                "within": money("0.01", str(claimed)).map(str),
                "any": money("0.01", "40000").map(str),
                "invalid": st.sampled_from(INVALID_AMOUNTS),
            }[mode])

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(claimed=money("1", "20000"), assessed=money("0", "30000"), level=st.sampled_from(list(approvers)),
           reason=st.sampled_from(["", "客户长期合作，酌情处理", "包装不合规，按比例赔付"]),
           note=st.sampled_from(["", "部分赔付，已与客户确认"]), payer=st.sampled_from(list(payers)), data=st.data())
    def check(claimed, assessed, level, reason, note, payer, data):
        scenario(
            claimed, assessed, level, reason, note, payer,
            approve_amount=lambda computed, claimed: data.draw(st.sampled_from([True, False, False]).flatmap(
                lambda default: st.none() if default else attempts(computed, claimed)), label="approve"),
            pay_amount=lambda anchor, claimed: data.draw(attempts(anchor, claimed), label="pay"))

    for claimed, assessed, level, approve, reason, payer, pay, note in HAND_PICKED:
        scenario(claimed, assessed, level, reason, note, payer, approve_amount=lambda *_, approve=approve: approve,
                 pay_amount=lambda *_, pay=pay: pay)
    check()


def test_the_approval_level_follows_the_amount_thresholds(desk):
    tw = desk
    ticket = tw.claims.tickets[0]
    approver = {ApprovalLevel.TEAM_LEAD: tw.claims.lead.user, ApprovalLevel.BRANCH: tw.user(Role.BRANCH_MANAGER),
                ApprovalLevel.HEADQUARTERS: tw.user(Role.EXECUTIVE)}
    below = {ApprovalLevel.BRANCH: ApprovalLevel.TEAM_LEAD, ApprovalLevel.HEADQUARTERS: ApprovalLevel.BRANCH}

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @example(Decimal("500.00"))
    @example(Decimal("500.01"))
    @example(Decimal("5000.00"))
    @example(Decimal("5000.01"))
    @example(Decimal("0.01"))
    @given(money("0.01", "20000"))
    def check(amount):
        needed = level_by_threshold(amount)
        with rolled_back():
            claim = claim_under_review(tw, ticket, claimed=amount, assessed=amount)
            assert claim.computed_amount == amount and claim.rule == CompensationRule.INSURED
            with tenant_scope(tw.tenant):
                assert claim_rules.approval_level_for(amount) == needed
                assert claims.claim_required_level(claim, amount) == needed
            if needed in below:  # one level too low is refused and changes nothing
                before = _state(tw, claim)
                with pytest.raises(PermissionDenied):
                    act(tw, approver[below[needed]], claims.claim_approve, claim=claim)
                assert _state(tw, claim) == before
            decided = act(tw, approver[needed], claims.claim_approve, claim=claim)
            assert decided.status == ClaimStatus.APPROVED and decided.approved_amount == amount
            assert decided.decision_level == needed and not decided.over_cap

    check()
