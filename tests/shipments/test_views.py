"""The waybill pages over HTTP: who may open them, another company's waybill, search by number,
phone and customer number, keyset paging with a constant query count, the waybill page
(masked personal data, timeline by event time, tickets, consents), the timeline fragment and the
customer 360 section."""
import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from compliance.models import AccessLog
from shipments.models import DeliveryConsent
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.factories.customers import build_customer_objects
from tests.factories.shipments import H, event, get_waybill, ingest, recent, waybill_events

HTMX = {"HTTP_HX_REQUEST": "true"}
CONSENT_ROLES = {Role.AGENT, Role.BRANCH_MANAGER, Role.TENANT_ADMIN}


@pytest.fixture
def cust(world):
    """The customers-app objects of both tenants (tests/factories/customers.py)."""
    world.a.cust = build_customer_objects(world.a, phone_prefix="1370000")
    world.b.cust = build_customer_objects(world.b, label="乙", phone_prefix="1390000")
    return world.a.cust


@pytest.fixture
def waybill(world):
    """SF-number waybill of tenant A with a damage scan (so an exception ticket), and B's twin."""
    for tw, label in ((world.a, ""), (world.b, "乙")):
        ingest(tw, waybill_events("SF1000001", start=recent(), site=tw.branch.code, label=label,
                                  sender_phone="13800001111", receiver_phone="13900002222"))
    return get_waybill(world.a, "SF1000001")


@pytest.mark.parametrize("role", Role.values)
def test_pages_per_role(world, waybill, role):
    client = world.client_for(world.a.user(role))
    for url in ("/waybills/", "/waybills/?q=13900002222&status=exception", f"/waybills/{waybill.pk}/"):
        assert client.get(url).status_code == 200, (role, url)
    assert client.get(f"/waybills/{waybill.pk}/timeline/", **HTMX).status_code == 200
    response = client.post(f"/waybills/{waybill.pk}/consents/", {"method": "locker", "source": "phone"})
    assert response.status_code == (302 if role in CONSENT_ROLES else 403), role


def test_anonymous_is_sent_to_login(world, waybill):
    from django.test import Client

    response = Client().get(f"/waybills/{waybill.pk}/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_another_companys_waybill_is_404(world, waybill):
    other = get_waybill(world.b, "SF1000001")
    client = world.client_for(world.a.user("tenant_admin"))
    assert client.get(f"/waybills/{other.pk}/").status_code == 404
    assert client.get(f"/waybills/{other.pk}/timeline/", **HTMX).status_code == 404
    assert client.post(f"/waybills/{other.pk}/consents/", {"method": "locker", "source": "phone"}).status_code == 404
    with tenant_scope(world.b.tenant):
        assert not DeliveryConsent.objects.exists()
    # searching by B's number finds nothing of B
    response = client.get("/waybills/?q=SF1000001")
    assert response.status_code == 302 and response.url == f"/waybills/{waybill.pk}/"


def test_search_by_number_phone_and_customer_number(world, cust):
    a = world.a
    t0 = recent()
    ingest(a, waybill_events("SF2000001", start=t0, site=a.branch.code, final=None,
                             sender_customer=cust.account.number, receiver_phone="13900002222"))
    ingest(a, waybill_events("sf2000002", start=t0, site=a.branch.code, final="delivered",
                             sender_phone="13900002222"))
    ingest(a, waybill_events("SF2000003", start=t0, site=a.branch.code, final=None))
    client = world.client_for(a.user("agent"))
    first = get_waybill(a, "SF2000001")
    # an exact number, in any case, opens the waybill
    assert client.get("/waybills/?q=sf2000001").url == f"/waybills/{first.pk}/"
    # numbers are stored upper-case however the operations system sent them
    assert client.get("/waybills/?q=sf2000002").url == f"/waybills/{get_waybill(a, 'SF2000002').pk}/"
    # a phone number, however it is typed, finds the waybills it sent or receives (blind index)
    response = client.get("/waybills/", {"q": "139 0000 2222"})
    numbers = {w.number for w in response.context["rows"]}
    assert numbers == {"SF2000001", "SF2000002"}
    text = response.content.decode()
    assert "13900002222" not in text and "139****2222" in text  # masked, never in full
    # the status filter narrows
    response = client.get("/waybills/", {"q": "13900002222", "status": "delivered"})
    assert [w.number for w in response.context["rows"]] == ["SF2000002"]
    # a customer number lists the customer's waybills
    response = client.get("/waybills/", {"q": cust.account.number.lower()})
    assert [w.number for w in response.context["rows"]] == ["SF2000001"]
    # no match says so
    response = client.get("/waybills/", {"q": "NOPE000000"})
    assert response.context["rows"] == [] and "没有匹配的运单" in response.content.decode()


def test_list_pages_by_keyset_with_a_constant_query_count(world):
    a = world.a
    client = world.client_for(a.user("agent"))
    counts = []
    for prefix, n in (("KA", 1), ("KB", 54)):
        events = []
        for i in range(n):
            events += waybill_events(f"{prefix}{i:06d}", start=recent(), site=a.branch.code, final=None,
                                     receiver_phone=f"1390000{i:04d}")
        ingest(a, events)
        client.get("/waybills/")  # warm the session and authorisation caches
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/waybills/")
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
    first = client.get("/waybills/")
    assert len(first.context["rows"]) == 50 and first.context["has_next"]
    second = client.get(f"/waybills/?after={first.context['next_after']}")
    assert len(second.context["rows"]) == 5 and not second.context["has_next"]
    assert not {w.pk for w in first.context["rows"]} & {w.pk for w in second.context["rows"]}


def test_waybill_page_shows_masked_parties_timeline_by_event_time_and_tickets(world, cust):
    a = world.a
    t0 = recent(5)
    events = waybill_events("SF3000001", start=t0, site=a.branch.code, final="damaged",
                            sender_customer=cust.account.number, sender_phone="13800001111",
                            receiver_phone="13900002222", promised=(t0 + dt.timedelta(days=1)).date())
    ingest(a, [events[0], events[3]])                    # out of order: the damage scan before the others
    ingest(a, [events[2], events[1],
               event("SF3000001-0", "SF3000001", "departed_site", t0 + 90 * dt.timedelta(minutes=1), a.branch.code)])
    waybill = get_waybill(a, "SF3000001")
    response = world.client_for(a.user("agent")).get(f"/waybills/{waybill.pk}/")
    assert response.status_code == 200
    text = response.content.decode()
    assert [e.event_type for e in response.context["events"]] == [
        "created", "picked_up", "departed_site", "arrived_at_site", "damaged"]
    local = timezone.localtime(t0 + 3 * H).strftime("%Y-%m-%d %H:%M")
    assert local in text                                  # event time in local (Shanghai) time
    assert "13800001111" not in text and "138****1111" in text
    assert "13900002222" not in text and "139****2222" in text
    assert "1588号" not in text and "****号" in text      # the address's numbers are masked
    assert "李四" not in text and "李*" in text            # so is the receiver's name
    assert f'href="/customers/{cust.account.pk}/"' in text  # the sender is a known customer
    assert response.context["overdue"] and "¥12.50" in text
    tickets = response.context["tickets"]
    assert len(tickets) == 1 and tickets[0].exception_kind == "damaged" and tickets[0].number in text
    assert re.search(r'hx-get="/pii/shipments\.waybill/\d+/receiver_phone/reveal/"', text)


def test_reveal_of_a_waybill_phone_goes_through_the_logged_endpoint(world, waybill):
    client = world.client_for(world.a.user("agent"))
    text = client.get(f"/waybills/{waybill.pk}/").content.decode()
    url = re.search(r'hx-get="(/pii/shipments\.waybill/\d+/receiver_phone/reveal/)"', text).group(1)
    response = client.post(url, {"reason": "核对收件人电话"}, **HTMX)
    assert response.status_code == 200 and "+8613900002222" in response.content.decode()
    with tenant_scope(world.a.tenant):
        log = AccessLog.objects.get(target_type="shipments.waybill", target_id=waybill.pk)
    assert log.fields == ["receiver_phone"] and log.reason == "核对收件人电话"


def test_timeline_fragment(world, waybill):
    client = world.client_for(world.a.user("sales_manager"))
    response = client.get(f"/waybills/{waybill.pk}/timeline/", **HTMX)
    assert response.status_code == 200
    text = response.content.decode()
    assert "<html" not in text and text.count('class="timeline-event') == 4
    # opened directly (not by htmx) it leads to the waybill page
    assert client.get(f"/waybills/{waybill.pk}/timeline/").url == f"/waybills/{waybill.pk}/"


def test_consent_form_keeps_what_was_typed_and_records(world, waybill):
    client = world.client_for(world.a.user("agent"))
    url = f"/waybills/{waybill.pk}/consents/"
    response = client.post(url, {"method": "drone", "source": "phone", "note": "收件人电话同意放丰巢柜"})
    assert response.status_code == 400
    form = response.context["consent_form"]
    assert form.errors["method"]
    text = response.content.decode()
    assert "收件人电话同意放丰巢柜" in text and 'value="phone" selected' in text
    assert "<details open>" in text                       # the form stays unfolded with its errors
    with tenant_scope(world.a.tenant):
        assert not DeliveryConsent.objects.exists()
    response = client.post(url, {"method": "locker", "source": "phone", "note": "收件人电话同意放丰巢柜"})
    assert response.status_code == 302 and response.url == f"/waybills/{waybill.pk}/"
    with tenant_scope(world.a.tenant):
        consent = DeliveryConsent.objects.get()
    assert consent.recorded_by_id == world.a.members["agent"].pk and consent.note == "收件人电话同意放丰巢柜"
    text = client.get(f"/waybills/{waybill.pk}/").content.decode()
    assert "收件人电话同意放丰巢柜" in text


def test_customer_360_lists_recent_waybills_within_its_query_budget(world, cust):
    a = world.a
    client = world.client_for(a.user("agent"))
    url = f"/customers/{cust.account.pk}/"
    client.get(url)  # warm the caches
    with CaptureQueriesContext(connection) as none_yet:
        assert client.get(url).status_code == 200
    events = []
    for i in range(14):
        events += waybill_events(f"CW{i:06d}", start=recent(10) + i * H, site=a.branch.code, final=None,
                                 sender_customer=cust.account.number)
    events += waybill_events("CW-RECEIVED", start=recent(1), site=a.branch.code, final=None,
                             receiver_phone="13700000001")  # the account's phone: linked as receiver
    ingest(a, events)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.status_code == 200
    assert len(many.captured_queries) == len(none_yet.captured_queries)
    page_queries = [q for q in many.captured_queries if "set_config" not in q["sql"]]
    assert len(page_queries) <= 8, "\n".join(q["sql"][:120] for q in page_queries)
    rows_url = f"/waybills/customer/{cust.account.pk}/"
    assert f'hx-get="{rows_url}"' in response.content.decode()  # the card loads its rows right after
    with CaptureQueriesContext(connection) as fragment:
        response = client.get(rows_url, **HTMX)
    assert response.status_code == 200
    rows = response.context["waybills"]
    assert len(rows) == 10
    assert rows[0].number == "CW-RECEIVED"               # newest first, as receiver too
    assert [w.number for w in rows[1:]] == [f"CW{i:06d}" for i in range(13, 4, -1)]
    assert len([q for q in fragment.captured_queries if "waybill" in q["sql"]]) == 1
    text = response.content.decode()
    assert f'hx-get="/waybills/{rows[0].pk}/timeline/"' in text and "CW000004" not in text
    assert client.get(rows_url).url == f"/waybills/?q={cust.account.number}"
    other = world.b.cust.account
    assert client.get(f"/waybills/customer/{other.pk}/", **HTMX).status_code == 404
