"""Data-subject request pages over HTTP with two companies present: the queue (filters, clocks, open
first, query count), registering a request as an agent (errors keep what was typed), the request
page per kind — the handler's whole path for access (export built by the worker, downloaded once,
logged with the file's hash), correction, deletion (preview, confirm by typing the number) and
objection — the auditor reading without action forms, the agent who registers but cannot handle,
masked values only, and the other company's wall (404)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from compliance.models import AccessLog, ConsentRecord, DataSubjectRequest, DsrExport, DsrStatus, JobStatus
from compliance.selectors.consent import consent_allows
from customers.models import Customer
from tenancy.models import Role
from tenancy.scoping import tenant_scope

from .dsr_world import (
    EMAIL,
    ID_NUMBER,
    NAME,
    PHONE,
    PHONE_E164,
    PHONE_MASKED,
    PLAIN_VALUES,
    make_person,
    register,
    reload,
    run_export_job,
    verify,
)

pytestmark = pytest.mark.django_db


def client(world, tw, role):
    return world.client_for(tw.user(role))


def page_of(world, tw, dsr, role=Role.TENANT_ADMIN):
    response = client(world, tw, role).get(reverse("compliance:dsr_page", args=[dsr.pk]))
    assert response.status_code == 200
    return response.content.decode()


def act(c, dsr, action, **fields):
    data = {"action": action, **{f"{action}-{k}": v for k, v in fields.items()}}
    return c.post(reverse("compliance:dsr_page", args=[dsr.pk]), data)


def assert_no_plain(text: str, values=PLAIN_VALUES):
    for value in values:
        assert value not in text, value


# --- registering -----------------------------------------------------------------------------------

def test_agent_registers_a_request_and_sees_it_but_cannot_handle_it(world):
    tw = world.a
    person = make_person(tw)
    agent = client(world, tw, Role.AGENT)
    url = reverse("compliance:dsr_new")
    assert agent.get(url).status_code == 200
    # refused in place: no way to find the person, what was typed is kept, nothing created
    bad = agent.post(url, {"kind": "deletion", "regime": "pipl", "channel": "电话", "subject_name": NAME,
                           "details": "请删除我的资料"})
    assert bad.status_code == 400
    body = bad.content.decode()
    assert "invalid-feedback" in body and "请删除我的资料" in body and 'value="电话"' in body
    unknown = agent.post(url, {"kind": "deletion", "regime": "pipl", "customer_number": "C99999999"})
    assert unknown.status_code == 400 and "customer_number" in unknown.context["form"].errors
    with tenant_scope(tw.tenant):
        assert DataSubjectRequest.objects.count() == 0

    response = agent.post(url, {"kind": "deletion", "regime": "pipl", "channel": "电话", "subject_name": NAME,
                                "subject_phone": PHONE, "customer_number": person.customer.number,
                                "details": "请删除我的资料"})
    assert response.status_code == 302
    with tenant_scope(tw.tenant):
        dsr = DataSubjectRequest.objects.get()
        assert dsr.customer_id == person.customer.pk and dsr.created_by == tw.user(Role.AGENT)
        assert dsr.status == DsrStatus.RECEIVED and dsr.due_at > timezone.now() + dt.timedelta(days=14)
    assert response["Location"] == reverse("compliance:dsr_page", args=[dsr.pk])
    page = agent.get(response["Location"])
    assert page.status_code == 200
    text = page.content.decode()
    assert dsr.number in text and PHONE_MASKED in text
    assert_no_plain(text)
    # the agent reads what they registered, with no action forms, and cannot act
    for form_id in ("dsr-verify", "dsr-close", "dsr-assign", "dsr-erase", "dsr-note"):
        assert f'id="{form_id}"' not in text
    assert act(agent, dsr, "verify", identity_method="id_document").status_code == 403
    assert act(agent, dsr, "close", status="withdrawn", resolution="x").status_code == 403
    assert reload(tw, DataSubjectRequest, dsr.pk).status == DsrStatus.RECEIVED
    # ... not the queue, and not a request someone else registered
    assert agent.get(reverse("compliance:dsr_list")).status_code == 403
    other = register(tw, "access", by=Role.BRANCH_MANAGER)
    assert agent.get(reverse("compliance:dsr_page", args=[other.pk])).status_code == 404
    # the auditor may not register
    assert client(world, tw, Role.AUDITOR).get(url).status_code == 403


# --- the queue -----------------------------------------------------------------------------------------

def test_queue_clocks_filters_order_and_query_count(world):
    tw = world.a
    now = timezone.now()
    overdue = register(tw, "access", received_at=now - dt.timedelta(days=40))
    fresh = register(tw, "deletion")
    at_risk = register(tw, "objection", received_at=now - dt.timedelta(days=19))
    closed = register(tw, "access", phone="13900000002")
    admin = tw.user(Role.TENANT_ADMIN)
    with tenant_scope(tw.tenant, user=admin):
        from compliance.services.requests import dsr_close

        dsr_close(actor=admin, dsr=closed, status=DsrStatus.WITHDRAWN, resolution="本人撤回")
    auditor = client(world, tw, Role.AUDITOR)
    url = reverse("compliance:dsr_list")
    response = auditor.get(url)
    assert response.status_code == 200
    rows = [r.pk for r in response.context["page"]]
    assert rows[0] == overdue.pk and closed.pk not in rows          # open only by default, nearest due first
    clocks = {r.pk: r.clock for r in response.context["page"]}
    assert clocks[overdue.pk] == "overdue" and clocks[fresh.pk] == "on_track"
    assert clocks[at_risk.pk] in ("at_risk", "overdue")
    text = response.content.decode()
    assert 'data-clock="overdue"' in text and "text-bg-danger" in text
    assert_no_plain(text)
    everything = [r.pk for r in auditor.get(url, {"status": "all"}).context["page"]]
    assert everything[-1] == closed.pk and len(everything) == 4      # closed ones after the open ones
    assert [r.pk for r in auditor.get(url, {"kind": "deletion"}).context["page"]] == [fresh.pk]
    assert [r.pk for r in auditor.get(url, {"clock": "overdue"}).context["page"]][0] == overdue.pk
    assert [r.pk for r in auditor.get(url, {"number": fresh.number}).context["page"]] == [fresh.pk]
    owner = tw.members[Role.TENANT_ADMIN]
    with tenant_scope(tw.tenant, user=admin):
        from compliance.services.requests import dsr_assign

        dsr_assign(actor=admin, dsr=fresh, owner=owner)
    assert [r.pk for r in auditor.get(url, {"owner": owner.pk}).context["page"]] == [fresh.pk]
    # the other company sees none of them
    assert client(world, world.b, Role.AUDITOR).get(url).context["page"].paginator.count == 0

    # query count does not grow with the rows
    auditor.get(url)
    with CaptureQueriesContext(connection) as few:
        auditor.get(url)
    for i in range(8):
        register(tw, "access", phone=f"1390000{i:04d}")
    with CaptureQueriesContext(connection) as many:
        assert len(auditor.get(url).context["page"]) == 11
    assert len(many.captured_queries) == len(few.captured_queries)


# --- access: export, download once -------------------------------------------------------------------

def test_access_request_export_built_by_the_worker_and_downloaded_once(world, django_capture_on_commit_callbacks):
    tw = world.a
    person = make_person(tw)
    dsr = register(tw, "access", customer=person.customer)
    admin = client(world, tw, Role.TENANT_ADMIN)
    # nothing before the identity is verified
    response = act(admin, dsr, "export")
    assert response.status_code == 400
    with tenant_scope(tw.tenant):
        assert DsrExport.objects.count() == 0
    assert act(admin, dsr, "verify", identity_method="").status_code == 400
    assert act(admin, dsr, "verify", identity_method="id_document", identity_note="身份证原件").status_code == 302
    text = page_of(world, tw, dsr)
    assert 'id="export-build"' in text and 'id="dsr-verify"' not in text

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert act(admin, dsr, "export").status_code == 302
    assert len(callbacks) == 1                                       # handed to a worker after commit
    with tenant_scope(tw.tenant):
        export = DsrExport.objects.get()
    assert export.status == JobStatus.QUEUED
    panel = admin.get(reverse("compliance:dsr_exports_panel", args=[dsr.pk])).content.decode()
    assert "hx-get" in panel and "every 1s" in panel and "<progress" in panel and 'id="export-build"' not in panel
    assert act(admin, dsr, "export").status_code == 400              # one build at a time

    run_export_job(tw, export.pk)
    panel = admin.get(reverse("compliance:dsr_exports_panel", args=[dsr.pk])).content.decode()
    assert "every 1s" not in panel and 'id="export-download"' in panel
    # the auditor sees the export, without a download
    auditor_page = page_of(world, tw, dsr, Role.AUDITOR)
    assert 'data-status="done"' in auditor_page and 'id="export-download"' not in auditor_page

    url = reverse("compliance:dsr_export_download", args=[dsr.pk, export.pk])
    assert admin.get(url).status_code == 405
    assert client(world, tw, Role.AUDITOR).post(url).status_code == 403
    response = admin.post(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{dsr.number}.json"'
    document = json.loads(response.content)
    assert document["request"] == dsr.number and document["record_count"] > 0
    exported = json.dumps(document, ensure_ascii=False)
    assert PHONE_E164 in exported and NAME in exported                # the person's own data, in full
    digest = hashlib.sha256(response.content).hexdigest()
    with tenant_scope(tw.tenant):
        export = DsrExport.objects.get()
        row = AccessLog.objects.get(action="export")
    assert export.content is None and export.downloaded_by == tw.user(Role.TENANT_ADMIN)
    assert export.sha256 == digest and row.export_file_sha256 == digest
    assert row.target_type == "compliance.datasubjectrequest" and row.target_id == dsr.pk

    # once: the second try leaks nothing
    again = admin.post(url)
    assert again.status_code == 410
    assert PHONE_E164 not in again.content.decode() and again.get("Content-Disposition") is None
    with tenant_scope(tw.tenant):
        assert AccessLog.objects.filter(action="export").count() == 1
    text = page_of(world, tw, dsr)
    assert 'id="export-download"' not in text and "export-downloaded" in text
    assert_no_plain(text)

    # completed
    assert act(admin, dsr, "close", status="completed", resolution="已通过邮件交付").status_code == 302
    assert reload(tw, DataSubjectRequest, dsr.pk).status == DsrStatus.COMPLETED


# --- correction ---------------------------------------------------------------------------------------------

def test_correction_changes_the_customer_record_and_names_only_the_fields(world):
    tw = world.a
    person = make_person(tw)
    dsr = register(tw, "correction", details="姓名录入错误")
    verify(tw, dsr)
    admin = client(world, tw, Role.TENANT_ADMIN)
    assert act(admin, dsr, "correct", name="欧阳娜").status_code == 400          # no customer linked yet
    assert act(admin, dsr, "link", customer_number="C99999999").status_code == 400
    assert act(admin, dsr, "link", customer_number=person.customer.number).status_code == 302
    assert act(admin, dsr, "correct").status_code == 400                          # nothing entered
    assert act(admin, dsr, "correct", name="欧阳娜", delivery_notes="放门卫").status_code == 302
    customer = reload(tw, Customer, person.customer.pk)
    assert customer.name == "欧阳娜" and customer.delivery_notes == "放门卫"
    text = page_of(world, tw, dsr)
    assert 'data-event="corrected"' in text and "delivery_notes, name" in text
    assert "欧阳娜" not in text.replace("欧*娜", "")


# --- deletion: preview, confirm by typing the number -----------------------------------------------------

def test_deletion_preview_confirm_by_number_and_complete(world):
    tw = world.a
    person = make_person(tw)
    dsr = register(tw, "deletion", customer=person.customer)
    admin = client(world, tw, Role.TENANT_ADMIN)
    assert 'id="dsr-erase"' not in page_of(world, tw, dsr)            # not before the identity check
    assert act(admin, dsr, "close", status="completed", resolution="x").status_code == 400
    verify(tw, dsr)
    response = admin.get(reverse("compliance:dsr_page", args=[dsr.pk]))
    preview = response.context["preview"]
    counts = {key: n for key, _label, n in preview}
    assert counts.get("customers.customers") == 1 and response.context["preview_total"] == sum(counts.values())
    text = response.content.decode()
    assert 'id="dsr-preview"' in text and 'id="erase-button"' in text

    wrong = act(admin, dsr, "erase", confirm_number="DSR-0000-00000")
    assert wrong.status_code == 400 and "confirm_number" in wrong.context["forms"]["erase"].errors
    assert reload(tw, DataSubjectRequest, dsr.pk).subject_erased_at is None
    assert act(admin, dsr, "erase", confirm_number=dsr.number).status_code == 302
    erased = reload(tw, DataSubjectRequest, dsr.pk)
    assert erased.subject_erased_at is not None and erased.subject_phone is None
    text = page_of(world, tw, dsr)
    assert 'id="dsr-erased"' in text and 'id="dsr-erase"' not in text and 'id="dsr-erased-counts"' in text
    assert act(admin, dsr, "close", status="completed", resolution="已匿名化").status_code == 302
    text = page_of(world, tw, dsr)
    assert 'id="dsr-close"' not in text and reload(tw, DataSubjectRequest, dsr.pk).status == DsrStatus.COMPLETED
    assert_no_plain(text)


# --- objection ---------------------------------------------------------------------------------------------

def test_objection_withdraws_marketing_consent(world):
    tw = world.a
    person = make_person(tw)
    admin_user = tw.user(Role.TENANT_ADMIN)
    with tenant_scope(tw.tenant, user=admin_user):
        from compliance.services.consent import consent_record

        consent_record(actor=admin_user, purpose="marketing", granted=True, source="paper", customer=person.customer)
        assert consent_allows("marketing", customer_id=person.customer.pk)
    dsr = register(tw, "objection", customer=person.customer)
    verify(tw, dsr)
    admin = client(world, tw, Role.TENANT_ADMIN)
    assert act(admin, dsr, "object", marketing="").status_code == 400              # no purpose chosen
    assert act(admin, dsr, "object", marketing="on").status_code == 302
    with tenant_scope(tw.tenant):
        assert not consent_allows("marketing", customer_id=person.customer.pk)
        assert ConsentRecord.objects.filter(granted=False, source="dsr").count() >= 1
    assert 'data-event="objection_applied"' in page_of(world, tw, dsr)


# --- the auditor, notes, assignment, the wall ----------------------------------------------------------------

def test_auditor_reads_everything_and_cannot_act(world):
    tw = world.a
    dsr = register(tw, "deletion", subject_email=EMAIL, subject_id_number=ID_NUMBER)
    admin = client(world, tw, Role.TENANT_ADMIN)
    assert act(admin, dsr, "note", body="已电话联系本人").status_code == 302
    assert act(admin, dsr, "assign", owner=tw.members[Role.TENANT_ADMIN].pk).status_code == 302
    assert act(admin, dsr, "assign", owner=tw.members[Role.AGENT].pk).status_code == 400   # not a handler
    auditor = client(world, tw, Role.AUDITOR)
    text = page_of(world, tw, dsr, Role.AUDITOR)
    assert "已电话联系本人" in text and 'data-event="assigned"' in text
    assert "<form method=\"post\" novalidate>" not in text and 'name="action"' not in text
    assert_no_plain(text)
    assert "n***@example.com" in text and "110***********4514" in text
    for action, fields in (("verify", {"identity_method": "id_document"}), ("note", {"body": "x"}),
                           ("close", {"status": "withdrawn", "resolution": "x"}), ("export", {})):
        assert act(auditor, dsr, action, **fields).status_code == 403, action
    assert reload(tw, DataSubjectRequest, dsr.pk).status == DsrStatus.RECEIVED
    assert auditor.get(reverse("compliance:dsr_list")).status_code == 200


def test_another_companys_request_is_404(world):
    dsr = register(world.a, "access")
    for role in (Role.TENANT_ADMIN, Role.AUDITOR):
        other = client(world, world.b, role)
        assert other.get(reverse("compliance:dsr_page", args=[dsr.pk])).status_code == 404
        assert act(other, dsr, "note", body="x").status_code == 404
        assert other.get(reverse("compliance:dsr_exports_panel", args=[dsr.pk])).status_code == 404
    assert client(world, world.b, Role.TENANT_ADMIN).post(
        reverse("compliance:dsr_export_download", args=[dsr.pk, 1])).status_code == 404


# --- the overview ---------------------------------------------------------------------------------------------

def test_overview_page(world):
    tw = world.a
    register(tw, "access", received_at=timezone.now() - dt.timedelta(days=40))
    register(tw, "deletion")
    reveal = client(world, tw, Role.AGENT).post(
        "/api/v1/pii/reveal/", {"record_type": "tenancy.membership", "record_id": tw.members[Role.SALES_MANAGER].pk,
                                "field": "work_phone", "reason": "客户来电核实身份"}, content_type="application/json")
    assert reveal.status_code == 200
    auditor = client(world, tw, Role.AUDITOR)
    response = auditor.get(reverse("compliance:overview"))
    assert response.status_code == 200
    assert response.context["requests"]["overdue"] == 1 and response.context["requests"]["open"] == 2
    volumes = response.context["access"]
    assert [(v["actor__username"], v["reveals"], v["exports"]) for v in volumes] == [("alpha_agent", 1, 0)]
    text = response.content.decode()
    for link in ("link-access-log", "link-requests", "link-consent", "link-incidents", "link-retention", "link-keys"):
        assert f'id="{link}"' in text
    assert 'id="overview-keys"' in text and 'id="overview-retention"' in text
    assert client(world, tw, Role.AGENT).get(reverse("compliance:overview")).status_code == 403
    other = client(world, world.b, Role.AUDITOR).get(reverse("compliance:overview"))
    assert other.context["requests"]["open"] == 0 and other.context["access"] == []
