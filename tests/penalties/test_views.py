"""The fines pages over HTTP with two companies present (DOMAIN.md §5): the list per role, proposing
through the form (errors keep what was typed and create nothing), four-eyes on the case page,
appeal and decision, payments, voids, evidence, the other company's wall (404 on every route),
the auditor's ledger with its filters and totals, the chain badge and "verify now", signed
checkpoints with the public key, the logged CSV/XLSX export, the catalogue with its versions, and
query-count guards that do not grow with the number of rows."""
from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from compliance.models import AccessLog
from penalties import services, signing
from penalties.models import (
    Appeal,
    AppealStatus,
    CaseStatus,
    EntryKind,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerVerification,
    VerificationStatus,
    ViolationCase,
    ViolationEvidence,
    ViolationType,
)
from tenancy.models import Role
from tenancy.scoping import tenant_scope

from .fines_world import PDF, PNG, act, confirmed, proposed, seed_catalogue, vtype

pytestmark = pytest.mark.django_db

ACTIONS = ("confirm", "appeal", "decide", "void", "pay", "evidence", "note")


@pytest.fixture
def fw(world):
    seed_catalogue(world)
    return world


# --- helpers -------------------------------------------------------------------------------------

def _client(world, tw, role_or_user):
    user = tw.user(role_or_user) if isinstance(role_or_user, str) else role_or_user
    return world.client_for(user, tw.tenant)


def _against_branch(tw, branch, *, by=Role.EXECUTIVE, **kwargs):
    """A fine proposed against a branch (fines_world.proposed's subject_role=None looks the None role up)."""
    return proposed(tw, subject_kind="branch", subject_membership=None, branch=branch, by=by, **kwargs)


def _case_url(case) -> str:
    return reverse("penalties:case", args=[case.pk])


def _post(client, case, action, **data):
    return client.post(_case_url(case), {"action": action, **{f"{action}-{k}": v for k, v in data.items()}})


def _reload(tw, case) -> ViolationCase:
    with tenant_scope(tw.tenant):
        return ViolationCase.objects.get(pk=case.pk)


def _entries(tw, case) -> list[tuple[str, Decimal]]:
    with tenant_scope(tw.tenant):
        return list(LedgerEntry.objects.filter(case_id=case.pk).order_by("sequence").values_list("kind", "amount"))


def _count(tw, model, **filters) -> int:
    with tenant_scope(tw.tenant):
        return model.objects.filter(**filters).count()


def _shown_cases(response) -> set[int]:
    return {int(pk) for pk in re.findall(r'<tr data-case="(\d+)"', response.content.decode())}


def _stat(response, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">([^<]*)<', response.content.decode())
    assert match, element_id
    return match.group(1).strip()


def _form_errors(response, name: str = "form") -> dict:
    return response.context[name].errors


def _action_inputs(response) -> set[str]:
    return set(re.findall(r'name="action" value="(\w+)"', response.content.decode()))


# --- the list, per role --------------------------------------------------------------------------

def test_fines_list_shows_each_role_what_it_reaches(fw):
    tw = fw.a
    mine = confirmed(tw)                                                          # the agent, branch B1
    sibling = _against_branch(tw, tw.other_branch, amount="300.00")         # branch B2
    at_hq = proposed(tw, subject_role=Role.SALES_MANAGER, by=Role.EXECUTIVE, code="DATA_LEAK", amount="6000.00")
    other_company = confirmed(fw.b)

    agent = _client(fw, tw, Role.AGENT)
    page = agent.get(reverse("penalties:cases"))
    assert page.status_code == 200
    assert page.context["tab"] == "mine"
    assert [key for key, _label, _n in page.context["tabs"]] == ["mine"]
    assert _shown_cases(page) == {mine.pk}
    assert b'id="fine-propose"' not in page.content
    # asking for another tab shows no more than the agent's own fines
    for tab in ("all", "open", "proposed"):
        assert _shown_cases(agent.get(reverse("penalties:cases") + f"?tab={tab}")) <= {mine.pk}
    assert agent.get(_case_url(mine)).status_code == 200
    for case in (sibling, at_hq, other_company):
        assert agent.get(_case_url(case)).status_code == 404

    manager = _client(fw, tw, Role.BRANCH_MANAGER)
    page = manager.get(reverse("penalties:cases") + "?tab=all")
    assert page.status_code == 200 and b'id="fine-propose"' in page.content
    assert _shown_cases(page) == {mine.pk}
    assert {key for key, _label, _n in page.context["tabs"]} == {"open", "proposed", "appealed", "mine", "all"}
    assert manager.get(_case_url(sibling)).status_code == 404

    auditor = _client(fw, tw, Role.AUDITOR)
    page = auditor.get(reverse("penalties:cases") + "?tab=all")
    assert page.status_code == 200
    assert _shown_cases(page) == {mine.pk, sibling.pk, at_hq.pk}
    assert b'id="fine-propose"' not in page.content
    assert _shown_cases(auditor.get(reverse("penalties:cases") + "?tab=proposed")) == {sibling.pk, at_hq.pk}
    assert _shown_cases(auditor.get(reverse("penalties:cases") + "?tab=all&tier=general")) == {mine.pk}
    assert _shown_cases(auditor.get(reverse("penalties:cases") + "?tab=all&tier=serious")) == {at_hq.pk}
    assert _shown_cases(auditor.get(reverse("penalties:cases") + "?tab=all&status=confirmed")) == {mine.pk}
    assert _shown_cases(auditor.get(reverse("penalties:cases") + f"?tab=all&q={at_hq.number}")) == {at_hq.pk}
    assert auditor.get(reverse("penalties:propose")).status_code == 403
    # the auditor reads a case but is offered no action, and cannot take one
    for case in (mine, sibling):
        page = auditor.get(_case_url(case))
        assert page.status_code == 200
        assert _action_inputs(page) == set()
        assert b'id="case-confirm-button"' not in page.content and b'id="void-button"' not in page.content
    assert _post(auditor, sibling, "confirm", note="").status_code == 403
    assert _reload(tw, sibling).status == CaseStatus.PROPOSED
    assert auditor.get(_case_url(other_company)).status_code == 404

    # the other company's executive sees only their own company's fine
    page = _client(fw, fw.b, Role.EXECUTIVE).get(reverse("penalties:cases") + "?tab=all")
    assert _shown_cases(page) == {other_company.pk}


def test_appeals_list_per_role(fw):
    tw = fw.a
    case = confirmed(tw)
    act(tw, tw.user(Role.AGENT), services.case_appeal, case=case, grounds="扫描枪故障")
    page = _client(fw, tw, Role.AUDITOR).get(reverse("penalties:appeals"))
    assert page.status_code == 200 and case.number.encode() in page.content
    assert _client(fw, tw, Role.AGENT).get(reverse("penalties:appeals")).status_code == 403
    assert case.number.encode() not in _client(fw, fw.b, Role.AUDITOR).get(reverse("penalties:appeals")).content


# --- rows written by no person (detectors, the scheduler, the default catalogue) --------------------------
# Templates that read `x.display_name|default:x.username` raise VariableDoesNotExist (a 500) when x
# is None: a filter's *argument* is not silenced the way the variable itself is.

def test_case_page_of_a_detector_proposal(fw):
    tw = fw.a
    with tenant_scope(tw.tenant):
        case = services.case_propose(actor=None, detector="tracking_gap", detection_key="test:tracking:1",
                                     violation_type=vtype(tw, "TRACKING_LATE"), subject_kind="employee",
                                     subject_membership=tw.members[Role.AGENT], amount="200.00",
                                     description="到件扫描超过 24 小时未上传", occurred_on=timezone.localdate())
    manager = _client(fw, tw, Role.BRANCH_MANAGER)
    page = manager.get(reverse("penalties:cases") + "?tab=proposed")
    assert page.status_code == 200 and _shown_cases(page) == {case.pk}
    page = manager.get(_case_url(case))
    assert page.status_code == 200
    assert b'id="case-confirm-button"' in page.content and b'id="case-timeline"' in page.content


def test_default_catalogue_entry_page(fw):
    """The default catalogue is loaded by no one (changed_by is None on its first versions)."""
    tw = fw.a
    entry = vtype(tw, "FAKE_SCAN")
    for role in (Role.TENANT_ADMIN, Role.AGENT):
        page = _client(fw, tw, role).get(reverse("penalties:violation_type", args=[entry.pk]))
        assert page.status_code == 200, role
        assert len(page.context["versions"]) == 1


def test_verifications_page_with_a_scheduled_run(fw):
    """The nightly run (and the demo's) has no requesting person."""
    tw = fw.a
    confirmed(tw)
    with tenant_scope(tw.tenant):
        run = services.ledger_verification_run(source="schedule")
    assert run.requested_by_id is None and run.status == VerificationStatus.PASSED
    page = _client(fw, tw, Role.AUDITOR).get(reverse("penalties:verifications"))
    assert page.status_code == 200 and b'id="verifications-table"' in page.content


# --- proposing ------------------------------------------------------------------------------------

def _proposal(tw, **changes) -> dict:
    data = {"violation_type": vtype(tw, "FALSE_ADDRESS").pk, "subject_kind": "employee",
            "subject_membership": tw.members[Role.AGENT].pk, "branch": "", "amount": "300.00",
            "out_of_range_reason": "", "occurred_on": timezone.localdate().isoformat(),
            "description": "收件地址与面单不符（测试）", "ticket_number": "", "waybill_number": ""}
    data.update(changes)
    return data


def test_propose_through_the_form(fw):
    tw = fw.a
    manager = _client(fw, tw, Role.BRANCH_MANAGER)
    url = reverse("penalties:propose")
    assert manager.get(url).status_code == 200

    refused = [
        ({"amount": "12.345"}, "amount"),                       # three decimals
        ({"amount": "abc"}, "amount"),
        ({"amount": "9999.00"}, "out_of_range_reason"),         # FALSE_ADDRESS: 100–2000, no reason
        ({"occurred_on": (timezone.localdate() + dt.timedelta(days=2)).isoformat()}, "occurred_on"),
        ({"description": "  "}, "description"),
        ({"subject_membership": tw.members[Role.EXECUTIVE].pk}, "subject_membership"),   # outside the subtree
        ({"subject_membership": tw.members[Role.BRANCH_MANAGER].pk}, "subject_membership"),   # oneself
        ({"subject_membership": fw.b.members[Role.AGENT].pk}, "subject_membership"),   # the other company's
        ({"waybill_number": "NOPE000000"}, "waybill_number"),
    ]
    for changes, field in refused:
        response = manager.post(url, _proposal(tw, **changes))
        assert response.status_code == 400, (changes, response.status_code)
        assert field in _form_errors(response), (changes, _form_errors(response))
        html = response.content.decode()
        assert "is-invalid" in html and "invalid-feedback" in html
        for name, value in changes.items():
            if name in ("amount", "occurred_on", "waybill_number"):       # what was typed is kept
                assert f'value="{value}"' in html, (name, value)
        if "description" not in changes:
            assert "收件地址与面单不符（测试）" in html
    assert _count(tw, ViolationCase) == 0

    done = manager.post(url, _proposal(tw, amount="9999.00", out_of_range_reason="第三次重复违规"))
    assert done.status_code == 302
    with tenant_scope(tw.tenant):
        case = ViolationCase.objects.get()
    assert done["Location"] == _case_url(case)
    assert case.status == CaseStatus.PROPOSED and case.proposed_by == tw.user(Role.BRANCH_MANAGER)
    assert case.amount == Decimal("9999.00") and case.tier == "serious"
    assert case.out_of_range_reason == "第三次重复违规"
    assert _entries(tw, case) == []               # a proposal owes nothing yet

    # an empty amount takes the catalogue's default
    assert manager.post(url, _proposal(tw, amount="")).status_code == 302
    with tenant_scope(tw.tenant):
        assert ViolationCase.objects.order_by("-id").first().amount == Decimal("300.00")
    # an agent cannot propose at all
    agent = _client(fw, tw, Role.AGENT)
    assert agent.get(url).status_code == 403
    assert agent.post(url, _proposal(tw, subject_membership=tw.members[Role.SALES_MANAGER].pk)).status_code == 403
    assert _count(tw, ViolationCase) == 2


# --- four-eyes, appeal, decision --------------------------------------------------------------------

def test_four_eyes_in_the_page(fw):
    tw = fw.a
    case = proposed(tw)                                            # by the branch manager
    proposer = _client(fw, tw, Role.BRANCH_MANAGER)
    page = proposer.get(_case_url(case))
    assert page.status_code == 200
    assert b'id="case-four-eyes"' in page.content and b'id="case-confirm-button"' not in page.content

    refused = _post(proposer, case, "confirm", note="我自己确认")
    assert refused.status_code == 403
    assert refused.context["forms"]["confirm"].non_field_errors()
    assert _reload(tw, case).status == CaseStatus.PROPOSED and _entries(tw, case) == []

    # the person fined cannot confirm either
    assert _post(_client(fw, tw, Role.AGENT), case, "confirm", note="").status_code == 403
    assert _reload(tw, case).status == CaseStatus.PROPOSED

    executive = _client(fw, tw, Role.EXECUTIVE)
    page = executive.get(_case_url(case))
    assert b'id="case-confirm-button"' in page.content and b'id="case-four-eyes"' not in page.content
    done = _post(executive, case, "confirm", note="监控已核实")
    assert done.status_code == 302 and done["Location"] == _case_url(case)
    fresh = _reload(tw, case)
    assert fresh.status == CaseStatus.CONFIRMED and fresh.confirmed_by == tw.user(Role.EXECUTIVE)
    assert _entries(tw, case) == [(EntryKind.FINE_ISSUED, Decimal("1000.00"))]
    page = executive.get(_case_url(case))
    assert b'id="case-confirmed"' in page.content and b'data-entry="' in page.content
    # confirming twice is refused and writes nothing more
    assert _post(executive, case, "confirm", note="").status_code == 400
    assert len(_entries(tw, case)) == 1


def test_appeal_by_the_subject_decided_by_someone_other_than_the_confirmer(fw):
    tw = fw.a
    case = confirmed(tw)                                   # proposed by the manager, confirmed by the executive
    agent = _client(fw, tw, Role.AGENT)
    page = agent.get(_case_url(case))
    assert b'id="appeal-button"' in page.content and _action_inputs(page) == {"appeal"}

    bad = _post(agent, case, "appeal", grounds="扫描枪故障，非本人操作", requested_amount="12.345")
    assert bad.status_code == 400 and "requested_amount" in bad.context["forms"]["appeal"].errors
    assert "扫描枪故障，非本人操作" in bad.content.decode() and 'value="12.345"' in bad.content.decode()
    too_much = _post(agent, case, "appeal", grounds="扫描枪故障", requested_amount="1000.00")
    assert too_much.status_code == 400 and "requested_amount" in too_much.context["forms"]["appeal"].errors
    assert _count(tw, Appeal) == 0 and _reload(tw, case).status == CaseStatus.CONFIRMED

    assert _post(agent, case, "appeal", grounds="扫描枪故障，非本人操作", requested_amount="200").status_code == 302
    assert _reload(tw, case).status == CaseStatus.APPEALED
    with tenant_scope(tw.tenant):
        appeal = Appeal.objects.get(case_id=case.pk)
    assert appeal.filed_by == tw.user(Role.AGENT) and not appeal.on_behalf
    assert appeal.requested_amount == Decimal("200.00")
    # a second appeal is not offered nor taken
    assert _post(agent, case, "appeal", grounds="再次申诉").status_code == 400
    assert _count(tw, Appeal) == 1

    confirmer = _client(fw, tw, Role.EXECUTIVE)
    page = confirmer.get(_case_url(case))
    assert b'id="appeal-waiting"' in page.content and b'id="decide-form"' not in page.content
    refused = _post(confirmer, case, "decide", outcome="upheld", reduced_to="", reason="维持原处罚")
    assert refused.status_code == 403
    assert _reload(tw, case).status == CaseStatus.APPEALED
    # the person fined cannot decide their own appeal (nor has the right to)
    assert _post(agent, case, "decide", outcome="overturned", reduced_to="", reason="x").status_code == 403

    decider = _client(fw, tw, Role.BRANCH_MANAGER)
    page = decider.get(_case_url(case))
    assert b'id="decide-form"' in page.content
    bad = _post(decider, case, "decide", outcome="reduced", reduced_to="1500", reason="部分属实")
    assert bad.status_code == 400 and "reduced_to" in bad.context["forms"]["decide"].errors
    assert 'value="1500"' in bad.content.decode() and "部分属实" in bad.content.decode()
    assert _reload(tw, case).status == CaseStatus.APPEALED
    done = _post(decider, case, "decide", outcome="reduced", reduced_to="400", reason="扫描枪故障属实，减轻处罚")
    assert done.status_code == 302
    fresh = _reload(tw, case)
    assert fresh.status == CaseStatus.REDUCED and fresh.amount == Decimal("400.00")
    assert _entries(tw, case) == [(EntryKind.FINE_ISSUED, Decimal("1000.00")),
                                  (EntryKind.FINE_REDUCED, Decimal("-600.00"))]
    with tenant_scope(tw.tenant):
        appeal.refresh_from_db()
    assert appeal.status == AppealStatus.REDUCED and appeal.decided_by == tw.user(Role.BRANCH_MANAGER)
    page = agent.get(_case_url(case))
    assert b'id="appeal-decision"' in page.content and _stat(page, "case-outstanding") == "400.00"


# --- payments and voids -----------------------------------------------------------------------------

def test_payment_form(fw):
    tw = fw.a
    case = confirmed(tw)
    manager = _client(fw, tw, Role.BRANCH_MANAGER)
    today = timezone.localdate().isoformat()
    page = manager.get(_case_url(case))
    assert b'id="pay-button"' in page.content

    over = _post(manager, case, "pay", amount="1200.00", method="payroll", paid_on=today, reference="PAY-OVER")
    assert over.status_code == 400 and "amount" in over.context["forms"]["pay"].errors
    assert 'value="PAY-OVER"' in over.content.decode() and 'value="1200.00"' in over.content.decode()
    for amount in ("12.345", "0", "-5"):
        response = _post(manager, case, "pay", amount=amount, method="payroll", paid_on=today, reference="R")
        assert response.status_code == 400, amount
    future = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = _post(manager, case, "pay", amount="100", method="payroll", paid_on=future, reference="R")
    assert response.status_code == 400 and "paid_on" in response.context["forms"]["pay"].errors
    assert _entries(tw, case) == [(EntryKind.FINE_ISSUED, Decimal("1000.00"))]

    # the person fined is offered no payment form and cannot record one
    agent = _client(fw, tw, Role.AGENT)
    assert b'id="pay-button"' not in agent.get(_case_url(case)).content
    assert _post(agent, case, "pay", amount="100", method="cash", paid_on=today, reference="").status_code == 403

    assert _post(manager, case, "pay", amount="400", method="payroll", paid_on=today,
                 reference="工资扣款 1/2").status_code == 302
    fresh = _reload(tw, case)
    assert fresh.status == CaseStatus.CONFIRMED
    page = manager.get(_case_url(case))
    assert _stat(page, "case-outstanding") == "600.00"
    assert _post(manager, case, "pay", amount="600", method="bank_transfer", paid_on=today,
                 reference="工资扣款 2/2").status_code == 302
    assert _reload(tw, case).status == CaseStatus.SETTLED
    assert _entries(tw, case)[1:] == [(EntryKind.PAYMENT_RECEIVED, Decimal("-400.00")),
                                      (EntryKind.PAYMENT_RECEIVED, Decimal("-600.00"))]
    page = manager.get(_case_url(case))
    assert b'id="pay-button"' not in page.content and _stat(page, "case-outstanding") == "0.00"


def test_void(fw):
    tw = fw.a
    pending = proposed(tw)
    in_force = confirmed(tw)
    manager = _client(fw, tw, Role.BRANCH_MANAGER)       # may not void
    assert b'id="void-button"' not in manager.get(_case_url(in_force)).content
    assert _post(manager, in_force, "void", reason="录入错误").status_code == 403

    executive = _client(fw, tw, Role.EXECUTIVE)
    assert b'id="void-button"' in executive.get(_case_url(in_force)).content
    empty = _post(executive, in_force, "void", reason="")
    assert empty.status_code == 400 and "reason" in empty.context["forms"]["void"].errors
    assert _reload(tw, in_force).status == CaseStatus.CONFIRMED

    assert _post(executive, pending, "void", reason="重复提交").status_code == 302
    assert _reload(tw, pending).status == CaseStatus.VOIDED and _entries(tw, pending) == []
    assert _post(executive, in_force, "void", reason="系统同步问题，非人为").status_code == 302
    fresh = _reload(tw, in_force)
    assert fresh.status == CaseStatus.VOIDED and fresh.void_reason == "系统同步问题，非人为"
    assert _entries(tw, in_force) == [(EntryKind.FINE_ISSUED, Decimal("1000.00")),
                                      (EntryKind.FINE_REVERSED, Decimal("-1000.00"))]
    page = executive.get(_case_url(in_force))
    assert _stat(page, "case-outstanding") == "0.00" and b'id="void-button"' not in page.content

    # a fine with a payment cannot be voided
    paid = confirmed(tw)
    act(tw, tw.user(Role.BRANCH_MANAGER), services.case_payment_record, case=paid, amount="100", method="cash")
    assert b'id="void-button"' not in executive.get(_case_url(paid)).content
    assert _post(executive, paid, "void", reason="撤销").status_code == 400
    assert _reload(tw, paid).status == CaseStatus.CONFIRMED


# --- evidence and the other company's wall -------------------------------------------------------------

def test_evidence_upload_and_download(fw):
    tw = fw.a
    case = proposed(tw)
    manager = _client(fw, tw, Role.BRANCH_MANAGER)
    url = _case_url(case)
    for name, content in (("面单照片.png", PNG), ("处罚通知.pdf", PDF)):
        response = manager.post(url, {"action": "evidence", "evidence-description": "现场照片",
                                      "evidence-file": SimpleUploadedFile(name, content)})
        assert response.status_code == 302, response.content.decode()[:300]
    refused = manager.post(url, {"action": "evidence", "evidence-description": "不是图片",
                                 "evidence-file": SimpleUploadedFile("notes.txt", b"just some text")})
    assert refused.status_code == 400 and "file" in refused.context["forms"]["evidence"].errors
    assert "不是图片" in refused.content.decode()
    missing = manager.post(url, {"action": "evidence", "evidence-description": "x"})
    assert missing.status_code == 400
    with tenant_scope(tw.tenant):
        photo, pdf = ViolationEvidence.objects.filter(case_id=case.pk).order_by("id")
    assert (photo.content_type, pdf.content_type) == ("image/png", "application/pdf")

    page = manager.get(url)
    assert reverse("penalties:evidence", args=[case.pk, photo.pk]).encode() in page.content
    shown = manager.get(reverse("penalties:evidence", args=[case.pk, photo.pk]))
    assert shown.status_code == 200 and shown["Content-Type"] == "image/png"
    assert "attachment" not in shown.get("Content-Disposition", "")
    assert shown["X-Content-Type-Options"] == "nosniff" and b"".join(shown.streaming_content) == PNG
    download = _client(fw, tw, Role.AGENT).get(reverse("penalties:evidence", args=[case.pk, pdf.pk]))
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    assert b"".join(download.streaming_content) == PDF

    # evidence of another case through this case's route, and an agent who is not fined: 404
    other = proposed(tw, subject_role=Role.SALES_MANAGER, by=Role.EXECUTIVE)
    assert manager.get(reverse("penalties:evidence", args=[other.pk, photo.pk])).status_code == 404
    assert _client(fw, tw, Role.EXECUTIVE).get(
        reverse("penalties:evidence", args=[other.pk, photo.pk])).status_code == 404
    # the agent (fined) may look but not add; the auditor may look but not add
    assert _client(fw, tw, Role.AUDITOR).post(url, {
        "action": "evidence", "evidence-file": SimpleUploadedFile("x.png", PNG)}).status_code == 403
    assert _count(tw, ViolationEvidence, case_id=case.pk) == 2


def test_other_company_gets_404_on_every_fines_route(fw):
    tw = fw.a
    case = confirmed(tw)
    evidence = act(tw, tw.user(Role.BRANCH_MANAGER), services.case_evidence_add, case=case, name="a.png", content=PNG)
    act(tw, tw.user(Role.AGENT), services.case_appeal, case=case, grounds="不服")
    before = (_entries(tw, case), _reload(tw, case).status)
    today = timezone.localdate().isoformat()
    payloads = {
        "confirm": {"note": "x"}, "appeal": {"grounds": "x", "requested_amount": ""},
        "decide": {"outcome": "overturned", "reduced_to": "", "reason": "x"}, "void": {"reason": "x"},
        "pay": {"amount": "10", "method": "cash", "paid_on": today, "reference": ""}, "note": {"body": "x"},
    }
    for role in (Role.EXECUTIVE, Role.TENANT_ADMIN, Role.AUDITOR, Role.AGENT):
        stranger = _client(fw, fw.b, role)
        assert stranger.get(_case_url(case)).status_code == 404, role
        for action in ACTIONS:
            if action == "evidence":
                response = stranger.post(_case_url(case), {"action": "evidence",
                                                           "evidence-file": SimpleUploadedFile("b.png", PNG)})
            else:
                response = _post(stranger, case, action, **payloads[action])
            assert response.status_code == 404, (role, action)
        assert stranger.get(reverse("penalties:evidence", args=[case.pk, evidence.pk])).status_code == 404, role
        assert case.pk not in _shown_cases(stranger.get(reverse("penalties:cases") + "?tab=all"))
    assert (_entries(tw, case), _reload(tw, case).status) == before
    assert _count(tw, ViolationEvidence) == 1
    # the external auditor, working in company B, cannot reach A's case either
    outsider = fw.client_for(fw.external_auditor, fw.b.tenant)
    assert outsider.get(_case_url(case)).status_code == 404
    assert outsider.get(reverse("penalties:evidence", args=[case.pk, evidence.pk])).status_code == 404


def test_case_page_post_of_an_unknown_action_is_404(fw):
    tw = fw.a
    case = proposed(tw)
    assert _client(fw, tw, Role.EXECUTIVE).post(_case_url(case), {"action": "delete"}).status_code == 404


# --- the ledger -------------------------------------------------------------------------------------------

@pytest.fixture
def booked(fw):
    """Tenant A's ledger: a minor fine part-paid, a general fine reduced on appeal, a serious fine,
    and a fine of the sibling branch (outside the branch manager's subtree); one fine in tenant B."""
    tw = fw.a
    manager = tw.user(Role.BRANCH_MANAGER)
    minor = confirmed(tw, code="ROUGH_HANDLING", amount="500.00")
    act(tw, manager, services.case_payment_record, case=minor, amount="200.00", method="payroll")
    general = confirmed(tw, code="FAKE_SCAN", amount="2000.00")
    act(tw, tw.user(Role.AGENT), services.case_appeal, case=general, grounds="扫描枪故障")
    act(tw, manager, services.appeal_decide, case=general, outcome="reduced", reduced_to="1500.00", reason="减轻")
    serious = confirmed(tw, code="DATA_LEAK", amount="6000.00")
    sibling = _against_branch(tw, tw.other_branch, code="TRACKING_LATE", amount="300.00")
    act(tw, tw.user(Role.TENANT_ADMIN), services.case_confirm, case=sibling)
    confirmed(fw.b, amount="777.00")
    return {"minor": minor, "general": general, "serious": serious, "sibling": sibling}


def _totals(response) -> tuple[str, str, str, str]:
    return tuple(_stat(response, f"total-{name}") for name in ("issued", "reduced", "paid", "balance"))


def _ledger_rows(response) -> list[int]:
    return [int(s) for s in re.findall(r'<tr data-entry="(\d+)"', response.content.decode())]


def test_ledger_page_filters_and_totals(fw, booked):
    tw = fw.a
    auditor = _client(fw, tw, Role.AUDITOR)
    url = reverse("penalties:ledger")
    page = auditor.get(url)
    assert page.status_code == 200
    # issued 500 + 2000 + 6000 + 300; reduced −500; paid −200
    assert _totals(page) == ("8800.00", "-500.00", "-200.00", "8100.00")
    assert _ledger_rows(page) == [6, 5, 4, 3, 2, 1]          # newest first, B's entry not here
    by_tier = {row["tier"]: (row["issued"], row["balance"]) for row in page.context["totals"]["by_tier"]}
    assert by_tier == {"minor": (Decimal("800.00"), Decimal("600.00")),
                       "general": (Decimal("2000.00"), Decimal("1500.00")),
                       "serious": (Decimal("6000.00"), Decimal("6000.00"))}
    assert b'id="totals-tier"' in page.content and b'id="export-csv"' in page.content

    page = auditor.get(url + "?tier=serious")
    assert _totals(page) == ("6000.00", "0.00", "0.00", "6000.00") and len(_ledger_rows(page)) == 1
    assert "tier=serious" in page.context["query"]
    assert "tier=serious" in re.search(r'id="export-csv" href="([^"]+)"', page.content.decode()).group(1)
    page = auditor.get(url + "?tier=minor")
    assert _totals(page) == ("800.00", "0.00", "-200.00", "600.00")
    page = auditor.get(url + "?kind=payment_received")
    assert _totals(page) == ("0.00", "0.00", "-200.00", "-200.00")
    page = auditor.get(url + f"?violation_type={vtype(tw, 'FAKE_SCAN').pk}")
    assert _totals(page) == ("2000.00", "-500.00", "0.00", "1500.00")
    page = auditor.get(url + f"?branch={tw.other_branch.pk}")
    assert _totals(page) == ("300.00", "0.00", "0.00", "300.00")
    page = auditor.get(url + f"?subject={tw.members[Role.AGENT].pk}&status=reduced")
    assert _totals(page) == ("2000.00", "-500.00", "0.00", "1500.00")
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    assert _totals(auditor.get(url + f"?date_from={tomorrow}")) == ("0.00", "0.00", "0.00", "0.00")
    # an invalid filter shows its error and the unfiltered ledger
    page = auditor.get(url + "?date_from=2025-13-45&tier=nonsense")
    assert page.status_code == 200 and {"date_from", "tier"} <= set(page.context["form"].errors)
    assert _totals(page)[0] == "8800.00"
    # a branch's id from the other company is not a choice here
    page = auditor.get(url + f"?branch={fw.b.branch.pk}")
    assert "branch" in page.context["form"].errors

    # the branch manager sees their subtree only; the agent no ledger at all
    page = _client(fw, tw, Role.BRANCH_MANAGER).get(url)
    assert page.status_code == 200 and _totals(page) == ("8500.00", "-500.00", "-200.00", "7800.00")
    assert b'id="export-csv"' not in page.content and b'id="chain-verify"' not in page.content
    assert _client(fw, tw, Role.AGENT).get(url).status_code == 403
    # tenant B's auditor sees B's one entry
    assert _totals(_client(fw, fw.b, Role.AUDITOR).get(url)) == ("777.00", "0.00", "0.00", "777.00")


def test_chain_badge_and_verify_now(fw, booked, django_capture_on_commit_callbacks):
    tw = fw.a
    auditor = _client(fw, tw, Role.AUDITOR)
    badge = auditor.get(reverse("penalties:chain_badge"))
    assert badge.status_code == 200
    html = badge.content.decode()
    assert html.lstrip().startswith('<div id="chain-badge"') and "<html" not in html
    assert 'data-state="unverified"' in html and 'id="chain-verify"' in html and "hx-get" not in html

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = auditor.post(reverse("penalties:verify"))
    assert response.status_code == 302 and response["Location"] == reverse("penalties:ledger")
    assert len(callbacks) == 1                   # handed to a worker after commit
    with tenant_scope(tw.tenant):
        verification = LedgerVerification.objects.get()
    assert verification.status == VerificationStatus.QUEUED and verification.requested_by == tw.user(Role.AUDITOR)
    html = auditor.get(reverse("penalties:chain_badge")).content.decode()
    assert 'id="chain-pending"' in html and "hx-get" in html and 'id="chain-verify"' not in html
    assert b'id="chain-pending"' in auditor.get(reverse("penalties:ledger")).content

    # who may not ask for a verification
    for role in (Role.AGENT, Role.BRANCH_MANAGER, Role.SALES_MANAGER):
        assert _client(fw, tw, role).post(reverse("penalties:verify")).status_code == 403, role
    assert _client(fw, tw, Role.AGENT).get(reverse("penalties:chain_badge")).status_code == 403
    assert auditor.get(reverse("penalties:verify")).status_code == 405
    assert _count(tw, LedgerVerification) == 1

    # the worker runs it: the badge shows the chain intact, the history lists the run
    with tenant_scope(tw.tenant):
        services.ledger_verification_run(verification_id=verification.pk)
    html = auditor.get(reverse("penalties:chain_badge")).content.decode()
    assert 'data-state="intact"' in html and 'id="chain-pending"' not in html
    history = auditor.get(reverse("penalties:verifications"))
    assert history.status_code == 200 and b'id="verifications-table"' in history.content
    assert _client(fw, tw, Role.BRANCH_MANAGER).get(reverse("penalties:verifications")).status_code == 403
    # the other company's badge knows nothing of it
    assert 'data-state="unverified"' in _client(fw, fw.b, Role.AUDITOR).get(
        reverse("penalties:chain_badge")).content.decode()


def test_checkpoints_page_json_and_public_key(fw, booked):
    tw = fw.a
    with tenant_scope(tw.tenant):
        first = services.ledger_checkpoint_create()
    act(tw, tw.user(Role.BRANCH_MANAGER), services.case_payment_record, case=booked["serious"], amount="1000",
        method="cash")
    with tenant_scope(tw.tenant):
        second = services.ledger_checkpoint_create()
    assert first is not None and second is not None and second.sequence > first.sequence

    auditor = _client(fw, tw, Role.AUDITOR)
    page = auditor.get(reverse("penalties:checkpoints"))
    assert page.status_code == 200
    assert signing.current_key_id().encode() in page.content
    assert b'id="checkpoints-download"' in page.content and b'id="public-key-download"' in page.content

    download = auditor.get(reverse("penalties:checkpoints_download"))
    assert download.status_code == 200 and download["Content-Type"] == "application/json"
    assert download["Content-Disposition"].startswith('attachment; filename="ledger-checkpoints-')
    document = json.loads(download.content)
    assert document["format"] == signing.MESSAGE_TAG and document["tenant_id"] == tw.tenant.pk
    assert document["public_keys"] == {signing.current_key_id(): signing.public_key_b64()}
    assert [c["sequence"] for c in document["checkpoints"]] == [first.sequence, second.sequence]
    for item, checkpoint in zip(document["checkpoints"], (first, second), strict=True):
        assert item["signature"] == bytes(checkpoint.signature).hex()
        assert item["head_hash"] == checkpoint.head_hash_hex and item["key_id"] == checkpoint.key_id

    # verify a signature from the file alone, as an auditor outside the system would
    item = document["checkpoints"][-1]
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(document["public_keys"][item["key_id"]]))
    message = signing.checkpoint_message(tenant_id=document["tenant_id"], sequence=item["sequence"],
                                         head_hash=bytes.fromhex(item["head_hash"]),
                                         signed_at=dt.datetime.fromisoformat(item["signed_at"]))
    public.verify(bytes.fromhex(item["signature"]), message)
    assert signing.signature_valid(key_id=item["key_id"], message=message, signature=bytes.fromhex(item["signature"]))
    forged = signing.checkpoint_message(tenant_id=document["tenant_id"], sequence=item["sequence"] + 1,
                                        head_hash=bytes.fromhex(item["head_hash"]),
                                        signed_at=dt.datetime.fromisoformat(item["signed_at"]))
    with pytest.raises(InvalidSignature):
        public.verify(bytes.fromhex(item["signature"]), forged)

    pem = auditor.get(reverse("penalties:public_key"))
    assert pem.status_code == 200 and pem["Content-Type"] == "application/x-pem-file"
    assert "attachment" in pem["Content-Disposition"] and signing.current_key_id() in pem["Content-Disposition"]
    assert pem.content.decode() == signing.public_key_pem()
    loaded = serialization.load_pem_public_key(pem.content)
    raw = loaded.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert base64.b64encode(raw).decode() == document["public_keys"][item["key_id"]]

    # the other company's file holds none of these; an agent gets none of it
    other = json.loads(_client(fw, fw.b, Role.AUDITOR).get(reverse("penalties:checkpoints_download")).content)
    assert other["tenant_id"] == fw.b.tenant.pk and other["checkpoints"] == []
    agent = _client(fw, tw, Role.AGENT)
    for name in ("checkpoints", "checkpoints_download", "public_key"):
        assert agent.get(reverse(f"penalties:{name}")).status_code == 403, name
    with tenant_scope(tw.tenant):
        assert LedgerCheckpoint.objects.count() == 2


def _export_logs(tw) -> list[AccessLog]:
    with tenant_scope(tw.tenant):
        return list(AccessLog.objects.filter(target_type="penalties.ledgerentry").order_by("id"))


def test_ledger_export_csv_and_xlsx(fw, booked):
    import openpyxl

    tw = fw.a
    with tenant_scope(tw.tenant):
        entries = list(LedgerEntry.objects.order_by("sequence"))
    hashes = [e.entry_hash_hex for e in entries]
    auditor = _client(fw, tw, Role.AUDITOR)
    url = reverse("penalties:export")

    response = auditor.get(url + "?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"] and response["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert [row[header.index("entry_hash")] for row in body] == hashes
    assert [row[header.index("prev_hash")] for row in body][1:] == hashes[:-1]
    logs = _export_logs(tw)
    assert len(logs) == 1
    assert logs[0].action == "export" and logs[0].actor == tw.user(Role.AUDITOR)
    assert sorted(logs[0].export_ids) == sorted(e.pk for e in entries)

    response = auditor.get(url + "?format=xlsx&tier=serious")
    assert response.status_code == 200 and "spreadsheetml" in response["Content-Type"]
    sheet = [[cell.value for cell in row] for row in openpyxl.load_workbook(io.BytesIO(response.content)).active.rows]
    column = sheet[0].index("entry_hash")
    assert [row[column] for row in sheet[1:]] == [e.entry_hash_hex for e in entries if e.tier == "serious"]
    assert len(_export_logs(tw)) == 2

    # refused: the agent, the branch manager (no export right), a bad format, bad filters — nothing logged
    assert _client(fw, tw, Role.AGENT).get(url + "?format=csv").status_code == 403
    assert _client(fw, tw, Role.BRANCH_MANAGER).get(url + "?format=csv").status_code == 403
    assert auditor.get(url + "?format=pdf").status_code == 302
    assert auditor.get(url + "?format=csv&date_from=nonsense").status_code == 302
    assert len(_export_logs(tw)) == 2
    assert _export_logs(fw.b) == []


# --- the catalogue ----------------------------------------------------------------------------------------

def _entry(**changes) -> dict:
    data = {"code": "SLOW_REPLY", "name_zh": "回复客户超时", "name_en": "Slow reply to a customer",
            "category": "service_quality", "amount_min": "50", "amount_max": "500", "default_amount": "100",
            "default_severity": "low", "legal_reference": "", "description": "", "detector": "",
            "is_active": "on", "note": ""}
    data.update(changes)
    return data


def test_catalogue_pages(fw):
    tw = fw.a
    admin = _client(fw, tw, Role.TENANT_ADMIN)
    page = admin.get(reverse("penalties:catalogue"))
    assert page.status_code == 200 and reverse("penalties:violation_type_new").encode() in page.content
    new_url = reverse("penalties:violation_type_new")
    assert admin.get(new_url).status_code == 200

    refused = [
        ({"amount_min": "600"}, "amount_max"),
        ({"default_amount": "900"}, "default_amount"),
        ({"amount_min": "12.345"}, "amount_min"),
        ({"code": "bad code!"}, "code"),
        ({"code": "FAKE_SCAN"}, "code"),                                   # taken
        ({"category": "regulator"}, "legal_reference"),
        ({"detector": "tracking_gap"}, "detector"),                       # TRACKING_LATE uses it
        ({"name_zh": ""}, "name_zh"),
    ]
    for changes, field in refused:
        response = admin.post(new_url, _entry(**changes))
        assert response.status_code == 400, changes
        assert field in _form_errors(response), (changes, _form_errors(response))
        assert b'id="violation-type-form"' in response.content and b"invalid-feedback" in response.content
        if "name_zh" not in changes:
            assert "回复客户超时" in response.content.decode()
    assert _count(tw, ViolationType, code="SLOW_REPLY") == 0

    done = admin.post(new_url, _entry(note="新增"))
    assert done.status_code == 302
    with tenant_scope(tw.tenant):
        entry = ViolationType.objects.get(code="SLOW_REPLY")
    assert done["Location"] == reverse("penalties:violation_type", args=[entry.pk]) and entry.version == 1

    edit_url = reverse("penalties:violation_type", args=[entry.pk])
    bad = admin.post(edit_url, _entry(amount_max="20", note="上限调整"))
    assert bad.status_code == 400 and "amount_max" in _form_errors(bad)
    assert "上限调整" in bad.content.decode()
    assert admin.post(edit_url, _entry(code="RENAMED", amount_max="800", note="上限调整为800")).status_code == 302
    with tenant_scope(tw.tenant):
        entry.refresh_from_db()
        versions = list(entry.versions.order_by("version").values_list("version", "note"))
    assert entry.code == "SLOW_REPLY" and entry.amount_max == Decimal("800.00") and entry.version == 2
    assert versions == [(1, "新增"), (2, "上限调整为800")]
    page = admin.get(edit_url)
    assert page.status_code == 200 and b'id="versions-table"' in page.content
    assert "上限调整为800" in page.content.decode() and len(page.context["versions"]) == 2

    # everyone else reads it and cannot change it
    for role in (Role.AGENT, Role.BRANCH_MANAGER, Role.AUDITOR, Role.EXECUTIVE):
        client = _client(fw, tw, role)
        page = client.get(reverse("penalties:catalogue"))
        assert page.status_code == 200 and reverse("penalties:violation_type_new").encode() not in page.content
        view = client.get(edit_url)
        assert view.status_code == 200 and b'id="violation-type-form"' not in view.content
        assert client.get(new_url).status_code == 403
        assert client.post(new_url, _entry(code="SNEAKY")).status_code == 403
        assert client.post(edit_url, _entry(amount_max="5000")).status_code == 403
        assert client.post(reverse("penalties:catalogue_defaults")).status_code == 403
    with tenant_scope(tw.tenant):
        entry.refresh_from_db()
        assert entry.version == 2 and not ViolationType.objects.filter(code="SNEAKY").exists()
    # the other company has no such entry
    assert _client(fw, fw.b, Role.TENANT_ADMIN).get(edit_url).status_code == 404
    assert admin.post(reverse("penalties:catalogue_defaults")).status_code == 302


# --- query counts ----------------------------------------------------------------------------------------

def _confirmed_many(tw, n: int) -> None:
    for i in range(n):
        confirmed(tw, amount=f"{200 + i}.00")


def _queries(client, url: str) -> int:
    client.get(url)                                     # warm the session and the permission caches
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("role", [Role.BRANCH_MANAGER, Role.AUDITOR])
def test_fines_list_queries_do_not_grow_with_rows(fw, role, django_assert_max_num_queries):
    tw = fw.a
    client = _client(fw, tw, role)
    url = reverse("penalties:cases") + "?tab=all"
    _confirmed_many(tw, 5)
    few = _queries(client, url)
    assert few <= 25, few
    _confirmed_many(tw, 25)
    with django_assert_max_num_queries(few):
        page = client.get(url)
    assert len(_shown_cases(page)) == 30


def test_ledger_page_queries_do_not_grow_with_rows(fw, django_assert_max_num_queries):
    tw = fw.a
    client = _client(fw, tw, Role.AUDITOR)
    url = reverse("penalties:ledger")
    _confirmed_many(tw, 5)
    few = _queries(client, url)
    assert few <= 30, few
    _confirmed_many(tw, 25)
    with django_assert_max_num_queries(few):
        page = client.get(url)
    assert len(_ledger_rows(page)) == 30
    # the case page too: entries, events and evidence are fetched in bulk
    with tenant_scope(tw.tenant):
        case = ViolationCase.objects.order_by("id").first()
    for i in range(3):
        act(tw, tw.user(Role.BRANCH_MANAGER), services.case_payment_record, case=case, amount="1", method="cash",
            reference=f"R{i}")
    case_few = _queries(client, _case_url(case))
    for i in range(10):
        act(tw, tw.user(Role.BRANCH_MANAGER), services.case_note, case=case, body=f"备注{i}")
        act(tw, tw.user(Role.BRANCH_MANAGER), services.case_payment_record, case=case, amount="1", method="cash")
    with django_assert_max_num_queries(case_few):
        assert client.get(_case_url(case)).status_code == 200
