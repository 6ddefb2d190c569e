"""Consent over HTTP: the consent page (lookup by customer number or phone number, the state per
purpose, the history, recording a grant and a withdrawal), the panel on the customer 360 page,
the consent API, and the selectors the survey and marketing jobs ask (consent_allows flips with
the newest answer; consent_allowed answers for many people in two queries)."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compliance.models import ConsentRecord
from compliance.selectors.consent import consent_allowed, consent_allows
from compliance.services.consent import consent_record
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tenancy.selectors import blind_indexes_for

from .dsr_world import PHONE, PHONE_E164, PHONE_MASKED, make_person

pytestmark = pytest.mark.django_db
URL = "/compliance/consent/"
API = "/api/v1/compliance/consents/"


def client(world, tw, role):
    return world.client_for(tw.user(role))


def records(tw) -> list[ConsentRecord]:
    with tenant_scope(tw.tenant):
        return list(ConsentRecord.objects.order_by("id"))


def record(c, url, **fields):
    return c.post(url, {"action": "record", **fields})


def test_lookup_by_customer_number_record_and_withdraw(world):
    tw = world.a
    person = make_person(tw)
    agent = client(world, tw, Role.AGENT)
    found = agent.post(URL, {"action": "lookup", "lookup": person.customer.number})
    assert found.status_code == 302 and found["Location"] == f"{URL}?customer={person.customer.pk}"
    page = agent.get(found["Location"])
    assert page.status_code == 200
    state = {p["purpose"]: p["allowed"] for p in page.context["state"]}
    assert state == {"service": True, "surveys": False, "marketing": False}       # the defaults
    assert 'id="consent-record"' in page.content.decode()

    assert record(agent, found["Location"], purpose="surveys", granted="", source="phone_call").status_code == 400
    assert records(tw) == []
    assert record(agent, found["Location"], purpose="surveys", granted="1", source="phone_call",
                  note="来电同意").status_code == 302
    with tenant_scope(tw.tenant):
        assert consent_allows("surveys", customer_id=person.customer.pk)
    page = agent.get(found["Location"])
    assert {p["purpose"]: p["allowed"] for p in page.context["state"]}["surveys"] is True
    assert "来电同意" in page.content.decode()
    assert record(agent, found["Location"], purpose="surveys", granted="0", source="sms_reply").status_code == 302
    with tenant_scope(tw.tenant):
        assert not consent_allows("surveys", customer_id=person.customer.pk)
    history = agent.get(found["Location"]).context["history"]
    assert [(r.granted, r.source) for r in history] == [(False, "sms_reply"), (True, "phone_call")]
    assert history[0].recorded_by == tw.user(Role.AGENT)

    # unknown number, the other company's customer
    assert agent.post(URL, {"action": "lookup", "lookup": "C99999999"}).status_code == 400
    assert agent.get(f"{URL}?customer={person.customer.pk}", HTTP_HOST="testserver").status_code == 200
    assert client(world, world.b, Role.AGENT).get(f"{URL}?customer={person.customer.pk}").status_code == 404


def test_lookup_by_phone_never_writes_the_number_back(world):
    tw = world.a
    make_person(tw)
    agent = client(world, tw, Role.AGENT)
    response = agent.post(URL, {"action": "lookup", "lookup": PHONE})
    assert response.status_code == 200
    text = response.content.decode()
    assert PHONE_MASKED in text and PHONE not in text and PHONE_E164 not in text
    token = response.context["subject"]["token"]
    recorded = record(agent, URL, subject_token=token, purpose="marketing", granted="1", source="waybill")
    assert recorded.status_code == 200
    [row] = records(tw)
    assert row.phone == PHONE_E164 and row.customer_id is None and row.granted
    with tenant_scope(tw.tenant):
        bidx = blind_indexes_for("phone", PHONE)[0]
        assert consent_allows("marketing", phone_bidx=bidx)
    # a token is bound to the person who looked up and to the company
    other = client(world, tw, Role.SALES_MANAGER)
    refused = record(other, URL, subject_token=token, purpose="marketing", granted="0", source="waybill")
    assert refused.status_code == 400
    assert record(agent, URL, subject_token="garbage", purpose="marketing", granted="0",
                  source="waybill").status_code == 400
    assert len(records(tw)) == 1
    assert agent.post(URL, {"action": "lookup", "lookup": "not a number"}).status_code == 400


def test_who_may_see_and_record(world):
    tw = world.a
    person = make_person(tw)
    url = f"{URL}?customer={person.customer.pk}"
    auditor = client(world, tw, Role.AUDITOR)
    page = auditor.get(url)
    assert page.status_code == 200 and 'id="consent-record"' not in page.content.decode()
    assert record(auditor, url, purpose="marketing", granted="1", source="paper").status_code == 403
    assert client(world, tw, Role.EXECUTIVE).get(URL).status_code == 403
    assert records(tw) == []


def test_customer_360_consent_panel(world):
    tw = world.a
    person = make_person(tw)
    admin = tw.user(Role.TENANT_ADMIN)
    with tenant_scope(tw.tenant, user=admin):
        # an answer given for the phone number counts for the customer who has it
        consent_record(actor=admin, purpose="marketing", granted=True, source="waybill", phone=PHONE)
    agent = client(world, tw, Role.AGENT)
    page = agent.get(reverse("customers:detail", args=[person.customer.pk])).content.decode()
    panel_url = reverse("compliance:consent_panel", args=[person.customer.pk])
    assert f'hx-get="{panel_url}"' in page                           # loaded after the page (query budget)
    response = agent.get(panel_url)
    assert response.status_code == 200
    state = {p["purpose"]: p["allowed"] for p in response.context["state"]}
    assert state == {"service": True, "surveys": False, "marketing": True}
    text = response.content.decode()
    assert 'id="consent-panel"' in text and f"{URL}?customer={person.customer.pk}" in text and "<html" not in text
    assert client(world, tw, Role.EXECUTIVE).get(panel_url).status_code == 403
    assert client(world, world.b, Role.AGENT).get(panel_url).status_code == 404


def test_consent_allowed_is_set_based(world):
    tw = world.a
    admin = tw.user(Role.TENANT_ADMIN)
    people = [make_person(tw, phone=f"1390000{i:04d}", name=f"客户{i}") for i in range(6)]
    with tenant_scope(tw.tenant, user=admin):
        pairs = [(p.customer.pk, blind_indexes_for("phone", f"1390000{i:04d}")[0]) for i, p in enumerate(people)]
        consent_record(actor=admin, purpose="surveys", granted=True, source="paper", customer=people[0].customer)
        consent_record(actor=admin, purpose="surveys", granted=True, source="paper", phone="13900000001")
        consent_record(actor=admin, purpose="surveys", granted=True, source="paper", customer=people[2].customer)
        consent_record(actor=admin, purpose="surveys", granted=False, source="sms_reply", phone="13900000002")
        phone_only = (None, blind_indexes_for("phone", "13900000001")[0])
        with CaptureQueriesContext(connection) as queries:
            allowed = consent_allowed("surveys", [*pairs, phone_only])
        assert len(queries.captured_queries) <= 2
        assert allowed == {pairs[0], pairs[1], phone_only}          # person 2 withdrew later by phone
        assert consent_allowed("service", pairs) == set(pairs)       # service notifications: yes by default


def test_consent_api(world):
    tw = world.a
    person = make_person(tw)
    agent = client(world, tw, Role.AGENT)
    assert agent.get(API).status_code == 400
    created = agent.post(API, {"purpose": "marketing", "granted": True, "source": "web_form", "phone": PHONE},
                         content_type="application/json")
    assert created.status_code == 201 and created.json()["phone"] == PHONE_MASKED
    bad = agent.post(API, {"purpose": "marketing", "granted": True, "source": "web_form"},
                     content_type="application/json")
    assert bad.status_code == 400 and "customer" in bad.json()["error"]["fields"]
    listed = agent.get(API, {"customer": person.customer.pk})
    assert listed.status_code == 200
    body = listed.json()
    assert {s["purpose"]: s["allowed"] for s in body["state"]}["marketing"] is True
    assert len(body["results"]) == 1 and PHONE_E164 not in listed.content.decode()
    withdrawn = agent.post(API, {"purpose": "marketing", "granted": False, "source": "sms_reply",
                                 "customer": person.customer.pk}, content_type="application/json")
    assert withdrawn.status_code == 201
    body = agent.get(API, {"phone": PHONE}).json()
    assert {s["purpose"]: s["allowed"] for s in body["state"]}["marketing"] is True   # phone-only view
    body = agent.get(API, {"customer": person.customer.pk}).json()
    assert {s["purpose"]: s["allowed"] for s in body["state"]}["marketing"] is False
    # the auditor reads, never writes; the other company sees nothing
    auditor = client(world, tw, Role.AUDITOR)
    assert auditor.get(API, {"customer": person.customer.pk}).status_code == 200
    assert auditor.post(API, {"purpose": "marketing", "granted": True, "source": "paper", "phone": PHONE},
                        content_type="application/json").status_code == 403
    other = client(world, world.b, Role.AGENT)
    assert other.get(API, {"customer": person.customer.pk}).status_code == 400
    assert other.get(API, {"phone": PHONE}).json()["results"] == []
