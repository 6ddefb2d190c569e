"""The shipments API: the tracking-event batch (integration token of a tenant admin), waybills with
timeline / tickets / consents, masking, roles, and another tenant's waybill as 404."""
import datetime as dt
import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from shipments.models import DeliveryConsent, TrackingEvent, Waybill
from shipments.services import tracking_events_ingest
from tenancy.scoping import tenant_scope
from tenancy.services import api_token_create

from .conftest import ev

H = dt.timedelta(hours=1)
BATCH = "/api/v1/tracking-events/batch"


def _token_client(membership):
    with tenant_scope(membership.tenant, user=membership.user):
        _token, raw = api_token_create(actor=membership.user, name="ops feed")
    return Client(HTTP_AUTHORIZATION=f"Token {raw}")


def _post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


@pytest.fixture
def feed(world):
    return _token_client(world.a.members["tenant_admin"])


def test_batch_stores_valid_events_and_names_rejected_ones(world, feed, t0):
    events = [ev("a1", "SF1100001", "created", t0, waybill={"receiver_phone": "13812345678", "service_fee": "9.5"}),
              ev("a2", "SF1100001", "picked_up", t0 + H, site=world.a.branch.code),
              {"event_id": "a3", "waybill_number": "SF1100001", "event_type": "picked_up", "event_time": "yesterday"}]
    response = _post(feed, BATCH, {"events": events})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["received"], body["stored"], body["waybills_created"]) == (3, 2, 1)
    assert body["rejected"] == [{"index": 2, "event_id": "a3", "field": "event_time", "reason": body["rejected"][0]
                                 ["reason"]}] and body["rejected"][0]["reason"]
    again = _post(feed, BATCH, events[:2]).json()               # a bare list works too
    assert (again["stored"], again["duplicates"], again["tickets_opened"]) == (0, 2, 0)
    with tenant_scope(world.a.tenant):
        assert Waybill.objects.get(number="SF1100001").status == "picked_up"
    with tenant_scope(world.b.tenant):
        assert not Waybill.objects.exists()


@pytest.mark.parametrize(("payload", "field"), [
    ({"events": "nope"}, "events"), ([], "events"), ({"other": 1}, "events"),
])
def test_batch_shape_errors_are_400_with_the_field(feed, payload, field):
    response = _post(feed, BATCH, payload)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_batch_over_the_limit_is_refused_whole(world, feed, t0):
    events = [ev(f"o{i}", "SF1200001", "arrived_at_site", t0) for i in range(5001)]
    response = _post(feed, BATCH, events)
    assert response.status_code == 400 and "events" in response.json()["error"]["fields"]
    with tenant_scope(world.a.tenant):
        assert not TrackingEvent.objects.exists()


def test_batch_of_only_bad_events_is_400_with_every_rejection(feed):
    response = _post(feed, BATCH, [{"event_id": "z"}, 7])
    assert response.status_code == 400
    body = response.json()
    assert [r["index"] for r in body["rejected"]] == [0, 1] and body["error"]["code"] == "invalid"


@pytest.mark.parametrize("role", ["agent", "branch_manager", "sales_manager", "auditor", "executive"])
def test_only_integrations_of_a_tenant_admin_may_send_events(world, role, t0):
    response = _post(_token_client(world.a.members[role]), BATCH, [ev("p1", "SF1300001", "picked_up", t0)])
    assert response.status_code == 403
    with tenant_scope(world.a.tenant):
        assert not Waybill.objects.exists()


def test_waybill_list_and_detail_mask_personal_data_and_show_the_timeline(world, t0):
    with tenant_scope(world.a.tenant):
        tracking_events_ingest([
            ev("w0", "SF1400001", "created", t0, waybill={"receiver_phone": "13812345678",
                                                          "receiver_address": "上海市浦东新区世纪大道 100 号"}),
            ev("w2", "SF1400001", "damaged", t0 + 2 * H, site=world.a.branch.code),
            ev("w1", "SF1400001", "picked_up", t0 + H, site=world.a.branch.code)])
        waybill = Waybill.objects.get(number="SF1400001")
    client = world.client_for(world.a.user("agent"))
    listing = client.get("/api/v1/waybills/", {"number": "SF1400001"}).json()
    assert [w["number"] for w in listing["results"]] == ["SF1400001"]
    row = listing["results"][0]
    assert row["receiver_phone"] != "+8613812345678" and "5678" in row["receiver_phone"]
    assert "世纪大道 100 号" not in json.dumps(row, ensure_ascii=False)
    detail = client.get(f"/api/v1/waybills/{waybill.pk}/").json()
    assert [e["event_type"] for e in detail["timeline"]] == ["created", "picked_up", "damaged"]
    assert [(t["exception_kind"], t["status"]) for t in detail["tickets"]] == [("damaged", "new")]
    assert detail["status"] == "exception"
    other = world.client_for(world.b.user("agent"))
    assert other.get(f"/api/v1/waybills/{waybill.pk}/").status_code == 404
    assert other.get("/api/v1/waybills/", {"number": "SF1400001"}).json()["results"] == []


def test_waybill_list_query_count_does_not_grow_with_rows(world, t0):
    client = world.client_for(world.a.user("agent"))
    with tenant_scope(world.a.tenant):
        tracking_events_ingest([ev("q0", "SF1500000", "picked_up", t0)])
    client.get("/api/v1/waybills/")                       # warm the session and authorisation caches
    with CaptureQueriesContext(connection) as one:
        assert client.get("/api/v1/waybills/").status_code == 200
    with tenant_scope(world.a.tenant):
        tracking_events_ingest([ev(f"q{i}", f"SF15000{i:02d}", "picked_up", t0) for i in range(1, 30)])
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/api/v1/waybills/").json()["results"]) == 30
    assert len(many) == len(one)


def test_consent_is_recorded_by_agents_not_auditors(world, t0):
    with tenant_scope(world.a.tenant):
        tracking_events_ingest([ev("k0", "SF1600001", "out_for_delivery", t0)])
        waybill = Waybill.objects.get(number="SF1600001")
    url = f"/api/v1/waybills/{waybill.pk}/consents/"
    auditor = world.client_for(world.a.user("auditor"))
    assert _post(auditor, url, {"method": "locker", "source": "phone"}).status_code == 403
    agent = world.client_for(world.a.user("agent"))
    bad = _post(agent, url, {"method": "roof", "source": "phone"})
    assert bad.status_code == 400 and "method" in bad.json()["error"]["fields"]
    ok = _post(agent, url, {"method": "locker", "source": "phone", "note": "收件人电话同意放丰巢"})
    assert ok.status_code == 201 and ok.json()["method"] == "locker"
    assert _post(world.client_for(world.b.user("agent")), url, {"method": "locker", "source": "phone"}
                 ).status_code == 404
    with tenant_scope(world.a.tenant):
        assert list(DeliveryConsent.objects.values_list("method", "recorded_by_id")) == [
            ("locker", world.a.members["agent"].pk)]


def test_agent_lookup_by_waybill_number_finds_sender_and_receiver(world, t0):
    from customers.models import Customer

    with tenant_scope(world.a.tenant):
        sender = Customer.objects.create(number="B80000001", kind="account", name="寄件商贸")
        tracking_events_ingest([ev("lk0", "SF1700001", "created", t0, waybill={"sender_customer": sender.number})])
    page = world.client_for(world.a.user("agent")).get("/customers/lookup/", {"q": "SF1700001"})
    assert page.status_code == 200 and "寄件商贸" in page.content.decode()
    other = world.client_for(world.b.user("agent")).get("/customers/lookup/", {"q": "SF1700001"})
    assert "寄件商贸" not in other.content.decode()
