"""Claims through the services, with two tenants present: filing, evidence, submission, the
assessment and the rules' amount, decisions at the right level (four-eyes), the one payout, the
customer told, the decision clock."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from shipments.models import Waybill
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tenancy.services import rule_set
from tickets.models import (
    Claim,
    ClaimEvent,
    ClaimPayout,
    ClaimStatus,
    OutboundMessage,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketStatus,
)
from tickets.services import claims

from .claims_world import PDF, PNG, build_claims_desk

pytestmark = pytest.mark.django_db


def act(tw, user, service, **kwargs):
    """Call a service as `user` (permissions follow the scope's user, as in a request)."""
    with tenant_scope(tw.tenant, user=user):
        return service(actor=user, **kwargs)


@pytest.fixture
def cw(world):
    world.a.claims = build_claims_desk(world.a, prefix="CA")
    world.b.claims = build_claims_desk(world.b, prefix="CB")
    return world


def _damage_claim(tw, amount="300", ticket_index=0, submit=True):
    agent = tw.user(Role.AGENT)
    ticket = tw.claims.tickets[ticket_index]
    claim = act(tw, agent, claims.claim_file, ticket=ticket, claim_type="damage", claimant_role="receiver",
                              claimed_amount=amount, description="外箱破损，杯子碎了")
    for kind, content in (("photo", PNG), ("packaging_photo", PNG), ("proof_of_value", PDF),
                          ("damage_report", PDF)):
        act(tw, agent, claims.claim_evidence_add, claim=claim, kind=kind, name=f"{kind}.bin", content=content)
    if submit:
        claim = act(tw, agent, claims.claim_submit, claim=claim)
    return claim


def test_full_path_insured_damage_paid_once_and_customer_told(cw):
    tw = cw.a
    with tenant_scope(tw.tenant, user=tw.user(Role.AGENT)):
        claim = _damage_claim(tw)
        assert claim.status == ClaimStatus.SUBMITTED
        assert claim.declared_value == Decimal("300.00") and claim.service_fee == Decimal("12.50")
        assert claim.decision_due - claim.submitted_at == dt.timedelta(days=7)
        claim = act(tw, tw.claims.lead.user, claims.claim_assess, claim=claim, cause="transport_damage",
                                    assessed_value="300", damage_percent="50")
        assert claim.status == ClaimStatus.UNDER_REVIEW
        assert claim.computed_amount == Decimal("150.00")
        assert claim.rule == "insured" and claim.rule_version == "default"
        claim = act(tw, tw.claims.lead.user, claims.claim_approve, claim=claim)
        assert claim.status == ClaimStatus.APPROVED and claim.decision_level == "team_lead"
        payout = act(tw, tw.user(Role.BRANCH_MANAGER), claims.claim_pay, claim=claim, amount="150", method="alipay",
                                  payee_name="李四", payee_account="lisi@alipay", reference="AP20261207001")
        assert payout.amount == Decimal("150.00")
        with pytest.raises(ValidationError) as exc:
            act(tw, tw.user(Role.BRANCH_MANAGER), claims.claim_pay, claim=claim, amount="1", method="cash",
                             payee_name="李四", reference="again")
        assert "status" in exc.value.message_dict
        assert ClaimPayout.objects.filter(claim=claim).count() == 1
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.PAID
        ticket = Ticket.objects.get(pk=claim.ticket_id)
        assert ticket.status == TicketStatus.RESOLVED
        result = TicketEvent.objects.filter(ticket=ticket, kind=TicketEventKind.REPLY).last()
        assert "150.00" in result.body and result.data["stage"] == "result"
        assert OutboundMessage.objects.filter(event=result).exists()
        kinds = list(ClaimEvent.objects.filter(claim=claim).values_list("kind", flat=True))
        assert kinds[0] == "created" and "assessed" in kinds and "paid" in kinds
        assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEventKind.CLAIM).count() >= 4
    with tenant_scope(cw.b.tenant):
        assert not Claim.objects.exists()


def test_uninsured_cap_and_rule_version(cw):
    tw = cw.a
    with tenant_scope(tw.tenant, user=tw.user(Role.TENANT_ADMIN)):
        Waybill.objects.filter(pk=tw.claims.tickets[0].waybill_id).update(insured_amount=0)
        rule_set(actor=tw.user(Role.TENANT_ADMIN), key="claims.uninsured_fee_multiple", value="7",
                 effective_from=timezone.localdate() - dt.timedelta(days=1))
    with tenant_scope(tw.tenant, user=tw.user(Role.AGENT)):
        claim = _damage_claim(tw, amount="1000")
        claim = act(tw, tw.claims.lead.user, claims.claim_assess, claim=claim, cause="poor_packaging",
                                    assessed_value="1000", damage_percent="100")
        assert claim.rule == "uninsured"
        assert claim.computed_amount == Decimal("87.50")  # 7 × 12.50
        assert claim.rule_version == (timezone.localdate() - dt.timedelta(days=1)).isoformat()


def test_missing_evidence_blocks_submission_and_changes_nothing(cw):
    tw = cw.a
    with tenant_scope(tw.tenant, user=tw.user(Role.AGENT)):
        agent = tw.user(Role.AGENT)
        claim = act(tw, agent, claims.claim_file, ticket=tw.claims.tickets[0], claim_type="damage",
                                  claimant_role="receiver", claimed_amount="100")
        act(tw, agent, claims.claim_evidence_add, claim=claim, kind="photo", name="a.png", content=PNG)
        with pytest.raises(ValidationError) as exc:
            act(tw, agent, claims.claim_submit, claim=claim)
        assert "evidence" in exc.value.message_dict
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.DRAFT and claim.submitted_at is None


def test_four_eyes_and_levels(cw):
    tw = cw.a
    with tenant_scope(tw.tenant, user=tw.user(Role.AGENT)):
        claim = act(tw, tw.claims.lead.user, claims.claim_file, ticket=tw.claims.tickets[1], claim_type="damage",
                                  claimant_role="receiver", claimed_amount="300")
        for kind, content in (("photo", PNG), ("packaging_photo", PNG), ("proof_of_value", PDF),
                              ("damage_report", PDF)):
            act(tw, tw.user(Role.AGENT), claims.claim_evidence_add, claim=claim, kind=kind, name="f", content=content)
        act(tw, tw.user(Role.AGENT), claims.claim_submit, claim=claim)
        claim = act(tw, tw.user(Role.AGENT), claims.claim_assess, claim=claim, cause="sorting_damage",
                                    assessed_value="300", damage_percent="100")
        with pytest.raises(PermissionDenied, match="Four-eyes|双人复核"):
            act(tw, tw.claims.lead.user, claims.claim_approve, claim=claim)
        with pytest.raises(PermissionDenied):
            act(tw, tw.user(Role.AGENT), claims.claim_approve, claim=claim)  # not a lead
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.UNDER_REVIEW and claim.approved_amount is None
        # Less than the rules allow needs a reason; then it is a partial approval.
        with pytest.raises(ValidationError) as exc:
            act(tw, tw.user(Role.BRANCH_MANAGER), claims.claim_approve, claim=claim, amount="200")
        assert "reason" in exc.value.message_dict
        claim = act(tw, tw.user(Role.BRANCH_MANAGER), claims.claim_approve, claim=claim, amount="200",
                                     reason="包装不合规，按比例赔付")
        assert claim.status == ClaimStatus.PARTIALLY_APPROVED and claim.decision_level == "branch_manager"


def test_over_cap_needs_headquarters(cw):
    tw = cw.a
    with tenant_scope(tw.tenant, user=tw.user(Role.AGENT)):
        claim = _damage_claim(tw, amount="300")
        claim = act(tw, tw.claims.lead.user, claims.claim_assess, claim=claim, cause="sorting_damage",
                                    assessed_value="300", damage_percent="50")
        with pytest.raises(PermissionDenied):
            act(tw, tw.user(Role.BRANCH_MANAGER), claims.claim_approve, claim=claim, amount="250", reason="客户重要")
        claim = act(tw, tw.user(Role.EXECUTIVE), claims.claim_approve, claim=claim, amount="250", reason="客户重要")
        assert claim.over_cap and claim.status == ClaimStatus.APPROVED
        with pytest.raises(ValidationError):
            act(tw, tw.user(Role.EXECUTIVE), claims.claim_pay, claim=claim, amount="250.01", method="cash",
                             payee_name="李四", reference="X1")


def test_reject_tells_customer_and_resolves(cw):
    tw = cw.a
    with tenant_scope(tw.tenant, user=tw.user(Role.AGENT)):
        claim = _damage_claim(tw)
        act(tw, tw.claims.lead.user, claims.claim_review_start, claim=claim)
        with pytest.raises(ValidationError) as exc:
            act(tw, tw.claims.lead.user, claims.claim_reject, claim=claim, reason=" ")
        assert "reason" in exc.value.message_dict
        claim = act(tw, tw.claims.lead.user, claims.claim_reject, claim=claim, reason="签收时未提出异议")
        assert claim.status == ClaimStatus.REJECTED
        ticket = Ticket.objects.get(pk=claim.ticket_id)
        assert ticket.status == TicketStatus.RESOLVED
        assert "签收时未提出异议" in TicketEvent.objects.filter(ticket=ticket, kind="reply").last().body


def test_filing_window_and_one_standing_claim(cw):
    tw = cw.a
    with tenant_scope(tw.tenant, user=tw.user(Role.AGENT)):
        agent = tw.user(Role.AGENT)
        ticket = tw.claims.tickets[2]
        Waybill.objects.filter(pk=ticket.waybill_id).update(shipped_at=timezone.now() - dt.timedelta(days=400))
        with pytest.raises(ValidationError) as exc:
            act(tw, agent, claims.claim_file, ticket=ticket, claim_type="loss", claimant_role="sender",
                              claimed_amount="100")
        assert "ticket" in exc.value.message_dict
        Waybill.objects.filter(pk=ticket.waybill_id).update(shipped_at=timezone.now() - dt.timedelta(days=3))
        act(tw, agent, claims.claim_file, ticket=ticket, claim_type="loss", claimant_role="sender",
            claimed_amount="100")
        with pytest.raises(ValidationError) as exc:
            act(tw, agent, claims.claim_file, ticket=ticket, claim_type="loss", claimant_role="sender",
                              claimed_amount="100")
        assert "claim_type" in exc.value.message_dict
        for bad in ("0", "-1", "1.234", "abc", "NaN", ""):
            with pytest.raises(ValidationError) as exc:
                act(tw, agent, claims.claim_file, ticket=ticket, claim_type="delay", claimant_role="sender",
                                  claimed_amount=bad)
            assert "claimed_amount" in exc.value.message_dict
        assert Claim.objects.filter(ticket=ticket).count() == 1


def test_clock_sweep_warns_and_breaches_once(cw):
    tw = cw.a
    with tenant_scope(tw.tenant, user=tw.user(Role.AGENT)):
        claim = _damage_claim(tw)
        later = claim.submitted_at + dt.timedelta(days=6)
        assert claims.claims_clock_sweep(now=later) == {"warned": 1, "breached": 0}
        assert claims.claims_clock_sweep(now=later) == {"warned": 0, "breached": 0}
        assert claims.claims_clock_sweep(now=later + dt.timedelta(days=2)) == {"warned": 0, "breached": 1}
        assert claims.claims_clock_sweep(now=later + dt.timedelta(days=3)) == {"warned": 0, "breached": 0}
        claim.refresh_from_db()
        assert claim.decision_breached
        from tenancy.models import Notification

        assert Notification.objects.filter(membership=tw.claims.lead).count() == 2
