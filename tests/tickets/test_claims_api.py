"""The claims REST API (/api/v1/claims…) over HTTP with two tenants present: the whole way from
filing through evidence, submission, assessment and the decision at the right level to the one
payout (the ticket resolved, the payee's account never shown); four-eyes, approval levels and
over-cap decisions refused with the service's message and nothing changed; 400s that name the
field; 404 for another company's claims and outside a branch manager's subtree; 403 for the
read-only roles; the queue's tabs, filters, cursor and counts at a constant query count; the
report's numbers."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shipments.models import Waybill
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories.shipments import exception_tickets
from tickets.models import (
    Claim,
    ClaimEvent,
    ClaimEvidence,
    ClaimPayout,
    ClaimStatus,
    Ticket,
    TicketAttachment,
    TicketStatus,
)
from tickets.services import claims as services

from .claims_world import PDF, PNG, build_claims_desk

pytestmark = pytest.mark.django_db

API = "/api/v1/claims/"
DAMAGE_EVIDENCE = (("photo", PNG), ("packaging_photo", PNG), ("proof_of_value", PDF), ("damage_report", PDF))
ACCOUNT = "6222020200112233445"
READ_ONLY = [Role.SALES_MANAGER, Role.AUDITOR]


class Api:
    """A logged-in client that speaks JSON and asks for English messages."""

    def __init__(self, client):
        self.client = client

    def get(self, url, params=None):
        return self.client.get(url, params or {}, HTTP_ACCEPT_LANGUAGE="en")

    def post(self, url, data=None):
        return self.client.post(url, json.dumps(data if data is not None else {}), content_type="application/json",
                                HTTP_ACCEPT_LANGUAGE="en")

    def patch(self, url, data):
        return self.client.patch(url, json.dumps(data), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")

    def upload(self, url, kind, content, name="evidence.bin", note=""):
        return self.client.post(url, {"kind": kind, "file": SimpleUploadedFile(name, content), "note": note},
                                HTTP_ACCEPT_LANGUAGE="en")


def api(world, role=Role.AGENT, tw=None) -> Api:
    return Api(world.client_for((tw or world.a).user(role)))


def api_as(world, user) -> Api:
    return Api(world.client_for(user))


def fields(response) -> set[str]:
    assert response.status_code == 400, response.content
    body = response.json()["error"]
    assert body["code"] == "invalid"
    return set(body["fields"])


def denied(response) -> str:
    assert response.status_code == 403, response.content
    body = response.json()["error"]
    assert body["code"] == "permission_denied"
    return body["message"]


def ok(response, code=200) -> dict:
    assert response.status_code == code, response.content
    return response.json()


def act(tw, user, service, **kwargs):
    """Set-up through the services, as `user`."""
    with tenant_scope(tw.tenant, user=user):
        return service(actor=user, **kwargs)


def fetch(tw, model, **lookup):
    with tenant_scope(tw.tenant):
        return model.objects.get(**lookup)


def damage_claim(tw, *, ticket=None, amount="300", filer=None, evidence=True, submit=True, assess_percent=None,
                 assessed_value="300"):
    """A damage claim through the services: filed (by the agent), documented, submitted and,
    with `assess_percent`, assessed by the agent."""
    agent = tw.user(Role.AGENT)
    claim = act(tw, filer or agent, services.claim_file, ticket=ticket or tw.claims.tickets[0], claim_type="damage",
                claimant_role="receiver", claimed_amount=amount, description="外箱破损")
    if evidence:
        for kind, content in DAMAGE_EVIDENCE:
            act(tw, agent, services.claim_evidence_add, claim=claim, kind=kind, name=f"{kind}.bin", content=content)
    if submit:
        claim = act(tw, agent, services.claim_submit, claim=claim)
    if assess_percent is not None:
        claim = act(tw, agent, services.claim_assess, claim=claim, cause="sorting_damage",
                    assessed_value=assessed_value, damage_percent=assess_percent)
    return claim


def insure(tw, ticket, amount: str) -> None:
    with tenant_scope(tw.tenant):
        Waybill.objects.filter(pk=ticket.waybill_id).update(insured_amount=Decimal(amount))


def event_kinds(tw, claim_id) -> list[str]:
    with tenant_scope(tw.tenant):
        return list(ClaimEvent.objects.filter(claim_id=claim_id).order_by("id").values_list("kind", flat=True))


def state(tw, claim_id) -> tuple:
    """What a refused request must leave as it was."""
    with tenant_scope(tw.tenant):
        claim = Claim.objects.get(pk=claim_id)
        return (claim.status, claim.claimed_amount, claim.approved_amount, claim.computed_amount, claim.decided_by_id,
                claim.decision_level, claim.updated_at, ClaimEvent.objects.filter(claim=claim).count(),
                ClaimEvidence.objects.filter(claim=claim).count(), ClaimPayout.objects.filter(claim=claim).count())


@pytest.fixture
def cw(world):
    world.a.claims = build_claims_desk(world.a, prefix="CA")
    world.b.claims = build_claims_desk(world.b, prefix="CB")
    return world


# --- the whole way ---------------------------------------------------------------------------------

def test_file_document_submit_assess_approve_pay_over_the_api(cw):
    tw = cw.a
    agent, lead, manager = api(cw), api_as(cw, tw.claims.lead.user), api(cw, Role.BRANCH_MANAGER)
    ticket = tw.claims.tickets[0]
    created = agent.post(API, {"ticket": ticket.pk, "claim_type": "damage", "claimant_role": "receiver",
                               "claimed_amount": "300", "description": "外箱破损，杯子碎了"})
    body = ok(created, 201)
    pk = body["id"]
    url = f"{API}{pk}/"
    assert body["status"] == "draft" and body["number"].startswith("C")
    assert (body["claimed_amount"], body["declared_value"], body["insured_amount"], body["service_fee"]) == (
        "300.00", "300.00", "300.00", "12.50")
    assert body["ticket"] == ticket.pk and body["ticket_number"] == ticket.number
    assert body["waybill_number"] == "CA00000" and body["claimant_name"] == "李*"
    assert body["computed_amount"] is None and body["required_level"] == "" and body["payout"] is None
    assert body["missing_evidence"] == ["photo", "packaging_photo", "proof_of_value", "damage_report"]
    assert [(i["kind"], i["required"], i["count"], i["done"]) for i in body["evidence_checklist"]][0] == (
        "photo", True, 0, False)

    # Submitting without the evidence is refused and changes nothing.
    assert fields(agent.post(f"{url}submit/")) == {"evidence"}
    assert fetch(tw, Claim, pk=pk).status == ClaimStatus.DRAFT

    for kind, content in DAMAGE_EVIDENCE:
        row = ok(agent.upload(f"{url}evidence/", kind, content, name=f"{kind}.png", note="现场拍摄"), 201)
        assert row["kind"] == kind and row["ticket"] == ticket.pk and row["size"] == len(content)
    assert fields(agent.upload(f"{url}evidence/", "photo", b"MZ\x90\x00\x03" * 10)) == {"file"}
    assert fields(agent.upload(f"{url}evidence/", "selfie", PNG)) == {"kind"}
    assert [e["kind"] for e in ok(agent.get(f"{url}evidence/"))] == [k for k, _c in DAMAGE_EVIDENCE]
    with tenant_scope(tw.tenant):
        assert TicketAttachment.objects.filter(ticket=ticket).count() == 4
    assert ok(agent.get(url))["missing_evidence"] == []

    body = ok(agent.post(f"{url}submit/"))
    assert body["status"] == "submitted" and body["decision_due"] and body["submitted_at"]

    body = ok(lead.post(f"{url}assess/", {"cause": "transport_damage", "assessed_value": "300",
                                          "damage_percent": "50", "note": "外箱压痕"}))
    assert body["status"] == "under_review" and body["computed_amount"] == "150.00"
    assert (body["rule"], body["rule_version"], body["required_level"]) == ("insured", "default", "team_lead")
    assert body["rule_detail"]["actual_loss"] == "150.00" and body["cause"] == "transport_damage"

    body = ok(lead.post(f"{url}approve/", {}))
    assert (body["status"], body["approved_amount"], body["decision_level"]) == ("approved", "150.00", "team_lead")
    assert body["decided_by"] == tw.claims.lead.user.pk

    body = ok(manager.post(f"{url}pay/", {"amount": "150.00", "method": "bank_transfer", "payee_name": "李四",
                                          "payee_account": ACCOUNT, "reference": "BT20261207001"}))
    assert body["status"] == "paid" and body["paid_at"] and body["closed_at"]
    payout = body["payout"]
    assert (payout["amount"], payout["approved_amount"], payout["method"], payout["reference"]) == (
        "150.00", "150.00", "bank_transfer", "BT20261207001")
    assert payout["payee_account"] == "******3445" and payout["payee_name"] == "李*"
    assert payout["paid_by"] == tw.user(Role.BRANCH_MANAGER).pk
    for reader in (agent, api(cw, Role.AUDITOR)):
        shown = reader.get(url)
        assert ok(shown)["payout"]["payee_account"] == "******3445" and ACCOUNT not in shown.content.decode()

    with tenant_scope(tw.tenant):
        claim = Claim.objects.get(pk=pk)
        assert claim.status == ClaimStatus.PAID and claim.approved_amount == Decimal("150.00")
        stored = ClaimPayout.objects.get(claim=claim)
        assert stored.amount == Decimal("150.00") and stored.payee_account == ACCOUNT
        assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.RESOLVED
    timeline = ok(agent.get(f"{url}timeline/"))
    kinds = [e["kind"] for e in timeline]
    assert kinds[0] == "created" and kinds.count("evidence") == 4
    assert {"assessed", "decided", "paid"} <= set(kinds)
    assert [(e["from_status"], e["to_status"]) for e in timeline if e["kind"] == "status"] == [
        ("draft", "submitted"), ("submitted", "under_review"), ("under_review", "approved"), ("approved", "paid")]


def test_draft_changes_review_notes_reject_and_withdraw(cw):
    tw = cw.a
    agent, lead = api(cw), api_as(cw, tw.claims.lead.user)
    draft = damage_claim(tw, ticket=tw.claims.tickets[1], evidence=False, submit=False)
    url = f"{API}{draft.pk}/"
    body = ok(agent.patch(url, {"claimed_amount": "280.50", "claimant_role": "sender"}))
    assert body["claimed_amount"] == "280.50" and body["claimant_role"] == "sender"
    assert body["claimant_name"] == "张*" and body["description"] == "外箱破损"  # left out: kept
    assert ok(agent.patch(url, {}))["claimed_amount"] == "280.50"
    assert "updated" in event_kinds(tw, draft.pk)
    body = ok(agent.post(f"{url}notes/", {"body": "客户补充：内有易碎品"}))
    assert body["id"] == draft.pk
    assert ok(agent.get(f"{url}timeline/"))[-1]["body"] == "客户补充：内有易碎品"
    assert fields(agent.post(f"{url}notes/", {"body": "  "})) == {"body"}
    assert fields(agent.post(f"{url}withdraw/", {})) == {"reason"}
    assert ok(agent.post(f"{url}withdraw/", {"reason": "客户已自行和解"}))["status"] == "withdrawn"
    assert fields(agent.patch(url, {"claimed_amount": "1"})) == {"status"}
    assert fetch(tw, Claim, pk=draft.pk).claimed_amount == Decimal("280.50")

    claim = damage_claim(tw, ticket=tw.claims.tickets[2])
    url = f"{API}{claim.pk}/"
    assert ok(lead.post(f"{url}review/"))["status"] == "under_review"
    assert fields(lead.post(f"{url}review/")) == {"status"}
    assert fields(lead.post(f"{url}reject/", {"reason": " "})) == {"reason"}
    body = ok(lead.post(f"{url}reject/", {"reason": "签收时未提出异议"}))
    assert body["status"] == "rejected" and body["decision_reason"] == "签收时未提出异议"
    assert fetch(tw, Ticket, pk=claim.ticket_id).status == TicketStatus.RESOLVED
    assert fields(agent.post(f"{url}withdraw/", {"reason": "x"})) == {"status"}


def test_a_company_claimants_name_is_shown_a_persons_masked(cw):
    from customers import services as customer_services
    from customers.models import CustomerKind

    tw = cw.a
    admin = tw.user(Role.TENANT_ADMIN)
    ticket = tw.claims.tickets[0]
    with tenant_scope(tw.tenant, user=admin):
        company = customer_services.customer_create(actor=admin, kind=CustomerKind.ACCOUNT, name="云桥电子商务有限公司",
                                                    province="上海", city="浦东新区")
        Waybill.objects.filter(pk=ticket.waybill_id).update(sender_id=company.pk, sender_name="云桥电子商务有限公司")
    agent = api(cw)
    body = ok(agent.post(API, {"ticket": ticket.pk, "claim_type": "loss", "claimant_role": "sender",
                               "claimed_amount": "100"}), 201)
    assert (body["claimant"], body["claimant_name"]) == (company.pk, "云桥电子商务有限公司")
    body = ok(agent.patch(f"{API}{body['id']}/", {"claimant_role": "receiver"}))
    assert (body["claimant"], body["claimant_name"]) == (None, "李*")
    assert ok(agent.get(API, {"tab": "drafts"}))["results"][0]["claimant_name"] == "李*"


# --- who may decide ----------------------------------------------------------------------------------

def test_four_eyes_the_filer_cannot_decide(cw):
    tw = cw.a
    lead = api_as(cw, tw.claims.lead.user)
    filed = ok(lead.post(API, {"ticket": tw.claims.tickets[1].pk, "claim_type": "damage",
                               "claimant_role": "receiver", "claimed_amount": "300"}), 201)
    claim = fetch(tw, Claim, pk=filed["id"])
    for kind, content in DAMAGE_EVIDENCE:
        act(tw, tw.user(Role.AGENT), services.claim_evidence_add, claim=claim, kind=kind, name="f", content=content)
    act(tw, tw.user(Role.AGENT), services.claim_submit, claim=claim)
    act(tw, tw.user(Role.AGENT), services.claim_assess, claim=claim, cause="sorting_damage", assessed_value="300",
        damage_percent="100")
    url = f"{API}{claim.pk}/"
    before = state(tw, claim.pk)
    assert "Four-eyes" in denied(lead.post(f"{url}approve/", {}))
    assert "Four-eyes" in denied(lead.post(f"{url}reject/", {"reason": "不赔"}))
    assert "Team lead" in denied(api(cw).post(f"{url}approve/", {}))  # an agent who leads no team
    assert state(tw, claim.pk) == before
    body = ok(api(cw, Role.BRANCH_MANAGER).post(f"{url}approve/", {}))
    assert body["status"] == "approved" and body["decision_level"] == "branch_manager"


def test_approval_levels_follow_the_amount_and_over_cap_needs_headquarters(cw):
    tw = cw.a
    lead, manager, executive = api_as(cw, tw.claims.lead.user), api(cw, Role.BRANCH_MANAGER), api(cw, Role.EXECUTIVE)
    # 1,000 CNY payable by the rules: above a team lead's 500.
    insure(tw, tw.claims.tickets[1], "2000")
    big = damage_claim(tw, ticket=tw.claims.tickets[1], amount="1000", assess_percent="100", assessed_value="1000")
    url = f"{API}{big.pk}/"
    assert ok(lead.get(url))["required_level"] == "branch_manager"
    before = state(tw, big.pk)
    assert "Branch manager" in denied(lead.post(f"{url}approve/", {}))
    assert state(tw, big.pk) == before
    assert ok(manager.post(f"{url}approve/", {}))["decision_level"] == "branch_manager"

    # 150 payable, 250 asked to be approved: above the rules' cap only headquarters may.
    claim = damage_claim(tw, ticket=tw.claims.tickets[2], amount="300", assess_percent="50")
    url = f"{API}{claim.pk}/"
    before = state(tw, claim.pk)
    assert fields(executive.post(f"{url}approve/", {"amount": "250"})) == {"reason"}
    assert fields(executive.post(f"{url}approve/", {"amount": "300.01", "reason": "x"})) == {"amount"}
    assert "Headquarters" in denied(manager.post(f"{url}approve/", {"amount": "250", "reason": "大客户"}))
    assert state(tw, claim.pk) == before
    body = ok(executive.post(f"{url}approve/", {"amount": "250", "reason": "大客户"}))
    assert (body["status"], body["over_cap"], body["decision_level"]) == ("approved", True, "headquarters")

    # The payout: never above the approved amount, and only once.
    pay = {"amount": "250.01", "method": "cash", "payee_name": "李四", "reference": "CASH-1"}
    assert fields(manager.post(f"{url}pay/", pay)) == {"amount"}
    assert fields(manager.post(f"{url}pay/", {**pay, "amount": 250})) == {"amount"}  # a JSON number
    assert fields(manager.post(f"{url}pay/", {**pay, "amount": "200"})) == {"note"}  # less needs a note
    assert fields(manager.post(f"{url}pay/", {**pay, "amount": "250", "paid_at": "2999-01-01T00:00:00Z"})) == {
        "paid_at"}
    with tenant_scope(tw.tenant):
        assert not ClaimPayout.objects.filter(claim_id=claim.pk).exists()
    assert ok(manager.post(f"{url}pay/", {**pay, "amount": "250"}))["status"] == "paid"
    assert fields(manager.post(f"{url}pay/", {**pay, "amount": "1"})) == {"status"}
    with tenant_scope(tw.tenant):
        assert ClaimPayout.objects.filter(claim_id=claim.pk).count() == 1


def test_bad_input_names_the_field_and_changes_nothing(cw):
    tw = cw.a
    agent = api(cw)
    ticket = tw.claims.tickets[0].pk
    good = {"ticket": ticket, "claim_type": "loss", "claimant_role": "sender", "claimed_amount": "100"}
    assert fields(agent.post(API, {})) == {"ticket", "claim_type", "claimant_role", "claimed_amount"}
    assert fields(agent.post(API, {**good, "claim_type": "theft", "claimant_role": "courier"})) == {
        "claim_type", "claimant_role"}
    for amount in (100.5, 100, "1.234", "abc", "NaN", "-1", "0", "", "١٠٠", "1e3", "12345678901"):
        assert fields(agent.post(API, {**good, "claimed_amount": amount})) == {"claimed_amount"}, amount
    assert fields(agent.post(API, {**good, "ticket": cw.b.claims.tickets[0].pk})) == {"ticket"}
    assert fields(agent.post(API, {**good, "ticket": 2**63})) == {"ticket"}
    assert fields(agent.post(API, {**good, "description": "x\x00y"})) == {"description"}
    with tenant_scope(tw.tenant):
        Waybill.objects.filter(pk=tw.claims.tickets[0].waybill_id).update(shipped_at="2020-01-01T00:00:00Z")
    assert fields(agent.post(API, good)) == {"ticket"}  # the filing window has passed
    for t in (tw, cw.b):
        with tenant_scope(t.tenant):
            assert not Claim.objects.exists()

    claim = damage_claim(tw, ticket=tw.claims.tickets[1])
    url = f"{API}{claim.pk}/"
    before = state(tw, claim.pk)
    assert fields(agent.post(f"{url}assess/", {"cause": "aliens", "assessed_value": "-1",
                                               "damage_percent": "101"})) == {
        "cause", "assessed_value", "damage_percent"}
    assert fields(agent.post(f"{url}assess/", {"cause": "sorting_damage", "assessed_value": "300"})) == {
        "damage_percent"}
    assert fields(agent.post(f"{url}assess/", {"cause": "sorting_damage", "damage_percent": "50"})) == {
        "assessed_value"}
    assert fields(agent.post(f"{url}approve/", {"amount": "abc"})) == {"amount"}
    assert fields(api(cw, Role.BRANCH_MANAGER).post(f"{url}approve/", {})) == {"status"}  # not under review yet
    assert fields(api(cw, Role.BRANCH_MANAGER).post(f"{url}pay/", {"amount": "1", "method": "cash",
                                                                   "payee_name": "x", "reference": "x"})) == {"status"}
    assert fields(agent.patch(url, {"claimed_amount": "1"})) == {"status"}  # only a draft
    assert fields(agent.post(f"{url}submit/")) == {"status"}
    assert state(tw, claim.pk) == before


# --- walls ------------------------------------------------------------------------------------------

def test_another_companys_claim_is_404_everywhere(cw):
    other = damage_claim(cw.b, assess_percent="50")
    before = state(cw.b, other.pk)
    url = f"{API}{other.pk}/"
    # A branch manager holds every claim permission: every route answers 404. A role without
    # an action's permission gets that 403 (as for its own company's claims).
    for role in (Role.BRANCH_MANAGER, Role.TENANT_ADMIN, Role.EXECUTIVE, Role.AGENT):
        client = api(cw, role)
        probes = [
            ("get", url, None), ("patch", url, {"description": "x"}), ("get", f"{url}evidence/", None),
            ("get", f"{url}timeline/", None), ("post", f"{url}submit/", {}), ("post", f"{url}review/", {}),
            ("post", f"{url}assess/", {"cause": "other", "assessed_value": "1", "damage_percent": "1"}),
            ("post", f"{url}approve/", {}), ("post", f"{url}reject/", {"reason": "x"}),
            ("post", f"{url}pay/", {"amount": "1", "method": "cash", "payee_name": "x", "reference": "x"}),
            ("post", f"{url}withdraw/", {"reason": "x"}), ("post", f"{url}notes/", {"body": "x"}),
        ]
        for method, path, data in probes:
            response = getattr(client, method)(path, data) if data is not None else getattr(client, method)(path)
            assert response.status_code in (403, 404), (role, method, path, response.content)
            if role == Role.BRANCH_MANAGER or method == "get":
                assert response.status_code == 404, (role, method, path)
                assert response.json()["error"]["code"] == "not_found"
        assert client.upload(f"{url}evidence/", "photo", PNG).status_code in (403, 404)
        listed = ok(client.get(API, {"tab": "all", "search": other.number}))
        assert listed["results"] == []
        assert ok(client.get(API, {"tab": "all", "branch": cw.b.branch.pk}))["results"] == []
    assert api(cw).upload(f"{url}evidence/", "photo", PNG).status_code == 404
    assert state(cw.b, other.pk) == before
    report = ok(api(cw, Role.EXECUTIVE).get(f"{API}report/", {"branch": cw.b.branch.pk}))
    assert report["totals"]["opened"] == 0 and report["by_branch"] == []
    # impossible ids are 404 like unused ones
    for bad in ("0", str(2**63), "99999999999999999999"):
        assert api(cw).get(f"{API}{bad}/").status_code == 404


@pytest.mark.parametrize("role", READ_ONLY)
def test_read_only_roles_read_but_every_write_is_403(cw, role):
    tw = cw.a
    claim = damage_claim(tw, assess_percent="50")
    draft = damage_claim(tw, ticket=tw.claims.tickets[1], evidence=False, submit=False)
    client = api(cw, role)
    url = f"{API}{claim.pk}/"
    assert ok(client.get(API, {"tab": "all"}))["results"]
    assert ok(client.get(url))["id"] == claim.pk
    assert len(ok(client.get(f"{url}evidence/"))) == 4
    assert ok(client.get(f"{url}timeline/"))
    assert ok(client.get(f"{API}report/"))["totals"]["opened"] == 1
    before, draft_before = state(tw, claim.pk), state(tw, draft.pk)
    writes = [
        ("post", API, {"ticket": tw.claims.tickets[2].pk, "claim_type": "loss", "claimant_role": "sender",
                       "claimed_amount": "10"}),
        ("patch", f"{API}{draft.pk}/", {"claimed_amount": "1"}), ("post", f"{API}{draft.pk}/submit/", {}),
        ("post", f"{url}review/", {}), ("post", f"{url}assess/", {"cause": "other", "assessed_value": "1",
                                                                  "damage_percent": "1"}),
        ("post", f"{url}approve/", {}), ("post", f"{url}reject/", {"reason": "x"}),
        ("post", f"{url}pay/", {"amount": "1", "method": "cash", "payee_name": "x", "reference": "x"}),
        ("post", f"{url}withdraw/", {"reason": "x"}), ("post", f"{url}notes/", {"body": "x"}),
    ]
    for method, path, data in writes:
        denied(getattr(client, method)(path, data))
    denied(client.upload(f"{url}evidence/", "photo", PNG))
    assert (state(tw, claim.pk), state(tw, draft.pk)) == (before, draft_before)
    with tenant_scope(tw.tenant):
        assert Claim.objects.count() == 2


def test_branch_manager_works_their_subtree_only(cw):
    tw = cw.a
    outside_ticket = exception_tickets(tw, 1, prefix="CX", branch=tw.other_branch)[0]
    outside = damage_claim(tw, ticket=outside_ticket, assess_percent="50")
    inside = damage_claim(tw, assess_percent="50")
    assert fetch(tw, Claim, pk=outside.pk).branch_id == tw.other_branch.pk
    manager = api(cw, Role.BRANCH_MANAGER)
    url = f"{API}{outside.pk}/"
    before = state(tw, outside.pk)
    for method, path, data in (("get", url, None), ("get", f"{url}timeline/", None),
                               ("get", f"{url}evidence/", None), ("post", f"{url}approve/", {}),
                               ("post", f"{url}notes/", {"body": "x"}), ("post", f"{url}withdraw/", {"reason": "x"})):
        response = getattr(manager, method)(path, data) if data is not None else getattr(manager, method)(path)
        assert response.status_code == 404, (method, path, response.content)
    assert state(tw, outside.pk) == before
    assert [r["id"] for r in ok(manager.get(API, {"tab": "all"}))["results"]] == [inside.pk]
    assert ok(manager.get(f"{API}report/"))["totals"]["opened"] == 1
    assert fields(manager.post(API, {"ticket": outside_ticket.pk, "claim_type": "delay",
                                     "claimant_role": "sender", "claimed_amount": "10"})) == {"ticket"}
    # The tenant admin sees both.
    assert {r["id"] for r in ok(api(cw, Role.TENANT_ADMIN).get(API, {"tab": "all"}))["results"]} == {
        inside.pk, outside.pk}


# --- the queue ----------------------------------------------------------------------------------------

def test_queue_tabs_filters_sort_cursor_and_counts(cw):
    tw = cw.a
    agent = api(cw)
    extra = exception_tickets(tw, 2, prefix="CQ")
    draft = damage_claim(tw, ticket=tw.claims.tickets[0], amount="50", evidence=False, submit=False)
    submitted = damage_claim(tw, ticket=tw.claims.tickets[1], amount="120")
    assessed = damage_claim(tw, ticket=tw.claims.tickets[2], amount="300", assess_percent="50")
    approved = damage_claim(tw, ticket=extra[0], amount="200", assess_percent="100", assessed_value="200")
    act(tw, tw.user(Role.BRANCH_MANAGER), services.claim_approve, claim=approved)
    delay = act(tw, tw.user(Role.AGENT), services.claim_file, ticket=extra[1], claim_type="delay",
                claimant_role="sender", claimed_amount="12.50")
    delay = act(tw, tw.user(Role.AGENT), services.claim_submit, claim=delay)
    act(tw, tw.user(Role.AGENT), services.claim_withdraw, claim=delay, reason="已送达")
    damage_claim(cw.b, amount="999")

    def ids(**params):
        return [row["id"] for row in ok(agent.get(API, params))["results"]]

    assert set(ids()) == {submitted.pk, assessed.pk}  # the default tab: open
    assert ids(tab="open") == [submitted.pk, assessed.pk]  # the decision clock that runs out first
    assert ids(tab="decide") == [assessed.pk]
    assert ids(tab="pay") == [approved.pk]
    assert ids(tab="drafts") == [draft.pk]
    assert ids(tab="closed") == [delay.pk]
    assert ids(tab="due") == []
    assert ids(tab="all", sort="amount") == [assessed.pk, approved.pk, submitted.pk, draft.pk, delay.pk]
    assert ids(tab="all", claim_type="delay") == [delay.pk]
    assert ids(tab="all", status="under_review") == [assessed.pk]
    assert ids(tab="all", min_amount="100", max_amount="200.00", sort="amount") == [approved.pk, submitted.pk]
    assert ids(tab="all", search=assessed.number.lower()) == [assessed.pk]
    assert ids(tab="all", search=approved.waybill.number) == [approved.pk]
    assert ids(tab="all", search=extra[1].number) == [delay.pk]
    assert ids(tab="all", branch=tw.region.pk, claim_type="damage", sort="new") == [
        approved.pk, assessed.pk, submitted.pk, draft.pk]
    assert ids(tab="all", branch=tw.other_branch.pk) == []
    row = ok(agent.get(API, {"tab": "pay"}))["results"][0]
    assert (row["claimed_amount"], row["computed_amount"], row["approved_amount"]) == ("200.00", "200.00", "200.00")
    assert row["claimant_name"] == "李*" and row["ticket_number"] == extra[0].number

    counted = ok(agent.get(API, {"tab": "all", "counts": "true"}))
    assert counted["counts"] == {"open": 2, "due": 0, "decide": 1, "pay": 1, "drafts": 1, "closed": 1}
    assert "counts" not in ok(agent.get(API, {"tab": "all"}))

    # The cursor walks every claim once, also when the sort column is empty for some (drafts
    # and withdrawn claims have no decision clock).
    for params in ({"tab": "all", "sort": "clock"}, {"tab": "all", "sort": "amount"}, {"tab": "open"},
                   {"tab": "all"}):
        seen, page = [], ok(agent.get(API, {**params, "page_size": 2}))
        seen += [r["id"] for r in page["results"]]
        while page["next"]:
            page = ok(agent.client.get(page["next"]))
            seen += [r["id"] for r in page["results"]]
        assert sorted(seen) == sorted(ids(**params)) and len(seen) == len(set(seen)), params
        assert seen == ids(**params), params

    bad = {"tab": "mine", "claim_type": "theft", "status": "lost", "branch": "abc", "min_amount": "1.234",
           "max_amount": "abc", "search": "C2026\x00", "sort": "oldest", "counts": "maybe"}
    assert fields(agent.get(API, bad)) == set(bad)
    for name, value in (("branch", "٣"), ("branch", "²"), ("branch", "0"), ("branch", str(2**63)),
                        ("min_amount", "١٠٠"), ("max_amount", "NaN"), ("min_amount", "-1"),
                        ("search", "C\x01"), ("search", "x" * 61)):
        assert fields(agent.get(API, {name: value})) == {name}, (name, value)


def test_queue_costs_the_same_queries_for_3_or_15_claims(cw):
    tw = cw.a
    agent = api(cw)
    tickets = tw.claims.tickets + exception_tickets(tw, 2, prefix="CN")

    def file(ticket, claim_type):
        return act(tw, tw.user(Role.AGENT), services.claim_file, ticket=ticket, claim_type=claim_type,
                   claimant_role="receiver", claimed_amount="100")

    for claim_type in ("loss", "damage", "delay"):
        file(tickets[0], claim_type)

    def counted(params):
        with CaptureQueriesContext(connection) as queries:
            body = ok(agent.get(API, params))
        return len(queries), len(body["results"])

    counted({"tab": "all"})  # the first request of a session warms caches (keys, rules)
    small = counted({"tab": "all", "counts": "true"})
    small_detail = counted_detail(agent, tw)
    for ticket in tickets[1:]:
        for claim_type in ("loss", "damage", "delay"):
            file(ticket, claim_type)
    large = counted({"tab": "all", "counts": "true"})
    assert (small[1], large[1]) == (3, 15)
    assert small[0] == large[0]
    assert counted_detail(agent, tw) == small_detail


def counted_detail(agent, tw) -> int:
    with tenant_scope(tw.tenant):
        first = Claim.objects.order_by("pk").first()
    with CaptureQueriesContext(connection) as queries:
        ok(agent.get(f"{API}{first.pk}/"))
    return len(queries)


# --- the report ---------------------------------------------------------------------------------------

def test_report_counts_and_sums_what_became_of_the_claims(cw):
    tw = cw.a
    executive, manager = api(cw, Role.EXECUTIVE), api(cw, Role.BRANCH_MANAGER)
    extra = exception_tickets(tw, 1, prefix="CR")
    paid = damage_claim(tw, ticket=tw.claims.tickets[0], amount="300", assess_percent="50")
    act(tw, tw.claims.lead.user, services.claim_approve, claim=paid)
    act(tw, tw.user(Role.BRANCH_MANAGER), services.claim_pay, claim=paid, amount="150", method="cash",
        payee_name="李四", reference="R1")
    rejected = damage_claim(tw, ticket=tw.claims.tickets[1], amount="120")
    act(tw, tw.claims.lead.user, services.claim_review_start, claim=rejected)
    act(tw, tw.claims.lead.user, services.claim_reject, claim=rejected, reason="无破损证据")
    partial = damage_claim(tw, ticket=tw.claims.tickets[2], amount="200", assess_percent="40")  # 120 payable
    act(tw, tw.user(Role.BRANCH_MANAGER), services.claim_approve, claim=partial, amount="100", reason="包装不合规")
    damage_claim(tw, ticket=extra[0], amount="80", evidence=False, submit=False)  # a draft: not counted
    damage_claim(cw.b, amount="777", assess_percent="50")

    report = ok(executive.get(f"{API}report/"))
    assert report["totals"] == {"opened": 3, "claimed_amount": "620.00", "approved": 2, "approved_amount": "250.00",
                                "rejected": 1, "paid": 1, "paid_amount": "150.00"}
    assert [(r["claim_type"], r["opened"], r["paid_amount"]) for r in report["by_type"]] == [("damage", 3, "150.00")]
    assert [(r["branch"], r["branch_name"], r["opened"]) for r in report["by_branch"]] == [
        (tw.branch.pk, tw.branch.name, 3)]
    assert len(report["by_month"]) == 1 and report["by_month"][0]["opened"] == 3
    # the rejected claim was never assessed: no cause
    assert report["top_causes"] == [{"cause": "sorting_damage", "label": "Damaged in sorting", "claims": 2,
                                     "paid_amount": "150.00"}]
    assert report["average_days_to_decision"] == "0.0"
    assert (report["date_from"], report["date_to"], report["branch"]) == (None, None, None)
    assert ok(manager.get(f"{API}report/"))["totals"]["opened"] == 3  # all in the manager's branch

    with tenant_scope(tw.tenant):
        filed_on = Claim.objects.get(pk=paid.pk).created_at.astimezone().date()
    later = ok(executive.get(f"{API}report/", {"date_from": "2999-01-01"}))
    assert later["totals"] == {"opened": 0, "claimed_amount": "0.00", "approved": 0, "approved_amount": "0.00",
                               "rejected": 0, "paid": 0, "paid_amount": "0.00"}
    assert later["average_days_to_decision"] is None and later["date_from"] == "2999-01-01"
    assert ok(executive.get(f"{API}report/", {"date_to": str(filed_on.replace(year=filed_on.year - 1))}))[
        "totals"]["opened"] == 0
    assert ok(executive.get(f"{API}report/", {"branch": tw.other_branch.pk}))["totals"]["opened"] == 0
    assert ok(executive.get(f"{API}report/", {"branch": tw.region.pk}))["totals"]["opened"] == 3
    bad = executive.get(f"{API}report/", {"date_from": "2026-13-01", "date_to": "yesterday", "branch": "x"})
    assert fields(bad) == {"date_from", "date_to", "branch"}
