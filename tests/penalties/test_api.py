"""The penalties REST API (/api/v1/penalties/…) over HTTP with two companies present: a fine's
whole way from proposal through four-eyes confirmation, the appeal and its decision to payment
and settlement; the catalogue with its versions; the ledger with filters, cursor, totals and
the logged export; checkpoints and their signed document; verification requests and the chain
badge. Four-eyes refusals are 403 with the service's message and change nothing; bad input is a
400 naming the field and changes nothing; another company's ids are 404; employees see their own
fines only, auditors read everything and write no business data, a branch manager of another
branch sees none of this branch's fines. List endpoints cost the same queries for few or many rows."""
from __future__ import annotations

import base64
import csv
import io
import json
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from compliance.models import AccessLog
from penalties import services, signing
from penalties.models import (
    Appeal,
    CaseEvent,
    CaseStatus,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerVerification,
    ViolationCase,
    ViolationEvidence,
    ViolationType,
    ViolationTypeVersion,
)
from penalties.selectors import checkpoints_document
from tenancy.models import Membership, Role, User
from tenancy.scoping import tenant_scope

from .fines_world import PNG, act, confirmed, proposed, seed_catalogue, vtype

pytestmark = pytest.mark.django_db

API = "/api/v1/penalties/"
CASES = f"{API}cases/"
TYPES = f"{API}violation-types/"
LEDGER = f"{API}ledger/"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEX64 = set("0123456789abcdef")


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

    def upload(self, url, content, name="photo.png", description=""):
        return self.client.post(url, {"file": SimpleUploadedFile(name, content), "description": description},
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


def not_found(response) -> None:
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"


def ok(response, code=200) -> dict:
    assert response.status_code == code, response.content
    return response.json()


def today() -> str:
    return timezone.localdate().isoformat()


def state(tw, case_id) -> tuple:
    """What a refused request must leave as it was."""
    with tenant_scope(tw.tenant):
        case = ViolationCase.objects.get(pk=case_id)
        return (case.status, case.amount, case.confirmed_by_id, case.voided_by_id, case.updated_at,
                CaseEvent.objects.filter(case=case).count(), LedgerEntry.objects.filter(case=case).count(),
                Appeal.objects.filter(case=case).count(), ViolationEvidence.objects.filter(case=case).count())


def counts(tw) -> tuple:
    with tenant_scope(tw.tenant):
        return (ViolationCase.objects.count(), LedgerEntry.objects.count(), Appeal.objects.count(),
                CaseEvent.objects.count(), ViolationTypeVersion.objects.count())


def against_branch(tw) -> dict:
    """Builder arguments of a fine against the branch (not one of its employees)."""
    return {"subject_kind": "branch", "branch": tw.branch}


def confirmed_by_hq(tw, **kwargs):
    """A fine proposed by the executive and confirmed by the tenant admin (for subjects outside
    the branch manager's subtree, such as headquarters staff)."""
    case = proposed(tw, by=Role.EXECUTIVE, **kwargs)
    return act(tw, tw.user(Role.TENANT_ADMIN), services.case_confirm, case=case)


def outside_manager(tw) -> Membership:
    """A branch manager of the other branch (outside the branch where the world's staff work)."""
    with tenant_scope(tw.tenant):
        user = User.objects.create_user(f"{tw.tenant.code}_manager_b2", "Test-Passw0rd-2026",
                                        display_name="杭州网点负责人", home_tenant=tw.tenant)
        return Membership.objects.create(user=user, role=Role.BRANCH_MANAGER, branch=tw.other_branch)


@pytest.fixture
def fw(world):
    seed_catalogue(world)
    return world


# --- the whole way ----------------------------------------------------------------------------------

def test_propose_confirm_appeal_reduce_and_pay_over_the_api(fw):
    tw = fw.a
    manager, executive, admin, agent = (api(fw, role) for role in (
        Role.BRANCH_MANAGER, Role.EXECUTIVE, Role.TENANT_ADMIN, Role.AGENT))
    fake_scan = vtype(tw)
    body = ok(manager.post(CASES, {
        "violation_type": fake_scan.pk, "subject_kind": "employee", "subject_membership": tw.members[Role.AGENT].pk,
        "amount": "1200", "description": "扫描记录与实际不符", "occurred_on": today()}), 201)
    pk, url = body["id"], f"{CASES}{body['id']}/"
    assert body["number"].startswith("V") and body["status"] == "proposed" and body["tier"] == "general"
    assert (body["amount"], body["original_amount"], body["outstanding"]) == ("1200.00", "1200.00", "0.00")
    assert body["violation_type_code"] == "FAKE_SCAN" and body["type_version"] == 1
    assert body["subject_kind"] == "employee" and body["subject_name"] == tw.user(Role.AGENT).display_name
    assert body["branch"] == tw.branch.pk and body["proposed_by"] == tw.user(Role.BRANCH_MANAGER).pk
    assert body["entries"] == [] and body["appeal"] is None and body["evidence"] == []
    assert [e["kind"] for e in body["events"]] == ["proposed"]
    assert body["type_snapshot"]["code"] == "FAKE_SCAN" and Decimal(body["type_snapshot"]["default_amount"]) == 1000

    # Four-eyes: the proposer cannot confirm, and nothing changes.
    before = state(tw, pk)
    assert "Four-eyes" in denied(manager.post(f"{url}confirm/", {}))
    assert state(tw, pk) == before

    body = ok(executive.post(f"{url}confirm/", {"note": "核实无误"}))
    assert body["status"] == "confirmed" and body["outstanding"] == "1200.00" and body["appeal_due_at"]
    assert body["confirmed_by"] == tw.user(Role.EXECUTIVE).pk
    [issued] = body["entries"]
    assert (issued["kind"], issued["amount"], issued["currency"], issued["memo"]) == (
        "fine_issued", "1200.00", "CNY", "核实无误")
    assert len(issued["entry_hash"]) == 64 and set(issued["entry_hash"]) <= HEX64

    # The employee sees and appeals their own fine.
    assert [row["id"] for row in ok(agent.get(CASES))["results"]] == [pk]
    body = ok(agent.post(f"{url}appeal/", {"grounds": "系统故障导致扫描延迟", "requested_amount": "500"}))
    assert body["status"] == "appealed"
    appeal = body["appeal"]
    assert (appeal["status"], appeal["requested_amount"], appeal["on_behalf"]) == ("pending", "500.00", False)
    assert appeal["filed_by"] == tw.user(Role.AGENT).pk

    # Four-eyes: whoever confirmed the fine cannot decide its appeal.
    before = state(tw, pk)
    assert "Four-eyes" in denied(executive.post(f"{url}decide-appeal/", {"outcome": "overturned", "reason": "x"}))
    assert state(tw, pk) == before

    pending = ok(admin.get(f"{API}appeals/", {"status": "pending"}))["results"]
    assert [(a["case"], a["case_number"], a["case_status"]) for a in pending] == [(pk, body["number"], "appealed")]
    body = ok(admin.post(f"{url}decide-appeal/", {"outcome": "reduced", "reduced_to": "800", "reason": "情节较轻"}))
    assert (body["status"], body["amount"], body["original_amount"], body["outstanding"]) == (
        "reduced", "800.00", "1200.00", "800.00")
    assert body["appeal"]["status"] == "reduced" and body["appeal"]["reduced_to"] == "800.00"
    assert [(e["kind"], e["amount"]) for e in body["entries"]] == [("fine_issued", "1200.00"),
                                                                  ("fine_reduced", "-400.00")]
    assert ok(admin.get(f"{API}appeals/", {"status": "pending"}))["results"] == []

    # Evidence and a note.
    row = ok(manager.upload(f"{url}evidence/", PNG, description="现场照片"), 201)
    assert (row["case"], row["name"], row["content_type"], row["size"], row["description"]) == (
        pk, "photo.png", "image/png", len(PNG), "现场照片")
    assert len(row["sha256"]) == 64 and row["url"] == f"/fines/{pk}/evidence/{row['id']}/"
    body = ok(manager.post(f"{url}notes/", {"body": "已与员工面谈"}))
    assert body["events"][-1]["kind"] == "note" and body["events"][-1]["body"] == "已与员工面谈"
    assert [e["name"] for e in body["evidence"]] == ["photo.png"]

    # Payments until it is settled.
    body = ok(manager.post(f"{url}payments/", {"amount": "300", "method": "payroll", "reference": "2026-12 工资"}))
    assert (body["status"], body["outstanding"]) == ("reduced", "500.00")
    body = ok(manager.post(f"{url}payments/", {"amount": "500.00", "method": "cash"}))
    assert (body["status"], body["outstanding"]) == ("settled", "0.00") and body["settled_at"]
    assert [(e["kind"], e["amount"], e["payment_method"]) for e in body["entries"][2:]] == [
        ("payment_received", "-300.00", "payroll"), ("payment_received", "-500.00", "cash")]

    # The chain: each entry's previous hash is the entry before it.
    entries = ok(api(fw, Role.AUDITOR).get(LEDGER))["results"]
    assert [e["sequence"] for e in entries] == [4, 3, 2, 1]
    assert [e["prev_hash"] for e in entries[:-1]] == [e["entry_hash"] for e in entries[1:]]
    assert entries[-1]["prev_hash"] == "0" * 64
    assert {(e["case"], e["case_number"], e["tier"], e["violation_type_code"]) for e in entries} == {
        (pk, body["number"], "general", "FAKE_SCAN")}
    with tenant_scope(tw.tenant):
        assert ViolationCase.objects.get(pk=pk).status == CaseStatus.SETTLED
        assert sum(LedgerEntry.objects.filter(case_id=pk).values_list("amount", flat=True)) == Decimal("0")


def test_branch_fines_void_overturn_and_manager_appeals_on_behalf(fw):
    tw = fw.a
    manager, executive, admin = (api(fw, role) for role in (Role.BRANCH_MANAGER, Role.EXECUTIVE, Role.TENANT_ADMIN))
    # A regulator's fine is recorded against a branch, by the executive, confirmed by the admin.
    regulator = vtype(tw, "REG_TRACKING")
    assert fields(executive.post(CASES, {
        "violation_type": regulator.pk, "subject_kind": "employee", "subject_membership": tw.members[Role.AGENT].pk,
        "description": "邮政管理局处罚", "occurred_on": today()})) == {"subject_kind"}
    body = ok(executive.post(CASES, {"violation_type": regulator.pk, "subject_kind": "branch", "branch": tw.hq.pk,
                                     "description": "邮政管理局处罚决定书", "occurred_on": today()}), 201)
    assert (body["subject_name"], body["amount"], body["tier"], body["legal_reference"]) == (
        tw.hq.name, "10000.00", "serious", regulator.legal_reference)
    body = ok(admin.post(f"{CASES}{body['id']}/confirm/"))
    assert [e["kind"] for e in body["entries"]] == ["regulator_fine"]

    # Voiding a proposal writes nothing; voiding a confirmed fine reverses its issue.
    draft = proposed(tw)
    body = ok(executive.post(f"{CASES}{draft.pk}/void/", {"reason": "重复录入"}))
    assert (body["status"], body["void_reason"], body["entries"]) == ("voided", "重复录入", [])
    assert body["voided_by"] == tw.user(Role.EXECUTIVE).pk
    fine = confirmed(tw, amount="600")
    assert denied(manager.post(f"{CASES}{fine.pk}/void/", {"reason": "x"}))  # no void permission
    body = ok(executive.post(f"{CASES}{fine.pk}/void/", {"reason": "证据不足"}))
    assert [(e["kind"], e["amount"]) for e in body["entries"]] == [("fine_issued", "600.00"),
                                                                  ("fine_reversed", "-600.00")]
    assert body["outstanding"] == "0.00"

    # A manager appeals on the employee's behalf; the appeal is overturned by someone else.
    fine = confirmed(tw, amount="450")
    body = ok(manager.post(f"{CASES}{fine.pk}/appeal/", {"grounds": "员工当日休假"}))
    assert body["appeal"]["on_behalf"] is True
    assert "filed" in denied(manager.post(f"{CASES}{fine.pk}/decide-appeal/", {"outcome": "upheld", "reason": "x"}))
    body = ok(admin.post(f"{CASES}{fine.pk}/decide-appeal/", {"outcome": "overturned", "reason": "考勤记录为证"}))
    assert (body["status"], body["outstanding"]) == ("overturned", "0.00")
    assert body["entries"][-1]["kind"] == "fine_reversed"

    # Paid fines can no longer be voided.
    fine = confirmed(tw, amount="300")
    ok(manager.post(f"{CASES}{fine.pk}/payments/", {"amount": "100", "method": "bank_transfer"}))
    before = state(tw, fine.pk)
    assert fields(executive.post(f"{CASES}{fine.pk}/void/", {"reason": "x"})) == {"reason"}
    assert fields(api(fw).post(f"{CASES}{fine.pk}/appeal/", {"grounds": "x"})) == {"grounds"}  # being paid
    assert state(tw, fine.pk) == before


# --- the catalogue ----------------------------------------------------------------------------------

def test_catalogue_read_by_everyone_changed_by_the_admin_with_versions(fw):
    tw = fw.a
    admin = api(fw, Role.TENANT_ADMIN)
    rows = ok(api(fw).get(TYPES))
    assert len(rows) == 15 and {r["code"] for r in rows} >= {"FAKE_SCAN", "REG_PIPL", "TRACKING_LATE"}
    tracking = next(r for r in rows if r["code"] == "TRACKING_LATE")
    assert (tracking["detector"], tracking["amount_min"], tracking["default_amount"], tracking["version"]) == (
        "tracking_gap", "50.00", "200.00", 1)
    assert tracking["name"] == "Tracking not updated in time" and tracking["name_zh"] == "物流信息未及时更新"

    body = ok(admin.post(TYPES, {"code": "wrong_sort", "name_zh": "分拣错误", "name_en": "Wrong sorting",
                                 "category": "service_quality", "amount_min": "50", "amount_max": "500",
                                 "default_amount": "100", "note": "新增"}), 201)
    assert (body["code"], body["version"], body["default_severity"], body["is_active"]) == (
        "WRONG_SORT", 1, "medium", True)
    url = f"{TYPES}{body['id']}/"
    body = ok(admin.patch(url, {"default_amount": "150", "is_active": False, "note": "提高默认金额"}))
    assert (body["default_amount"], body["is_active"], body["version"], body["name_en"]) == (
        "150.00", False, 2, "Wrong sorting")
    assert ok(admin.patch(url, {"default_amount": "150"}))["version"] == 2  # no change, no version
    versions = ok(api(fw).get(f"{url}versions/"))
    assert [(v["version"], v["data"]["default_amount"], v["note"]) for v in versions] == [
        (2, "150.00", "提高默认金额"), (1, "100.00", "新增")]
    assert versions[0]["changed_by"] == tw.user(Role.TENANT_ADMIN).pk
    assert ok(api(fw).get(url))["code"] == "WRONG_SORT"
    assert "WRONG_SORT" not in {r["code"] for r in ok(api(fw).get(TYPES, {"active": "true"}))}
    # An inactive type proposes nothing.
    assert fields(api(fw, Role.BRANCH_MANAGER).post(CASES, {
        "violation_type": body["id"], "subject_kind": "branch", "branch": tw.branch.pk, "description": "x",
        "occurred_on": today()})) == {"violation_type"}

    before = counts(tw)
    good = {"code": "NEW_ONE", "name_zh": "新", "name_en": "New", "category": "service_quality",
            "amount_min": "10", "amount_max": "100", "default_amount": "50"}
    assert fields(admin.post(TYPES, {})) == {"code", "name_zh", "name_en", "category", "amount_min", "amount_max",
                                             "default_amount"}
    assert fields(admin.post(TYPES, {**good, "code": "bad code"})) == {"code"}
    assert fields(admin.post(TYPES, {**good, "code": "FAKE_SCAN"})) == {"code"}
    assert fields(admin.post(TYPES, {**good, "amount_min": "200"})) == {"amount_max"}
    assert fields(admin.post(TYPES, {**good, "default_amount": "500"})) == {"default_amount"}
    assert fields(admin.post(TYPES, {**good, "amount_min": 10})) == {"amount_min"}
    assert fields(admin.post(TYPES, {**good, "category": "regulator"})) == {"legal_reference"}
    assert fields(admin.post(TYPES, {**good, "category": "parking", "detector": "radar"})) == {"category", "detector"}
    assert fields(admin.post(TYPES, {**good, "detector": "tracking_gap"})) == {"detector"}  # taken
    assert fields(admin.patch(url, {"amount_min": "abc"})) == {"amount_min"}
    assert fields(admin.patch(url, {"amount_max": "10"})) == {"amount_max"}
    assert counts(tw) == before
    for role in (Role.BRANCH_MANAGER, Role.AUDITOR, Role.EXECUTIVE, Role.AGENT):
        denied(api(fw, role).post(TYPES, good))
        denied(api(fw, role).patch(url, {"name_en": "x"}))
    assert counts(tw) == before


# --- bad input --------------------------------------------------------------------------------------

def test_bad_input_names_the_field_and_changes_nothing(fw):
    tw = fw.a
    manager, admin = api(fw, Role.BRANCH_MANAGER), api(fw, Role.TENANT_ADMIN)
    agent_member = tw.members[Role.AGENT]
    good = {"violation_type": vtype(tw).pk, "subject_kind": "employee", "subject_membership": agent_member.pk,
            "description": "扫描记录与实际不符", "occurred_on": today()}
    before = counts(tw)
    assert fields(manager.post(CASES, {})) == {"violation_type", "subject_kind", "description", "occurred_on"}
    for amount in (1200, "1.234", "abc", "-1", "0", "NaN", "１２", "1e3"):
        assert fields(manager.post(CASES, {**good, "amount": amount})) == {"amount"}, amount
    tomorrow = (timezone.localdate() + timezone.timedelta(days=1)).isoformat()
    assert fields(manager.post(CASES, {**good, "occurred_on": tomorrow})) == {"occurred_on"}
    assert fields(manager.post(CASES, {**good, "occurred_on": "2026-02-30"})) == {"occurred_on"}
    assert fields(manager.post(CASES, {**good, "amount": "9000"})) == {"out_of_range_reason"}
    assert fields(manager.post(CASES, {**good, "subject_kind": "courier"})) == {"subject_kind"}
    assert fields(manager.post(CASES, {**good, "subject_membership": None})) == {"subject_membership"}
    assert fields(manager.post(CASES, {**good, "subject_membership": tw.members[Role.BRANCH_MANAGER].pk})) == {
        "subject_membership"}  # not against yourself
    assert fields(manager.post(CASES, {**good, "subject_kind": "branch"})) == {"branch"}
    assert fields(manager.post(CASES, {**good, "description": "  "})) == {"description"}
    assert fields(manager.post(CASES, {**good, "description": "x\x00y"})) == {"description"}
    assert fields(manager.post(CASES, {**good, "access_log_ids": [2**40]})) == {"access_log_ids"}
    # Another company's rows are "does not exist", like ids never used.
    b = fw.b
    assert fields(manager.post(CASES, {**good, "violation_type": vtype(b).pk,
                                       "subject_membership": b.members[Role.AGENT].pk})) == {
        "violation_type", "subject_membership"}
    assert fields(manager.post(CASES, {**good, "subject_kind": "branch", "branch": b.branch.pk})) == {"branch"}
    assert fields(manager.post(CASES, {**good, "violation_type": 2**63})) == {"violation_type"}
    assert counts(tw) == before and counts(b)[0] == 0

    fine = confirmed(tw, amount="800")
    url = f"{CASES}{fine.pk}/"
    before = state(tw, fine.pk)
    assert fields(admin.post(f"{url}confirm/")) == {"status"}  # already confirmed
    assert fields(manager.post(f"{url}payments/", {"amount": "800.01", "method": "cash"})) == {"amount"}
    assert fields(manager.post(f"{url}payments/", {"amount": 100, "method": "cash"})) == {"amount"}
    assert fields(manager.post(f"{url}payments/", {"amount": "100", "method": "cheque"})) == {"method"}
    assert fields(manager.post(f"{url}payments/", {"amount": "100", "method": "cash", "paid_on": tomorrow})) == {
        "paid_on"}
    assert fields(manager.post(f"{url}payments/", {"amount": "100", "method": "cash", "paid_on": "2000-01-01"})) == {
        "paid_on"}
    assert fields(api(fw).post(f"{url}appeal/", {"grounds": " "})) == {"grounds"}
    assert fields(api(fw).post(f"{url}appeal/", {"grounds": "x", "requested_amount": "800"})) == {
        "requested_amount"}
    assert fields(admin.post(f"{url}decide-appeal/", {"outcome": "upheld", "reason": "x"})) == {"status"}
    assert fields(manager.post(f"{url}notes/", {"body": ""})) == {"body"}
    assert fields(manager.upload(f"{url}evidence/", b"MZ\x90\x00" * 10, name="virus.exe")) == {"file"}
    assert fields(manager.upload(f"{url}evidence/", b"")) == {"file"}
    assert fields(manager.post(f"{url}evidence/", {"description": "x"})) == {"file"}
    assert fields(api(fw, Role.EXECUTIVE).post(f"{url}void/", {})) == {"reason"}
    assert state(tw, fine.pk) == before

    ok(api(fw).post(f"{url}appeal/", {"grounds": "不服"}))
    before = state(tw, fine.pk)
    assert fields(admin.post(f"{url}decide-appeal/", {"outcome": "pending", "reason": "x"})) == {"outcome"}
    assert fields(admin.post(f"{url}decide-appeal/", {"outcome": "reduced", "reason": "x"})) == {"reduced_to"}
    assert fields(admin.post(f"{url}decide-appeal/", {"outcome": "reduced", "reason": "x",
                                                      "reduced_to": "800"})) == {"reduced_to"}
    assert fields(admin.post(f"{url}decide-appeal/", {"outcome": "upheld"})) == {"reason"}
    assert state(tw, fine.pk) == before

    bad = {"tab": "later", "status": "lost", "tier": "huge", "violation_type": "abc", "branch": "٣",
           "subject_membership": "0", "category": "parking", "detector": "radar", "date_from": "yesterday",
           "date_to": "2026-13-01", "q": "V\x00", "counts": "maybe"}
    assert fields(manager.get(CASES, bad)) == set(bad)
    assert fields(manager.get(CASES, {"branch": b.branch.pk})) == {"branch"}
    assert fields(manager.get(CASES, {"q": "x" * 61})) == {"q"}
    ledger_bad = {"kind": "gift", "tier": "huge", "branch": "x", "case": "-1", "status": "lost", "date_from": "x"}
    auditor = api(fw, Role.AUDITOR)
    for path in (LEDGER, f"{LEDGER}totals/", f"{LEDGER}export/"):
        assert fields(auditor.get(path, ledger_bad)) == set(ledger_bad), path
    assert fields(auditor.get(f"{LEDGER}export/", {"format": "pdf"})) == {"format"}
    assert fields(auditor.get(f"{API}appeals/", {"status": "lost"})) == {"status"}
    assert fields(auditor.get(TYPES, {"active": "maybe"})) == {"active"}


# --- who sees and does what -------------------------------------------------------------------------

def test_an_employee_sees_only_their_own_fines(fw):
    tw = fw.a
    own = confirmed(tw, amount="300")
    colleague = confirmed_by_hq(tw, amount="400", subject_role=Role.SALES_MANAGER)
    branch_fine = confirmed(tw, amount="500", **against_branch(tw))
    agent = api(fw)
    assert [r["id"] for r in ok(agent.get(CASES))["results"]] == [own.pk]
    assert [r["id"] for r in ok(agent.get(CASES, {"tab": "mine", "counts": "true"}))["results"]] == [own.pk]
    assert ok(agent.get(CASES, {"counts": "true"}))["counts"] == {
        "open": 1, "proposed": 0, "appealed": 0, "mine": 1, "all": 1}
    body = ok(agent.get(f"{CASES}{own.pk}/"))
    assert body["outstanding"] == "300.00" and len(body["entries"]) == 1
    for other in (colleague, branch_fine):
        not_found(agent.get(f"{CASES}{other.pk}/"))
        not_found(agent.post(f"{CASES}{other.pk}/appeal/", {"grounds": "x"}))
    # The catalogue is for everyone; the ledger, appeals queue and its tools are not.
    assert ok(agent.get(TYPES))
    for path in (LEDGER, f"{LEDGER}totals/", f"{LEDGER}export/", f"{API}appeals/", f"{API}checkpoints/",
                 f"{API}checkpoints/document/", f"{API}verifications/", f"{API}chain-status/"):
        denied(agent.get(path))
    before = state(tw, own.pk)
    for action, data in (("confirm", {}), ("void", {"reason": "x"}), ("payments", {"amount": "1", "method": "cash"}),
                         ("notes", {"body": "x"}), ("decide-appeal", {"outcome": "upheld", "reason": "x"})):
        denied(agent.post(f"{CASES}{own.pk}/{action}/", data))
    denied(agent.upload(f"{CASES}{own.pk}/evidence/", PNG))
    denied(agent.post(CASES, {"violation_type": vtype(tw).pk, "subject_kind": "branch", "branch": tw.branch.pk,
                              "description": "x", "occurred_on": today()}))
    denied(agent.post(f"{API}verifications/"))
    assert state(tw, own.pk) == before
    # ... but appeals their own fine.
    assert ok(agent.post(f"{CASES}{own.pk}/appeal/", {"grounds": "当日系统故障"}))["status"] == "appealed"


def test_the_auditor_reads_everything_but_every_write_is_403(fw):
    tw = fw.a
    fine = confirmed(tw, amount="700")
    act(tw, tw.user(Role.AGENT), services.case_appeal, case=fine, grounds="不服")
    draft = proposed(tw, amount="200", **against_branch(tw))
    auditor = api(fw, Role.AUDITOR)
    assert {r["id"] for r in ok(auditor.get(CASES))["results"]} == {fine.pk, draft.pk}
    assert ok(auditor.get(f"{CASES}{fine.pk}/"))["appeal"]["status"] == "pending"
    assert [a["case"] for a in ok(auditor.get(f"{API}appeals/"))["results"]] == [fine.pk]
    assert len(ok(auditor.get(LEDGER))["results"]) == 1
    assert ok(auditor.get(f"{LEDGER}totals/"))["overall"]["issued"] == "700.00"
    for path in (f"{API}checkpoints/", f"{API}checkpoints/document/", f"{API}verifications/", f"{API}chain-status/",
                 TYPES, f"{TYPES}{vtype(tw).pk}/versions/"):
        ok(auditor.get(path))
    before, draft_before, totals = state(tw, fine.pk), state(tw, draft.pk), counts(tw)
    writes = [
        (CASES, {"violation_type": vtype(tw).pk, "subject_kind": "branch", "branch": tw.branch.pk,
                 "description": "x", "occurred_on": today()}),
        (f"{CASES}{draft.pk}/confirm/", {}), (f"{CASES}{draft.pk}/void/", {"reason": "x"}),
        (f"{CASES}{fine.pk}/decide-appeal/", {"outcome": "overturned", "reason": "x"}),
        (f"{CASES}{fine.pk}/appeal/", {"grounds": "x"}), (f"{CASES}{fine.pk}/notes/", {"body": "x"}),
        (f"{CASES}{fine.pk}/payments/", {"amount": "1", "method": "cash"}),
        (TYPES, {"code": "X_Y", "name_zh": "x", "name_en": "x", "category": "service_quality", "amount_min": "1",
                 "amount_max": "2", "default_amount": "1"}),
    ]
    for path, data in writes:
        denied(auditor.post(path, data))
    denied(auditor.upload(f"{CASES}{fine.pk}/evidence/", PNG))
    denied(auditor.patch(f"{TYPES}{vtype(tw).pk}/", {"name_en": "x"}))
    for method in ("put", "delete"):
        assert getattr(auditor.client, method)(f"{CASES}{fine.pk}/").status_code in (403, 405)
    assert (state(tw, fine.pk), state(tw, draft.pk), counts(tw)) == (before, draft_before, totals)
    # Verifying and exporting are the auditor's own tools (no business data changes).
    assert ok(auditor.post(f"{API}verifications/"), 201)["status"] == "queued"


def test_a_branch_manager_works_their_subtree_only(fw):
    tw = fw.a
    inside = confirmed(tw, amount="300")
    proposal = proposed(tw, amount="200", **against_branch(tw))
    outsider = api_as(fw, outside_manager(tw).user)
    assert ok(outsider.get(CASES))["results"] == []
    assert ok(outsider.get(LEDGER))["results"] == []
    assert ok(outsider.get(f"{LEDGER}totals/"))["overall"]["entries"] == 0
    assert ok(outsider.get(f"{API}appeals/"))["results"] == []
    before = state(tw, proposal.pk)
    for path, data in ((f"{CASES}{proposal.pk}/", None), (f"{CASES}{proposal.pk}/confirm/", {}),
                       (f"{CASES}{inside.pk}/payments/", {"amount": "1", "method": "cash"}),
                       (f"{CASES}{inside.pk}/notes/", {"body": "x"}),
                       (f"{CASES}{inside.pk}/appeal/", {"grounds": "x"})):
        not_found(outsider.get(path) if data is None else outsider.post(path, data))
    assert state(tw, proposal.pk) == before
    # Proposing against someone of another branch: the service refuses (403, its message).
    before = counts(tw)
    assert "another branch" in denied(outsider.post(CASES, {
        "violation_type": vtype(tw).pk, "subject_kind": "employee", "subject_membership": tw.members[Role.AGENT].pk,
        "description": "x", "occurred_on": today()}))
    assert counts(tw) == before
    # Their own branch works; the manager of the fined branch sees both.
    body = ok(outsider.post(CASES, {"violation_type": vtype(tw).pk, "subject_kind": "branch",
                                    "branch": tw.other_branch.pk, "description": "分拣区脏乱", "occurred_on": today()}),
              201)
    assert [r["id"] for r in ok(outsider.get(CASES))["results"]] == [body["id"]]
    assert {r["id"] for r in ok(api(fw, Role.BRANCH_MANAGER).get(CASES))["results"]} == {inside.pk, proposal.pk}
    assert len(ok(api(fw, Role.EXECUTIVE).get(CASES))["results"]) == 3


def test_another_companys_ids_are_404_everywhere(fw):
    b = fw.b
    other = confirmed(b, amount="900")
    act(b, b.user(Role.AGENT), services.case_appeal, case=other, grounds="不服")
    verification = act(b, b.user(Role.AUDITOR), services.ledger_verification_request)
    before, b_counts = state(b, other.pk), counts(b)
    url = f"{CASES}{other.pk}/"
    for role in (Role.TENANT_ADMIN, Role.EXECUTIVE, Role.BRANCH_MANAGER, Role.AGENT, Role.AUDITOR):
        client = api(fw, role)
        for path in (url, f"{TYPES}{vtype(b).pk}/", f"{TYPES}{vtype(b).pk}/versions/",
                     f"{API}verifications/{verification.pk}/"):
            response = client.get(path)
            if role == Role.AGENT and "verifications" in path:
                denied(response)
            else:
                not_found(response)
        probes = [("confirm", {}), ("appeal", {"grounds": "x"}),
                  ("decide-appeal", {"outcome": "upheld", "reason": "x"}), ("void", {"reason": "x"}),
                  ("payments", {"amount": "1", "method": "cash"}), ("notes", {"body": "x"})]
        for action, data in probes:
            response = client.post(f"{url}{action}/", data)
            assert response.status_code in (403, 404), (role, action, response.content)
            if role in (Role.TENANT_ADMIN, Role.EXECUTIVE):  # they hold every permission here
                not_found(response)
        assert client.upload(f"{url}evidence/", PNG).status_code in (403, 404)
        assert client.patch(f"{TYPES}{vtype(b).pk}/", {"name_en": "x"}).status_code in (403, 404)
        assert ok(client.get(CASES, {"q": other.number}))["results"] == []
    admin = api(fw, Role.TENANT_ADMIN)
    assert fields(admin.get(CASES, {"branch": b.branch.pk})) == {"branch"}
    assert ok(admin.get(LEDGER, {"case": other.pk}))["results"] == []
    assert ok(admin.get(f"{API}appeals/"))["results"] == []
    assert ok(admin.get(f"{API}verifications/"))["results"] == []
    for bad in ("0", str(2**63), "99999999999999999999"):
        not_found(admin.get(f"{CASES}{bad}/"))
    assert (state(b, other.pk), counts(b)) == (before, b_counts)


# --- the ledger ---------------------------------------------------------------------------------------

def test_ledger_filters_cursor_and_totals(fw):
    tw = fw.a
    minor = confirmed(tw, amount="300")
    serious = confirmed_by_hq(tw, amount="6000", code="DATA_LEAK", subject_role=Role.SALES_MANAGER)
    branch = confirmed(tw, amount="1000", **against_branch(tw))
    act(tw, tw.user(Role.BRANCH_MANAGER), services.case_payment_record, case=minor, amount="100", method="cash")
    act(tw, tw.user(Role.EXECUTIVE), services.case_void, case=branch, reason="误录")
    confirmed(fw.b, amount="999")
    auditor = api(fw, Role.AUDITOR)

    def seqs(**params):
        return [e["sequence"] for e in ok(auditor.get(LEDGER, params))["results"]]

    assert seqs() == [5, 4, 3, 2, 1]
    assert seqs(kind="fine_issued") == [3, 2, 1]
    assert seqs(tier="serious") == [2]
    assert seqs(case=minor.pk) == [4, 1]
    assert seqs(status="voided") == [5, 3]
    assert seqs(subject_membership=tw.members[Role.SALES_MANAGER].pk) == [2]
    assert seqs(violation_type=vtype(tw, "DATA_LEAK").pk) == [2]
    assert seqs(branch=tw.branch.pk) == [5, 4, 3, 1]  # the sales manager has no branch: headquarters
    assert seqs(branch=tw.other_branch.pk) == []
    assert seqs(date_from=today(), date_to=today()) == [5, 4, 3, 2, 1]
    assert seqs(date_to="2000-01-01") == []

    page = ok(auditor.get(LEDGER, {"page_size": 2}))
    seen = [e["sequence"] for e in page["results"]]
    while page["next"]:
        page = ok(auditor.client.get(page["next"]))
        seen += [e["sequence"] for e in page["results"]]
    assert seen == [5, 4, 3, 2, 1]
    # The fines list pages by cursor too, newest first.
    page = ok(auditor.get(CASES, {"page_size": 2}))
    cases = [c["id"] for c in page["results"]]
    while page["next"]:
        page = ok(auditor.client.get(page["next"]))
        cases += [c["id"] for c in page["results"]]
    assert cases == [branch.pk, serious.pk, minor.pk]
    entry = ok(auditor.get(LEDGER, {"case": minor.pk}))["results"][0]
    assert (entry["kind"], entry["amount"], entry["payment_method"], entry["subject_name"], entry["branch_name"]) == (
        "payment_received", "-100.00", "cash", tw.user(Role.AGENT).display_name, tw.branch.name)
    assert entry["effective_on"] == today() and entry["recorded_by"] == tw.user(Role.BRANCH_MANAGER).pk

    totals = ok(auditor.get(f"{LEDGER}totals/"))
    assert totals["overall"] == {"issued": "7300.00", "reduced": "-1000.00", "paid": "-100.00",
                                 "balance": "6200.00", "entries": 5}
    assert {row["tier"]: row["balance"] for row in totals["by_tier"]} == {
        "minor": "200.00", "serious": "6000.00", "general": "0.00"}
    assert {row["code"]: row["entries"] for row in totals["by_type"]} == {"FAKE_SCAN": 4, "DATA_LEAK": 1}
    assert [(row["month"], row["balance"]) for row in totals["by_month"]] == [
        (timezone.localdate().strftime("%Y-%m"), "6200.00")]
    assert {row["branch"] for row in totals["by_branch"]} == {tw.branch.pk, tw.hq.pk}
    assert ok(auditor.get(f"{LEDGER}totals/", {"tier": "serious"}))["overall"]["balance"] == "6000.00"
    # A branch manager's ledger is their subtree's.
    manager = api(fw, Role.BRANCH_MANAGER)
    assert [e["sequence"] for e in ok(manager.get(LEDGER))["results"]] == [5, 4, 3, 1]
    assert ok(manager.get(f"{LEDGER}totals/"))["overall"]["balance"] == "200.00"


def test_export_is_a_logged_file_for_the_auditor(fw):
    tw = fw.a
    fine = confirmed(tw, amount="300")
    confirmed(tw, amount="1000", **against_branch(tw))
    act(tw, tw.user(Role.BRANCH_MANAGER), services.case_payment_record, case=fine, amount="100", method="cash")
    auditor = api(fw, Role.AUDITOR)

    def exports():
        with tenant_scope(tw.tenant):
            return list(AccessLog.objects.filter(action="export", target_type="penalties.ledgerentry").order_by("id"))

    response = auditor.get(f"{LEDGER}export/", {"format": "csv", "case": fine.pk})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv") and response["Cache-Control"] == "no-store"
    assert 'filename="fine-ledger-' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["sequence", "kind"] and [r[0] for r in rows[1:]] == ["1", "3"]
    with tenant_scope(tw.tenant):
        hashes = dict(LedgerEntry.objects.values_list("sequence", "entry_hash"))
    assert rows[1][-1] == bytes(hashes[1]).hex()
    [log] = exports()
    with tenant_scope(tw.tenant):
        fine_entries = sorted(LedgerEntry.objects.filter(case=fine).values_list("pk", flat=True))
    assert (log.actor_id, log.export_row_count, sorted(log.export_ids)) == (tw.user(Role.AUDITOR).pk, 2, fine_entries)
    assert len(log.export_file_sha256) == 64

    response = auditor.get(f"{LEDGER}export/", {"format": "xlsx"})
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert response.content[:2] == b"PK"
    assert len(exports()) == 2 and exports()[-1].export_row_count == 3
    # Default format: Excel.
    assert api(fw, Role.EXECUTIVE).get(f"{LEDGER}export/")["Content-Type"] == XLSX
    # Not for a branch manager (reads the ledger, exports nothing); bad filters log nothing.
    denied(api(fw, Role.BRANCH_MANAGER).get(f"{LEDGER}export/", {"format": "csv"}))
    assert fields(auditor.get(f"{LEDGER}export/", {"format": "csv", "branch": fw.b.branch.pk})) == {"branch"}
    assert len(exports()) == 3


def test_checkpoints_and_their_signed_document(fw):
    tw = fw.a
    confirmed(tw, amount="300")
    with tenant_scope(tw.tenant):
        first = services.ledger_checkpoint_create()
    confirmed(tw, amount="400")
    with tenant_scope(tw.tenant):
        second = services.ledger_checkpoint_create()
        head = services.ledger_head()
    auditor = api(fw, Role.AUDITOR)
    rows = ok(auditor.get(f"{API}checkpoints/"))["results"]
    assert [(r["sequence"], r["head_hash"], r["key_id"]) for r in rows] == [
        (2, head[1].hex(), signing.current_key_id()), (1, first.head_hash_hex, signing.current_key_id())]
    assert len(rows[0]["signature"]) == 128
    document = ok(auditor.get(f"{API}checkpoints/document/"))
    with tenant_scope(tw.tenant):
        expected = checkpoints_document(tw.tenant, LedgerCheckpoint.objects.order_by("sequence"))
    assert document == json.loads(json.dumps(expected))
    assert [c["sequence"] for c in document["checkpoints"]] == [first.sequence, second.sequence]
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(document["public_keys"][rows[0]["key_id"]]))
    last = document["checkpoints"][-1]
    message = "\n".join([document["format"], str(document["tenant_id"]), str(last["sequence"]), last["head_hash"],
                         last["signed_at"]]).encode()
    key.verify(bytes.fromhex(last["signature"]), message)  # raises when the signature is wrong
    # Another company's checkpoints are not in it.
    confirmed(fw.b, amount="300")
    with tenant_scope(fw.b.tenant):
        services.ledger_checkpoint_create()
    assert len(ok(auditor.get(f"{API}checkpoints/document/"))["checkpoints"]) == 2


def test_verification_requests_and_the_chain_badge(fw):
    tw = fw.a
    confirmed(tw, amount="300")
    auditor = api(fw, Role.AUDITOR)
    badge = ok(auditor.get(f"{API}chain-status/"))
    assert (badge["state"], badge["head_sequence"], badge["unverified_entries"]) == ("unverified", 1, 1)
    assert badge["last_verification"] is None and badge["pending"] is None and badge["last_checkpoint"] is None

    body = ok(auditor.post(f"{API}verifications/"), 201)
    assert (body["status"], body["source"], body["requested_by"]) == ("queued", "request", tw.user(Role.AUDITOR).pk)
    with tenant_scope(tw.tenant):
        queued = LedgerVerification.objects.get(pk=body["id"])
        assert queued.status == "queued" and queued.finished_at is None
    assert ok(auditor.get(f"{API}chain-status/"))["pending"]["id"] == body["id"]
    denied(api(fw, Role.BRANCH_MANAGER).post(f"{API}verifications/"))  # reads the ledger, verifies nothing

    # What a worker does with the queued row.
    with tenant_scope(tw.tenant):
        services.ledger_verification_run(verification_id=queued.pk)
        services.ledger_checkpoint_create()
    badge = ok(api(fw, Role.BRANCH_MANAGER).get(f"{API}chain-status/"))
    assert (badge["state"], badge["unverified_entries"], badge["pending"]) == ("intact", 0, None)
    assert badge["last_verification"]["status"] == "passed" and badge["last_verification"]["entries_checked"] == 1
    assert badge["last_checkpoint"]["sequence"] == 1
    listed = ok(auditor.get(f"{API}verifications/"))["results"]
    assert [(v["id"], v["status"]) for v in listed] == [(queued.pk, "passed")]
    assert ok(auditor.get(f"{API}verifications/{queued.pk}/"))["head_sequence"] == 1
    with tenant_scope(fw.b.tenant):
        assert not LedgerVerification.objects.exists()


# --- cost ---------------------------------------------------------------------------------------------

def _fines(tw, n: int) -> None:
    """n confirmed and appealed fines of every kind of subject, a verification request and a
    checkpoint after every second one, and one more evidence file on the first fine."""
    for i in range(n):
        subject = ({}, {"subject_role": Role.SALES_MANAGER}, against_branch(tw))[i % 3]
        fine = confirmed_by_hq(tw, amount=str(200 + i), **subject)
        act(tw, tw.user(Role.AGENT if i % 3 == 0 else Role.EXECUTIVE), services.case_appeal, case=fine,
            grounds="不服")
        if i % 2:
            act(tw, tw.user(Role.AUDITOR), services.ledger_verification_request)
            with tenant_scope(tw.tenant):
                services.ledger_checkpoint_create()
    with tenant_scope(tw.tenant):
        evidence_case = ViolationCase.objects.order_by("id").first()
    act(tw, tw.user(Role.BRANCH_MANAGER), services.case_evidence_add, case=evidence_case, name=f"p{n}.png",
        content=PNG + bytes([n]))


LIST_PATHS = [(CASES, {"counts": "true"}), (f"{API}appeals/", {}), (LEDGER, {}), (f"{LEDGER}totals/", {}),
              (f"{API}checkpoints/", {}), (f"{API}checkpoints/document/", {}), (f"{API}verifications/", {}),
              (TYPES, {}), (f"{API}chain-status/", {})]


def test_lists_cost_the_same_queries_for_2_or_8_fines(fw, django_assert_max_num_queries):
    tw = fw.a
    admin = api(fw, Role.TENANT_ADMIN)

    def measured():
        costs = {}
        for path, params in LIST_PATHS:
            with CaptureQueriesContext(connection) as queries:
                body = ok(admin.get(path, params))
            costs[path] = (len(queries), body)
        return costs

    _fines(tw, 2)
    measured()  # the first requests of a session warm caches (keys, rules)
    small = measured()
    with tenant_scope(tw.tenant):
        detail_pk = ViolationCase.objects.order_by("id").first().pk
    with CaptureQueriesContext(connection) as queries:
        ok(admin.get(f"{CASES}{detail_pk}/"))
    small_detail = len(queries)
    _fines(tw, 6)
    large = measured()
    assert len(small[CASES][1]["results"]) == 2 and len(large[CASES][1]["results"]) == 8
    assert len(large[LEDGER][1]["results"]) == 8 and len(large[f"{API}appeals/"][1]["results"]) == 8
    assert len(large[f"{API}checkpoints/"][1]["results"]) == 4
    assert len(large[f"{API}verifications/"][1]["results"]) == 4
    assert {path: cost for path, (cost, _body) in small.items()} == {path: cost for path, (cost, _b) in large.items()}
    for path, params in LIST_PATHS:
        with django_assert_max_num_queries(12):
            ok(admin.get(path, params))
    with django_assert_max_num_queries(small_detail):
        ok(admin.get(f"{CASES}{detail_pk}/"))


def test_schema_documents_the_penalties_api(fw):
    schema = fw.client_for(fw.a.user(Role.AGENT)).get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in ("/api/v1/penalties/cases/{id}/decide-appeal/", "/api/v1/penalties/cases/{id}/evidence/",
                 "/api/v1/penalties/ledger/export/", "/api/v1/penalties/ledger/totals/",
                 "/api/v1/penalties/checkpoints/document/", "/api/v1/penalties/chain-status/",
                 "/api/v1/penalties/verifications/{id}/", "/api/v1/penalties/violation-types/{id}/versions/"):
        assert path in text, path


def test_unused_type_ids_answer_404(fw):
    admin = api(fw, Role.TENANT_ADMIN)
    with tenant_scope(fw.a.tenant):
        last = ViolationType.objects.order_by("-pk").first().pk
    not_found(admin.get(f"{TYPES}{last + 1000}/"))
    not_found(admin.get(f"{API}verifications/{2**62}/"))
