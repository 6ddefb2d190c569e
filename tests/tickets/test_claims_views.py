"""The claims pages over HTTP with two tenants: the queue, filing from a ticket, the claim page's
actions (errors keep what was typed and change nothing), the evidence gallery, the customer 360
card, the waybill page, the home card and the report."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tickets.models import Claim, ClaimPayout, ClaimStatus
from tickets.services import claims

from .claims_world import PDF, PNG, build_claims_desk

pytestmark = pytest.mark.django_db


@pytest.fixture
def cw(world):
    world.a.claims = build_claims_desk(world.a, prefix="VA")
    world.b.claims = build_claims_desk(world.b, prefix="VB")
    return world


def _client(world, tw, user):
    return world.client_for(user, tw.tenant)


def _post(client, claim, action, **data):
    return client.post(reverse("tickets:claim", args=[claim.pk]), {"action": action, **{
        f"{action}-{k}": v for k, v in data.items()}})


def _fresh(tw, claim):
    with tenant_scope(tw.tenant):
        return Claim.objects.get(pk=claim.pk)


def _claim(tw):
    with tenant_scope(tw.tenant, user=tw.user(Role.AGENT)):
        return Claim.objects.get(ticket=tw.claims.tickets[0])


def test_file_a_claim_from_the_ticket_then_work_it_to_paid(cw):
    tw = cw.a
    agent = _client(cw, tw, tw.user(Role.AGENT))
    ticket = tw.claims.tickets[0]
    page = agent.get(reverse("tickets:detail", args=[ticket.pk]))
    assert page.status_code == 200 and reverse("tickets:claim_file", args=[ticket.pk]).encode() in page.content
    url = reverse("tickets:claim_file", args=[ticket.pk])
    bad = agent.post(url, {"claim_type": "damage", "claimant_role": "receiver", "claimed_amount": "12.345",
                           "description": "外箱破损"})
    assert bad.status_code == 400 and "外箱破损" in bad.content.decode()
    with tenant_scope(tw.tenant):
        assert not Claim.objects.exists()
    done = agent.post(url, {"claim_type": "damage", "claimant_role": "receiver", "claimed_amount": "300",
                            "description": "外箱破损"})
    assert done.status_code == 302
    claim = _claim(tw)
    # Submitting without the evidence says what is missing and changes nothing.
    refused = _post(agent, claim, "submit")
    assert refused.status_code == 400
    assert "Signed damage report" in refused.content.decode() or "签字" in refused.content.decode()
    for kind, content, name in (("photo", PNG, "item.png"), ("packaging_photo", PNG, "box.png"),
                                ("proof_of_value", PDF, "invoice.pdf"), ("damage_report", PDF, "report.pdf")):
        response = agent.post(reverse("tickets:claim", args=[claim.pk]), {
            "action": "evidence", "evidence-kind": kind, "evidence-note": "",
            "evidence-file": SimpleUploadedFile(name, content)})
        assert response.status_code == 302, response.content.decode()[:500]
    assert _post(agent, claim, "submit").status_code == 302
    lead = _client(cw, tw, tw.claims.lead.user)
    page = lead.get(reverse("tickets:claim", args=[claim.pk]))
    assert page.status_code == 200 and b"evidence-gallery" in page.content
    assert _post(lead, claim, "assess", assessed_value="300", damage_percent="40", cause="sorting_damage",
                 note="").status_code == 302
    claim = _fresh(tw, claim)
    assert claim.computed_amount == Decimal("120.00")
    # The filer cannot approve (four-eyes): a clear error, nothing changed.
    refused = _post(agent, claim, "approve", amount="120", reason="")
    assert refused.status_code == 403
    claim = _fresh(tw, claim)
    assert claim.status == ClaimStatus.UNDER_REVIEW
    assert _post(lead, claim, "approve", amount="120", reason="").status_code == 302
    manager = _client(cw, tw, tw.user(Role.BRANCH_MANAGER))
    over = _post(manager, claim, "pay", amount="130", method="alipay", payee_name="李四", payee_account="li@pay",
                 reference="AP1", paid_at="", note="")
    assert over.status_code == 400 and "AP1" in over.content.decode()
    assert _post(manager, claim, "pay", amount="120", method="alipay", payee_name="李四", payee_account="li@pay",
                 reference="AP1", paid_at="", note="").status_code == 302
    claim = _fresh(tw, claim)
    assert claim.status == ClaimStatus.PAID
    with tenant_scope(tw.tenant):
        assert ClaimPayout.objects.filter(claim=claim).count() == 1
    page = manager.get(reverse("tickets:claim", args=[claim.pk]))
    assert b"li@pay" not in page.content and b"claim-payout" in page.content
    # The gallery serves the photo inline, the invoice as a download.
    with tenant_scope(tw.tenant):
        evidence = list(claim.evidence.order_by("id"))
    photo = manager.get(reverse("tickets:claim_evidence", args=[claim.pk]) + f"?item={evidence[0].pk}")
    assert photo.status_code == 200 and photo["Content-Type"] == "image/png"
    assert "attachment" not in photo.get("Content-Disposition", "")
    pdf = manager.get(reverse("tickets:claim_evidence", args=[claim.pk]) + f"?item={evidence[2].pk}")
    assert "attachment" in pdf["Content-Disposition"]


def test_other_tenant_and_other_pages(cw):
    tw = cw.a
    with tenant_scope(tw.tenant, user=tw.user(Role.AGENT)):
        claim = claims.claim_file(actor=tw.user(Role.AGENT), ticket=tw.claims.tickets[1], claim_type="loss",
                                  claimant_role="sender", claimed_amount="88")
    stranger = _client(cw, cw.b, cw.b.user(Role.BRANCH_MANAGER))
    assert stranger.get(reverse("tickets:claim", args=[claim.pk])).status_code == 404
    assert _post(stranger, claim, "withdraw", reason="x").status_code == 404
    manager = _client(cw, tw, tw.user(Role.BRANCH_MANAGER))
    queue = manager.get(reverse("tickets:claims") + "?tab=drafts")
    assert queue.status_code == 200 and claim.number.encode() in queue.content
    assert manager.get(reverse("tickets:claims") + "?min_amount=abc").status_code == 400
    assert manager.get(reverse("tickets:claims_report")).status_code == 200
    waybill = manager.get(reverse("shipments:detail", args=[claim.waybill_id]))
    assert claim.number.encode() in waybill.content
    home = manager.get(reverse("home"))
    assert b"claims-summary" in home.content
    auditor = _client(cw, tw, tw.user(Role.AUDITOR))
    page = auditor.get(reverse("tickets:claim", args=[claim.pk]))
    assert page.status_code == 200 and b'name="action" value="withdraw"' not in page.content
    assert _post(auditor, claim, "withdraw", reason="x").status_code == 403
