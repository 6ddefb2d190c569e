"""The data-subject requests API and the overview API: registering (agent), the queue with filters
(masked values only, query count), the handler's steps for each kind, the export downloaded once
(logged with the file's hash), errors in the API's envelope, the auditor read-only, the other
company's wall."""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from compliance.models import AccessLog, DataSubjectRequest, DsrExport, DsrStatus
from compliance.selectors.consent import consent_allows
from customers.models import Customer
from tenancy.models import Role
from tenancy.scoping import tenant_scope

from .dsr_world import (
    NAME,
    PHONE,
    PHONE_E164,
    PHONE_MASKED,
    PLAIN_VALUES,
    make_person,
    register,
    reload,
    run_export_job,
)

pytestmark = pytest.mark.django_db
BASE = "/api/v1/compliance/requests/"


def api(world, tw, role):
    return world.client_for(tw.user(role))


def post(c, url, data=None):
    return c.post(url, data or {}, content_type="application/json")


def assert_no_plain(text: str):
    for value in PLAIN_VALUES:
        assert value not in text, value


def test_register_list_and_retrieve_masked(world):
    tw = world.a
    person = make_person(tw)
    agent = api(world, tw, Role.AGENT)
    bad = post(agent, BASE, {"kind": "deletion"})
    assert bad.status_code == 400 and "subject_phone" in bad.json()["error"]["fields"]
    other_customer = make_person(world.b, phone="13900009999").customer
    cross = post(agent, BASE, {"kind": "deletion", "customer": other_customer.pk})
    assert cross.status_code == 400 and "customer" in cross.json()["error"]["fields"]
    response = post(agent, BASE, {"kind": "deletion", "subject_name": NAME, "subject_phone": PHONE,
                                  "customer": person.customer.pk, "channel": "电话"})
    assert response.status_code == 201
    body = response.json()
    assert body["subject_phone"] == PHONE_MASKED and body["status"] == "received" and body["clock"] == "on_track"
    assert body["customer_number"] == person.customer.number and body["events"][0]["kind"] == "received"
    assert_no_plain(response.content.decode())
    # the agent reads their own request, not the queue, and cannot handle it
    assert agent.get(f"{BASE}{body['id']}/").status_code == 200
    assert agent.get(BASE).status_code == 403
    assert post(agent, f"{BASE}{body['id']}/verify-identity/", {"identity_method": "id_document"}).status_code == 403
    others = register(tw, "access", by=Role.BRANCH_MANAGER)
    assert agent.get(f"{BASE}{others.pk}/").status_code == 404

    auditor = api(world, tw, Role.AUDITOR)
    listed = auditor.get(BASE)
    assert listed.status_code == 200
    assert {r["id"] for r in listed.json()["results"]} == {body["id"], others.pk}
    assert_no_plain(listed.content.decode())
    detail = auditor.get(f"{BASE}{body['id']}/")
    assert detail.json()["details"] in ("", "******") and "请处理" not in detail.content.decode()
    assert [r["id"] for r in auditor.get(BASE, {"kind": "access"}).json()["results"]] == [others.pk]
    assert auditor.get(BASE, {"kind": "nonsense"}).status_code == 400
    # the auditor reads; writes are refused and change nothing
    assert post(auditor, BASE, {"kind": "access", "subject_phone": PHONE}).status_code == 403
    assert post(auditor, f"{BASE}{body['id']}/notes/", {"body": "x"}).status_code == 403
    assert post(auditor, f"{BASE}{body['id']}/close/", {"status": "withdrawn", "resolution": "x"}).status_code == 403
    assert reload(tw, DataSubjectRequest, body["id"]).status == DsrStatus.RECEIVED


def test_list_filters_clock_and_query_count(world):
    tw = world.a
    overdue = register(tw, "access", received_at=timezone.now() - dt.timedelta(days=40))
    register(tw, "objection")
    admin = api(world, tw, Role.TENANT_ADMIN)
    rows = admin.get(BASE, {"clock": "overdue"}).json()["results"]
    assert [r["id"] for r in rows] == [overdue.pk] and rows[0]["clock"] == "overdue"
    admin.get(BASE)
    with CaptureQueriesContext(connection) as few:
        assert len(admin.get(BASE).json()["results"]) == 2
    for i in range(10):
        register(tw, "access", phone=f"1390000{i:04d}")
    with CaptureQueriesContext(connection) as many:
        assert len(admin.get(BASE).json()["results"]) == 12
    assert len(many.captured_queries) == len(few.captured_queries)


def test_access_export_download_once_and_logged(world, django_capture_on_commit_callbacks):
    tw = world.a
    person = make_person(tw)
    dsr = register(tw, "access", customer=person.customer)
    admin = api(world, tw, Role.TENANT_ADMIN)
    url = f"{BASE}{dsr.pk}/"
    refused = post(admin, f"{url}export/")
    assert refused.status_code == 400 and "identity_method" in refused.json()["error"]["fields"]
    assert post(admin, f"{url}verify-identity/", {"identity_method": "sms_code"}).json()["status"] == "verified"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        queued = post(admin, f"{url}export/")
    assert queued.status_code == 202 and queued.json()["status"] == "queued" and len(callbacks) == 1
    export_id = queued.json()["id"]
    assert post(admin, f"{url}export/").status_code == 400
    download = f"{url}exports/{export_id}/download/"
    assert post(admin, download).status_code == 400                  # not built yet
    run_export_job(tw, export_id)
    progress = admin.get(f"{url}exports/").json()
    assert progress[0]["status"] == "done" and progress[0]["percent"] == 100

    assert post(api(world, tw, Role.AUDITOR), download).status_code == 403
    response = post(admin, download)
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    document = json.loads(response.content)
    assert PHONE_E164 in json.dumps(document, ensure_ascii=False) and document["request"] == dsr.number
    digest = hashlib.sha256(response.content).hexdigest()
    with tenant_scope(tw.tenant):
        row = AccessLog.objects.get(action="export")
        assert DsrExport.objects.get().content is None
    assert row.export_file_sha256 == digest and row.target_id == dsr.pk and row.actor == tw.user(Role.TENANT_ADMIN)

    again = post(admin, download)
    assert again.status_code == 400 and set(again.json()) == {"error"} and "export" in again.json()["error"]["fields"]
    assert PHONE_E164 not in again.content.decode()
    with tenant_scope(tw.tenant):
        assert AccessLog.objects.filter(action="export").count() == 1
    detail = admin.get(url).json()
    assert detail["exports"][0]["downloaded_by_username"] == "alpha_tenant_admin"
    assert post(admin, f"{url}exports/999999/download/").status_code == 404
    closed = post(admin, f"{url}close/", {"status": "completed", "resolution": "已交付"})
    assert closed.status_code == 200 and closed.json()["status"] == "completed"


def test_correction_deletion_and_objection_through_the_api(world):
    tw = world.a
    person = make_person(tw)
    admin = api(world, tw, Role.TENANT_ADMIN)

    correction = register(tw, "correction", details="姓名有误")
    url = f"{BASE}{correction.pk}/"
    post(admin, f"{url}verify-identity/", {"identity_method": "counter"})
    assert "customer" in post(admin, f"{url}correct/", {"name": "欧阳娜"}).json()["error"]["fields"]
    assert post(admin, f"{url}link-customer/", {"customer": person.customer.pk}).status_code == 200
    assert post(admin, f"{url}correct/", {"name": "欧阳娜"}).status_code == 200
    assert reload(tw, Customer, person.customer.pk).name == "欧阳娜"

    deletion = register(tw, "deletion", customer=person.customer)
    url = f"{BASE}{deletion.pk}/"
    post(admin, f"{url}verify-identity/", {"identity_method": "id_document"})
    preview = admin.get(f"{url}preview/").json()
    assert preview["total"] >= 1 and preview["total"] == sum(preview["counts"].values())
    wrong = post(admin, f"{url}erase/", {"confirm_number": "nope"})
    assert wrong.status_code == 400 and "confirm_number" in wrong.json()["error"]["fields"]
    erased = post(admin, f"{url}erase/", {"confirm_number": deletion.number})
    assert erased.status_code == 200 and erased.json()["total"] >= 1
    assert admin.get(url).json()["subject_erased_at"] is not None

    person2 = make_person(tw, phone="13900001234", name="李四")
    objection = register(tw, "objection", customer=person2.customer, phone="13900001234")
    url = f"{BASE}{objection.pk}/"
    with tenant_scope(tw.tenant, user=tw.user(Role.TENANT_ADMIN)):
        from compliance.services.consent import consent_record

        consent_record(actor=tw.user(Role.TENANT_ADMIN), purpose="marketing", granted=True, source="paper",
                       customer=person2.customer)
    post(admin, f"{url}verify-identity/", {"identity_method": "id_document"})
    assert post(admin, f"{url}object/", {"purposes": ["bogus"]}).status_code == 400
    response = post(admin, f"{url}object/", {"purposes": ["marketing"]})
    assert response.status_code == 200 and response.json()["withdrawals"] >= 1
    with tenant_scope(tw.tenant):
        assert not consent_allows("marketing", customer_id=person2.customer.pk)

    note = post(admin, f"{url}notes/", {"body": "已回电确认"})
    assert note.status_code == 201 and note.json()["events"][-1]["body"] == "已回电确认"
    assert post(admin, f"{url}assign/", {"owner": tw.members[Role.AGENT].pk}).status_code == 400
    assigned = post(admin, f"{url}assign/", {"owner": tw.members[Role.TENANT_ADMIN].pk})
    assert assigned.json()["owner_username"] == "alpha_tenant_admin"


def test_another_companys_request_is_404(world):
    dsr = register(world.a, "access")
    other = api(world, world.b, Role.TENANT_ADMIN)
    assert other.get(f"{BASE}{dsr.pk}/").status_code == 404
    assert post(other, f"{BASE}{dsr.pk}/notes/", {"body": "x"}).status_code == 404
    assert post(other, f"{BASE}{dsr.pk}/exports/1/download/").status_code == 404
    assert other.get(f"{BASE}{dsr.pk}/preview/").status_code == 404
    assert other.get(BASE).json()["results"] == []


def test_overview_api(world):
    tw = world.a
    register(tw, "access", received_at=timezone.now() - dt.timedelta(days=40))
    auditor = api(world, tw, Role.AUDITOR)
    response = auditor.get("/api/v1/compliance/overview/")
    assert response.status_code == 200
    body = response.json()
    assert body["requests"]["overdue"] == 1 and body["requests"]["next_due"][0]["clock"] == "overdue"
    assert {k["purpose"] for k in body["keys"]} >= {"data", "index"}
    assert body["retention"] and body["incidents"]["open_total"] == 0 and body["access_days"] == 30
    assert api(world, tw, Role.AGENT).get("/api/v1/compliance/overview/").status_code == 403
    assert api(world, world.b, Role.AUDITOR).get("/api/v1/compliance/overview/").json()["requests"]["open"] == 0
