"""The customers REST API (/api/v1/): every endpoint's happy path; 400s that name the field and
change nothing; 403 for roles without the permission (an auditor on every write); 404 for
another tenant's objects and for leads / deals the caller may not see; personal values masked;
cursor pagination; constant query counts; price quotes, merges, lead routing and winning deals."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers import services
from customers.models import (
    Activity,
    Address,
    Contact,
    Contract,
    ContractLane,
    Customer,
    CustomerPhone,
    CustomerTag,
    DuplicateCandidate,
    Lead,
    MergeRecord,
    Opportunity,
    QuoteLine,
    SalesTeam,
    Tag,
)
from tenancy.models import Membership, User
from tenancy.scoping import tenant_scope
from tenancy.services import api_token_create

LANE = {"origin_province": "上海", "destination_province": "浙江", "min_weight_kg": "0", "max_weight_kg": "3",
        "first_weight_price": "6.00", "additional_kg_price": "2.00"}


class Api:
    """A logged-in API client with JSON helpers."""

    def __init__(self, client: Client):
        self.client = client

    def get(self, url, params=None):
        return self.client.get(url, params or {})

    def post(self, url, data=None):
        return self.client.post(url, json.dumps(data if data is not None else {}), content_type="application/json")

    def patch(self, url, data):
        return self.client.patch(url, json.dumps(data), content_type="application/json")

    def delete(self, url):
        return self.client.delete(url)


class Helpers:
    """Make data in a tenant through the services, as a given member."""

    def __init__(self, world):
        self.world = world

    def api(self, role: str = "sales_manager", tw=None) -> Api:
        tw = tw or self.world.a
        return Api(self.world.client_for(tw.user(role)))

    def api_for(self, membership: Membership) -> Api:
        return Api(self.world.client_for(membership.user))

    def token_api(self, membership: Membership) -> Api:
        with tenant_scope(membership.tenant, user=membership.user):
            _token, raw = api_token_create(actor=membership.user, name="integration")
        return Api(Client(HTTP_AUTHORIZATION=f"Token {raw}"))

    def scope(self, tw=None, user=None):
        tw = tw or self.world.a
        return tenant_scope(tw.tenant, user=user or tw.user("tenant_admin"))

    def member(self, username: str, role: str = "sales_manager", tw=None) -> Membership:
        tw = tw or self.world.a
        with tenant_scope(tw.tenant):
            user = User.objects.create_user(username, None, display_name=f"{username}名",
                                            home_tenant=tw.tenant, last_active_tenant=tw.tenant)
            membership = Membership(user=user, role=role, title="")
            membership.save()
        return membership

    def account(self, name="云桥电子商务有限公司", phones=("13812345678",), tw=None, **fields):
        tw = tw or self.world.a
        admin = tw.user("tenant_admin")
        with tenant_scope(tw.tenant, user=admin):
            return services.customer_create(actor=admin, kind="account", name=name, phones=list(phones), **fields)

    def person(self, name="张三丰", phones=("13912345678",), tw=None, **fields):
        tw = tw or self.world.a
        admin = tw.user("tenant_admin")
        with tenant_scope(tw.tenant, user=admin):
            return services.customer_create(actor=admin, kind="person", name=name, phones=list(phones), **fields)

    def contract(self, customer, lanes=(LANE,), activate=True, tw=None, start=None, end=None):
        tw = tw or self.world.a
        admin = tw.user("tenant_admin")
        today = timezone.localdate()
        with tenant_scope(tw.tenant, user=admin):
            return services.contract_create(actor=admin, customer=customer, start_date=start or today,
                                            end_date=end or today + dt.timedelta(days=365), lanes=list(lanes),
                                            activate=activate)

    def team(self, name, members, provinces=(), industries=(), priority=100, tw=None):
        tw = tw or self.world.a
        admin = tw.user("tenant_admin")
        with tenant_scope(tw.tenant, user=admin):
            return services.sales_team_create(actor=admin, name=name, provinces=list(provinces),
                                              industries=list(industries), priority=priority, members=list(members))

    def lead(self, owner: Membership | None = None, tw=None, **data):
        """A lead captured by hand, then given to `owner` (or assigned by the team rules)."""
        tw = tw or self.world.a
        admin = tw.user("tenant_admin")
        values = {"company_name": "鲜果供应链有限公司", "contact_name": "王芳", "phone": "13700001111",
                  "province": "浙江", "city": "杭州"}
        values.update(data)
        with tenant_scope(tw.tenant, user=admin):
            lead = services.lead_create(actor=admin, auto_assign=owner is None, **values)
            if owner is not None:
                lead = services.lead_assign(actor=admin, lead=lead, owner=owner)
        return lead

    def opportunity(self, owner: Membership, customer=None, lines=(LANE,), tw=None, **data):
        tw = tw or self.world.a
        customer = customer or self.account(tw=tw)
        with tenant_scope(tw.tenant, user=owner.user):
            opportunity = services.opportunity_create(actor=owner.user, customer=customer,
                                                      name=data.pop("name", "续约"), **data)
            for line in lines:
                services.quote_line_add(actor=owner.user, opportunity=opportunity, **line)
        return opportunity


@pytest.fixture
def cx(world):
    return Helpers(world)


ID_NUMBER = "11010519491231002X"
CREDIT_CODE = "91330100MA27XYW016"
TODAY = timezone.localdate


def errors(response) -> set[str]:
    """The field names of a 400 in the error envelope."""
    assert response.status_code == 400, (response.status_code, response.content)
    body = response.json()["error"]
    assert body["code"] == "invalid"
    return set(body["fields"])


def results(response) -> list[dict]:
    assert response.status_code == 200, (response.status_code, response.content)
    return response.json()["results"]


def counts(cx, *models) -> dict:
    with cx.scope():
        return {m.__name__: m.objects.count() for m in models}


# --- customers -------------------------------------------------------------------------------------

def test_create_a_person_and_read_it_back_masked(cx):
    api = cx.api("sales_manager")
    response = api.post("/api/v1/customers/", {
        "kind": "person", "name": "张三丰", "phones": ["138 1234 5678", "13912345678"], "email": "zhang@example.com",
        "id_number": ID_NUMBER, "province": "浙江", "city": "杭州", "delivery_window": "evening"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "person" and body["number"].startswith("C") and body["status"] == "active"
    assert body["name"] == "张*丰"
    assert body["primary_phone"] == "138****5678" and body["primary_phone_id"]
    assert body["email"] == "z***@example.com"
    assert body["id_number"].startswith("110") and body["id_number"].endswith("002X") and "*" in body["id_number"]
    assert (body["province"], body["city"], body["delivery_window"]) == ("浙江省", "杭州市", "evening")
    assert body["owner"] is None and body["tags"] == [] and body["merged_into"] is None
    for url in (f"/api/v1/customers/{body['id']}/", "/api/v1/customers/", f"/api/v1/customers/{body['id']}/360/",
                "/api/v1/customers/lookup/?q=13812345678"):
        response = api.get(url)
        assert response.status_code == 200, url
        content = response.content.decode()
        for secret in ("13812345678", "13912345678", "zhang@example", ID_NUMBER, "张三丰"):
            assert secret not in content, (url, secret)


def test_create_an_account_with_owner_and_company_name_in_full(cx, world):
    sales = world.a.members["sales_manager"]
    response = cx.api("agent").post("/api/v1/customers/", {
        "kind": "account", "name": "云桥电子商务有限公司", "credit_code": CREDIT_CODE.lower(), "industry": "ecommerce",
        "credit_rating": "AA", "settlement_type": "monthly", "owner": sales.pk, "source_channel": "web"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "云桥电子商务有限公司" and body["number"].startswith("B")
    assert body["credit_code"] == CREDIT_CODE
    assert body["owner"] == {"id": sales.pk, "display_name": sales.user.display_name}
    assert body["primary_phone"] == "" and body["primary_phone_id"] is None


def test_create_rejects_bad_fields_by_name_and_creates_nothing(cx, world):
    api = cx.api("sales_manager")
    cases = [
        ({"kind": "account", "name": "甲公司", "phones": ["12345"]}, "phones"),
        ({"kind": "account", "name": "甲公司", "phones": "13812345678"}, "phones"),
        ({"kind": "account", "name": "甲公司", "credit_code": "91330100MA27XYW010"}, "credit_code"),
        ({"kind": "robot", "name": "甲公司"}, "kind"),
        ({"kind": "account", "name": "   "}, "name"),
        ({"kind": "account"}, "name"),
        ({"kind": "account", "name": "甲公司", "district": "区" * 41}, "district"),
        ({"kind": "account", "name": "甲公司", "owner": world.b.members["sales_manager"].pk}, "owner"),
        ({"kind": "account", "name": "甲公司", "owner": world.a.members["auditor"].pk}, "owner"),
        ({"kind": "account", "name": "甲公司", "owner": "x"}, "owner"),
        ({"kind": "account", "name": "甲公司", "province": "火星"}, "province"),
        ({"kind": "account", "name": "甲公司", "province": "浙江", "city": "纽约"}, "city"),
        ({"kind": "person", "name": "李四", "email": "not-an-email"}, "email"),
        ({"kind": "person", "name": "李四", "id_number": "110105194912310021"}, "id_number"),
        ({"kind": "person", "name": "李四", "credit_code": CREDIT_CODE}, "credit_code"),
        ({"kind": "person", "name": "李四", "status": "merged"}, "status"),
        ({"kind": "person", "name": "李四", "industry": "mining"}, "industry"),
    ]
    before = counts(cx, Customer, CustomerPhone)
    for payload, field in cases:
        assert field in errors(api.post("/api/v1/customers/", payload)), payload
    assert counts(cx, Customer, CustomerPhone) == before


def test_partial_update_changes_only_what_is_sent(cx, world):
    customer = cx.account(province="浙江", city="杭州", notes="老客户")
    sales = world.a.members["sales_manager"]
    api = cx.api("sales_manager")
    url = f"/api/v1/customers/{customer.pk}/"
    response = api.patch(url, {"city": "宁波", "owner": sales.pk, "delivery_notes": "下午送"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["province"], body["city"], body["owner"]["id"]) == ("浙江省", "宁波市", sales.pk)
    assert body["notes"] == "老客户" and body["delivery_notes"] == "下午送"
    assert "city" in errors(api.patch(url, {"city": "纽约"}))
    assert "owner" in errors(api.patch(url, {"owner": world.b.members["sales_manager"].pk}))
    assert "credit_rating" in errors(api.patch(url, {"credit_rating": "Z"}))
    with cx.scope():
        assert Customer.objects.get(pk=customer.pk).city == "宁波市"
    person = cx.person()
    assert "credit_code" in errors(api.patch(f"/api/v1/customers/{person.pk}/", {"credit_code": CREDIT_CODE}))


def test_list_filters_search_and_ordering(cx, world):
    admin = world.a.user("tenant_admin")
    sales = world.a.members["sales_manager"]
    big = cx.account(name="云桥电子商务有限公司", phones=["13812345678"], owner=sales)
    small = cx.account(name="云桥物流有限公司", phones=["13600000001"], province="浙江", city="宁波")
    person = cx.person(name="张三丰", phones=["13912345678"])
    twin = cx.person(name="张三丰", phones=["13912345678"])
    with cx.scope():
        tag = services.tag_create(actor=admin, name="VIP")
        services.customer_tag_add(actor=admin, customer=big, tag=tag)
        services.customer_merge(actor=admin, survivor=person, merged=twin)
    api = cx.api("agent")

    def ids(params):
        return [row["id"] for row in results(api.get("/api/v1/customers/", params))]

    assert ids({}) == sorted([small.pk, big.pk, person.pk], reverse=True)
    assert ids({"q": "138 1234 5678"}) == [big.pk]
    assert ids({"q": person.number}) == [person.pk]
    assert set(ids({"q": "云桥"})) == {big.pk, small.pk}
    assert ids({"kind": "person"}) == [person.pk]
    assert ids({"tag": tag.pk}) == [big.pk]
    assert ids({"owner": sales.pk}) == [big.pk]
    assert ids({"status": "merged"}) == [twin.pk]
    assert ids({"province": "浙江", "city": "宁波"}) == [small.pk]
    assert ids({"ordering": "name"})[0] in (person.pk, big.pk, small.pk)
    assert ids({"tag": tag.pk, "kind": "person"}) == []
    for bad in ({"kind": "robot"}, {"tag": "abc"}, {"owner": "-1"}, {"status": "gone"}, {"segment": "x"},
                {"tag": str(2**70)}):
        assert set(bad) <= errors(api.get("/api/v1/customers/", bad)), bad


def test_list_is_cursor_paginated(cx):
    made = [cx.account(name=f"分页公司{i}", phones=[]) for i in range(5)]
    api = cx.api("agent")
    seen, url, pages = [], "/api/v1/customers/?page_size=2", 0
    while url:
        body = api.get(url).json()
        assert len(body["results"]) <= 2
        seen += [row["id"] for row in body["results"]]
        url, pages = body["next"], pages + 1
        if url:
            assert "cursor=" in url
    assert pages == 3
    assert seen == sorted((c.pk for c in made), reverse=True)


def test_list_query_count_does_not_grow_with_the_page(cx, world):
    admin = world.a.user("tenant_admin")
    with cx.scope():
        tags = [services.tag_create(actor=admin, name=f"标签{i}") for i in range(2)]

    def seed(start, count):
        for i in range(start, start + count):
            customer = cx.account(name=f"批量{i}有限公司", phones=[f"1360000{i:04d}", f"1370000{i:04d}"],
                                  owner=world.a.members["sales_manager"])
            with cx.scope():
                for tag in tags:
                    services.customer_tag_add(actor=admin, customer=customer, tag=tag)

    api = cx.api("sales_manager")
    seed(0, 3)
    api.get("/api/v1/customers/")  # warm the session and authorisation caches
    with CaptureQueriesContext(connection) as small:
        assert len(results(api.get("/api/v1/customers/"))) == 3
    seed(3, 27)
    with CaptureQueriesContext(connection) as large:
        rows = results(api.get("/api/v1/customers/"))
    assert len(rows) == 30
    assert all(len(row["tags"]) == 2 and row["primary_phone"].startswith("136") for row in rows)
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]


def test_lookup_by_phone_number_and_name_leads_merged_records_to_the_survivor(cx, world):
    admin = world.a.user("tenant_admin")
    account = cx.account(name="云桥电子商务有限公司", phones=["13812345678"])
    person = cx.person(name="李小龙", phones=["13912345678"])
    twin = cx.person(name="李小龙", phones=["13600000009"])
    with cx.scope():
        services.customer_merge(actor=admin, survivor=person, merged=twin)
    api = cx.api("agent")

    def lookup(q):
        response = api.get("/api/v1/customers/lookup/", {"q": q})
        assert response.status_code == 200, response.content
        return response.json()

    rows = lookup("13812345678")
    assert [r["id"] for r in rows] == [account.pk]
    assert rows[0] == {"id": account.pk, "number": account.number, "kind": "account", "name": "云桥电子商务有限公司",
                       "status": "active", "province": "", "city": "", "primary_phone": "138****5678"}
    assert [r["id"] for r in lookup(twin.number)] == [person.pk]
    assert [r["name"] for r in lookup("李小龙")] == ["李*龙"]
    assert lookup("没有这个人") == []
    assert "q" in errors(api.get("/api/v1/customers/lookup/"))
    assert "q" in errors(api.get("/api/v1/customers/lookup/", {"q": "x" * 101}))
    assert "13812345678" not in api.get("/api/v1/customers/lookup/", {"q": "13812345678"}).content.decode()


def test_customer_360_has_every_section_masked_in_one_query(cx, world):
    admin = world.a.user("tenant_admin")
    sales = world.a.members["sales_manager"]
    account = cx.account(name="云桥电子商务有限公司", phones=["13812345678"], email="ops@yunqiao.cn")
    twin = cx.account(name="云桥电子商务", phones=["13600000001"])
    with cx.scope():
        services.address_add(actor=admin, customer=account, province="上海", city="浦东新区",
                             street="人民路88号3栋1201室")
        services.contact_create(actor=admin, customer=account, name="李娜", phone="13700003333",
                                email="lina@yunqiao.cn")
        tag = services.tag_create(actor=admin, name="VIP", color="danger")
        services.customer_tag_add(actor=admin, customer=account, tag=tag)
        services.activity_log(actor=admin, kind="visit", summary="上门拜访", customer=account)
        services.customer_merge(actor=admin, survivor=account, merged=twin)
    cx.contract(account)
    cx.opportunity(sales, customer=account, expected_monthly_revenue="8800.5")
    api = cx.api("agent")
    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"/api/v1/customers/{account.pk}/360/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["customer"]["id"] == account.pk and body["customer"]["primary_phone"] == "138****5678"
    assert body["customer"]["tags"] == [{"id": tag.pk, "name": "VIP", "color": "danger"}]
    assert {p["phone"] for p in body["phones"]} == {"138****5678", "136****0001"}
    assert body["addresses"][0]["street"] == "人民路**号*栋****室"
    assert body["contacts"][0]["name"] == "李*" and body["contacts"][0]["phone"] == "137****3333"
    assert body["contacts"][0]["email"] == "l***@yunqiao.cn"
    assert body["tags"] == [{"id": tag.pk, "name": "VIP", "color": "danger"}]
    assert body["contracts"][0]["status"] == "active"
    assert body["activities"][0]["summary"] == "上门拜访"
    assert body["opportunities"][0]["expected_monthly_revenue"] == "8800.50"
    assert body["merges"][0]["merged_number"] == twin.number
    content = response.content.decode()
    for secret in ("13812345678", "13700003333", "13600000001", "88号", "1201", "lina@", "ops@"):
        assert secret not in content, secret
    assert len([q for q in queries.captured_queries if "customers_" in q["sql"]]) == 1
    assert api.get("/api/v1/customers/999999999/360/").status_code == 404


def test_nested_writes_on_a_customer(cx, world):
    account = cx.account(phones=["13812345678"])
    person = cx.person()
    api = cx.api("sales_manager")
    base = f"/api/v1/customers/{account.pk}"

    response = api.post(f"{base}/phones/", {"phone": "13700002222", "label": "work"})
    assert response.status_code == 201, response.content
    assert response.json()["phone"] == "137****2222" and response.json()["is_primary"] is False
    assert "phone" in errors(api.post(f"{base}/phones/", {"phone": "137 0000 2222"}))
    assert "phone" in errors(api.post(f"{base}/phones/", {"phone": "abc"}))
    assert "label" in errors(api.post(f"{base}/phones/", {"phone": "13700002223", "label": "fax"}))

    address = {"province": "上海", "city": "浦东新区", "street": "人民路88号3栋1201室", "postal_code": "200120"}
    assert "postal_code" in errors(api.post(f"{base}/addresses/", {**address, "postal_code": "2001"}))
    assert "street" in errors(api.post(f"{base}/addresses/", {**address, "street": ""}))
    response = api.post(f"{base}/addresses/", address)
    assert response.status_code == 201, response.content
    assert response.json()["street"] == "人民路**号*栋****室" and response.json()["is_default"] is True

    assert "customer" in errors(api.post(f"/api/v1/customers/{person.pk}/contacts/", {"name": "王五",
                                                                                         "phone": "13700004444"}))
    assert "phone" in errors(api.post(f"{base}/contacts/", {"name": "王五"}))
    response = api.post(f"{base}/contacts/", {"name": "王五", "title": "仓库主管", "phone": "13700004444"})
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "王*" and response.json()["phone"] == "137****4444"

    with cx.scope():
        tag = services.tag_create(actor=world.a.user("tenant_admin"), name="月结大客户")
    with cx.scope(tw=world.b):
        b_tag = services.tag_create(actor=world.b.user("tenant_admin"), name="B标签")
    assert "tag" in errors(api.post(f"{base}/tags/", {"tag": b_tag.pk}))
    response = api.post(f"{base}/tags/", {"tag": tag.pk})
    assert response.status_code == 201 and response.json()["id"] == tag.pk
    assert api.get(f"{base}/").json()["tags"][0]["name"] == "月结大客户"
    assert api.delete(f"{base}/tags/{tag.pk}/").status_code == 204
    assert api.get(f"{base}/").json()["tags"] == []
    assert api.delete(f"{base}/tags/abc/").status_code == 404
    assert api.delete(f"{base}/tags/{b_tag.pk}/").status_code == 404

    response = api.post(f"{base}/activities/", {"kind": "call", "summary": "确认月结", "next_action": "寄合同",
                                                "next_action_date": (TODAY() + dt.timedelta(days=2)).isoformat()})
    assert response.status_code == 201, response.content
    assert response.json()["customer"] == account.pk and response.json()["owner"]["id"] == (
        world.a.members["sales_manager"].pk)
    assert "summary" in errors(api.post(f"{base}/activities/", {"kind": "call", "summary": ""}))
    assert "next_action" in errors(api.post(f"{base}/activities/", {
        "kind": "call", "summary": "x", "next_action_date": TODAY().isoformat()}))
    assert "next_action_date" in errors(api.post(f"{base}/activities/", {"kind": "call", "summary": "x",
                                                                         "next_action_date": "2026-02-30"}))
    assert "kind" in errors(api.post(f"{base}/activities/", {"kind": "fax", "summary": "x"}))
    assert "occurred_at" in errors(api.post(f"{base}/activities/", {"kind": "call", "summary": "x",
                                                                    "occurred_at": "0438-07-01T05:43:05Z"}))
    assert "occurred_at" in errors(api.post(f"{base}/activities/", {"kind": "call", "summary": "x",
                                                                    "occurred_at": "2999-01-01T00:00:00Z"}))
    assert [a["summary"] for a in results(api.get(f"{base}/activities/"))] == ["确认月结"]
    with cx.scope():
        assert account.phones.count() == 2 and account.addresses.count() == 1 and account.contacts.count() == 1


def test_contacts_addresses_and_phones_as_resources_with_reveal(cx, world):
    admin = world.a.user("tenant_admin")
    account = cx.account(phones=["13812345678", "13600000001"])
    other = cx.account(name="另一家公司", phones=[])
    with cx.scope():
        contact = services.contact_create(actor=admin, customer=account, name="李娜", phone="13700003333")
        services.contact_create(actor=admin, customer=other, name="赵六", phone="13700005555")
        address = services.address_add(actor=admin, customer=account, province="上海", city="浦东新区",
                                       street="人民路88号")
        primary, second = account.phones.order_by("-is_primary", "id")
    api = cx.api("sales_manager")

    rows = results(api.get("/api/v1/contacts/", {"customer": account.pk}))
    assert [r["id"] for r in rows] == [contact.pk]
    assert len(results(api.get("/api/v1/contacts/"))) == 2
    url = f"/api/v1/contacts/{contact.pk}/"
    response = api.patch(url, {"title": "经理"})
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "经理" and response.json()["phone"] == "137****3333"
    assert "phone" in errors(api.patch(url, {"phone": "bad"}))
    assert "name" in errors(api.patch(url, {"name": ""}))

    reveal = api.post("/api/v1/pii/reveal/", {"record_type": "customers.contact", "record_id": contact.pk,
                                              "field": "phone", "reason": "回访核对"})
    assert reveal.status_code == 200 and reveal.json()["value"] == "+8613700003333"
    phone_row = api.get(f"/api/v1/customer-phones/{second.pk}/").json()
    assert phone_row == {"id": second.pk, "customer": account.pk, "phone": "136****0001", "label": "mobile",
                         "is_primary": False}
    reveal = api.post("/api/v1/pii/reveal/", {"record_type": "customers.customerphone", "record_id": second.pk,
                                              "field": "phone", "reason": "回访核对"})
    assert reveal.status_code == 200 and reveal.json()["value"] == "+8613600000001"
    assert api.get(f"/api/v1/addresses/{address.pk}/").json()["street"] == "人民路**号"

    assert api.delete(f"/api/v1/customer-phones/{primary.pk}/").status_code == 204
    assert api.get(f"/api/v1/customer-phones/{second.pk}/").json()["is_primary"] is True
    assert api.delete(f"/api/v1/addresses/{address.pk}/").status_code == 204
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    assert api.get(f"/api/v1/addresses/{address.pk}/").status_code == 404


def test_tags_list_and_create(cx):
    api = cx.api("sales_manager")
    response = api.post("/api/v1/tags/", {"name": "重点客户", "color": "danger", "description": "月发件过万"})
    assert response.status_code == 201, response.content
    assert response.json()["customer_count"] == 0
    assert "name" in errors(api.post("/api/v1/tags/", {"name": "重点客户"}))
    assert "color" in errors(api.post("/api/v1/tags/", {"name": "新", "color": "pink"}))
    assert "name" in errors(api.post("/api/v1/tags/", {"name": ""}))
    assert [t["name"] for t in results(cx.api("agent").get("/api/v1/tags/"))] == ["重点客户"]
    assert cx.api("agent").post("/api/v1/tags/", {"name": "客服建的"}).status_code == 403
    assert counts(cx, Tag) == {"Tag": 1}


# --- permissions and tenants -------------------------------------------------------------------------

@pytest.fixture
def a_objects(world):
    from tests.factories.customers import build_customer_objects

    return build_customer_objects(world.a)


def write_calls(o) -> list[tuple[str, str, dict]]:
    """One call of every write endpoint, on objects of one tenant."""
    lane = {k: v for k, v in LANE.items()}
    return [
        ("post", "/api/v1/customers/", {"kind": "person", "name": "新客户"}),
        ("patch", f"/api/v1/customers/{o.account.pk}/", {"notes": "x"}),
        ("post", f"/api/v1/customers/{o.account.pk}/phones/", {"phone": "13700009999"}),
        ("post", f"/api/v1/customers/{o.account.pk}/addresses/", {"province": "上海", "city": "浦东新区",
                                                                  "street": "x路1号"}),
        ("post", f"/api/v1/customers/{o.account.pk}/contacts/", {"name": "新人", "phone": "13700009998"}),
        ("post", f"/api/v1/customers/{o.person.pk}/tags/", {"tag": o.tag.pk}),
        ("delete", f"/api/v1/customers/{o.account.pk}/tags/{o.tag.pk}/", {}),
        ("post", f"/api/v1/customers/{o.account.pk}/activities/", {"kind": "call", "summary": "x"}),
        ("patch", f"/api/v1/contacts/{o.contact.pk}/", {"title": "x"}),
        ("delete", f"/api/v1/contacts/{o.contact.pk}/", {}),
        ("delete", f"/api/v1/addresses/{o.address.pk}/", {}),
        ("delete", f"/api/v1/customer-phones/{o.phone.pk}/", {}),
        ("post", "/api/v1/tags/", {"name": "新标签"}),
        ("post", f"/api/v1/duplicates/{o.duplicate.pk}/dismiss/", {}),
        ("post", "/api/v1/merges/preview/", {"survivor": o.person.pk, "merged": o.twin.pk}),
        ("post", "/api/v1/merges/", {"survivor": o.person.pk, "merged": o.twin.pk}),
        ("post", "/api/v1/contracts/", {"customer": o.account.pk, "start_date": "2030-01-01",
                                        "end_date": "2030-12-31", "lanes": [lane]}),
        ("post", f"/api/v1/contracts/{o.contract.pk}/activate/", {}),
        ("post", f"/api/v1/contracts/{o.contract.pk}/terminate/", {}),
        ("post", f"/api/v1/contracts/{o.contract.pk}/lanes/", {**lane, "destination_province": "江苏"}),
        ("delete", f"/api/v1/contract-lanes/{o.lane.pk}/", {}),
        ("post", "/api/v1/leads/", {"company_name": "新线索", "contact_name": "钱七", "phone": "13700009997"}),
        ("post", f"/api/v1/leads/{o.lead.pk}/assign/", {}),
        ("post", f"/api/v1/leads/{o.lead.pk}/disqualify/", {"reason": "x"}),
        ("post", f"/api/v1/leads/{o.lead.pk}/qualify/", {}),
        ("post", "/api/v1/opportunities/", {"customer": o.account.pk, "name": "新商机"}),
        ("post", f"/api/v1/opportunities/{o.opportunity.pk}/move/", {"stage": "quoted"}),
        ("post", f"/api/v1/opportunities/{o.opportunity.pk}/win/", {"start_date": "2030-01-01",
                                                                    "end_date": "2030-12-31"}),
        ("post", f"/api/v1/opportunities/{o.opportunity.pk}/lose/", {"reason": "price"}),
        ("post", f"/api/v1/opportunities/{o.opportunity.pk}/quote-lines/", {**lane, "destination_province": "江苏"}),
        ("delete", f"/api/v1/quote-lines/{o.quote_line.pk}/", {}),
        ("post", f"/api/v1/activities/{o.activity.pk}/complete/", {}),
        ("post", "/api/v1/sales-teams/", {"name": "新组"}),
        ("patch", f"/api/v1/sales-teams/{o.team.pk}/", {"name": "改名"}),
    ]


CUSTOMER_MODELS = (Customer, CustomerPhone, Address, Contact, Tag, CustomerTag, DuplicateCandidate, MergeRecord,
                   Contract, ContractLane, Lead, Opportunity, QuoteLine, Activity, SalesTeam)


def _call(api, method, url, payload):
    return api.patch(url, payload) if method == "patch" else (
        api.delete(url) if method == "delete" else api.post(url, payload))


def test_auditor_gets_403_on_every_write_and_nothing_changes(cx, world, a_objects):
    before = counts(cx, *CUSTOMER_MODELS)
    external = Api(world.client_for(world.external_auditor, world.a.tenant))
    for api in (cx.api("auditor"), external):
        for method, url, payload in write_calls(a_objects):
            response = _call(api, method, url, payload)
            assert response.status_code == 403, (method, url, response.status_code, response.content)
            assert response.json()["error"]["code"] == "permission_denied"
    assert counts(cx, *CUSTOMER_MODELS) == before
    with cx.scope():
        assert Opportunity.objects.get(pk=a_objects.opportunity.pk).stage == "qualified"


def test_roles_without_the_right_get_403(cx, a_objects):
    agent, branch = cx.api("agent"), cx.api("branch_manager")
    assert agent.get("/api/v1/leads/").status_code == 403
    assert agent.get("/api/v1/opportunities/").status_code == 403
    assert agent.get("/api/v1/pipeline/").status_code == 403
    assert agent.post("/api/v1/contracts/", {}).status_code == 403
    assert agent.post("/api/v1/merges/preview/", {}).status_code == 403
    assert branch.post("/api/v1/customers/", {"kind": "person", "name": "x"}).status_code == 403
    assert cx.api("sales_manager").post("/api/v1/sales-teams/", {"name": "x"}).status_code == 403
    assert cx.api("executive").post(f"/api/v1/opportunities/{a_objects.opportunity.pk}/move/",
                                    {"stage": "quoted"}).status_code == 403
    assert cx.api("executive").get(f"/api/v1/opportunities/{a_objects.opportunity.pk}/").status_code == 200


def test_other_tenants_objects_are_404_and_foreign_ids_in_payloads_400(cx, world, a_objects):
    from tests.factories.customers import build_customer_objects

    b = build_customer_objects(world.b, label="乙方专用", phone_prefix="1390000")
    before = counts(cx, *CUSTOMER_MODELS)
    with tenant_scope(world.b.tenant):
        b_before = {m.__name__: m.objects.count() for m in CUSTOMER_MODELS}
    api = cx.api("tenant_admin")
    reads = [f"/api/v1/customers/{b.account.pk}/", f"/api/v1/customers/{b.account.pk}/360/",
             f"/api/v1/customers/{b.account.pk}/activities/", f"/api/v1/contacts/{b.contact.pk}/",
             f"/api/v1/addresses/{b.address.pk}/", f"/api/v1/customer-phones/{b.phone.pk}/",
             f"/api/v1/duplicates/{b.duplicate.pk}/", f"/api/v1/contracts/{b.contract.pk}/",
             f"/api/v1/leads/{b.lead.pk}/", f"/api/v1/opportunities/{b.opportunity.pk}/",
             f"/api/v1/activities/{b.activity.pk}/", f"/api/v1/sales-teams/{b.team.pk}/"]
    for url in reads:
        response = api.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"
    for method, url, payload in write_calls(b):
        names_b_object = any(part.isdigit() for part in url.split("/"))
        if not names_b_object and not {"customer", "survivor", "merged", "tag"} & set(payload):
            continue  # creates in A from a payload without ids: nothing of B involved
        response = _call(api, method, url, payload)
        expected = 404 if names_b_object else 400
        assert response.status_code == expected, (method, url, response.status_code, response.content)
    foreign = [
        ("/api/v1/customers/", {"kind": "account", "name": "x", "owner": world.b.members["sales_manager"].pk},
         "owner"),
        (f"/api/v1/customers/{a_objects.account.pk}/tags/", {"tag": b.tag.pk}, "tag"),
        ("/api/v1/merges/preview/", {"survivor": a_objects.person.pk, "merged": b.twin.pk}, "merged"),
        ("/api/v1/merges/", {"survivor": b.person.pk, "merged": a_objects.twin.pk}, "survivor"),
        ("/api/v1/contracts/", {"customer": b.account.pk, "start_date": "2030-01-01", "end_date": "2030-12-31"},
         "customer"),
        ("/api/v1/opportunities/", {"customer": b.account.pk, "name": "x"}, "customer"),
        (f"/api/v1/leads/{a_objects.lead.pk}/assign/", {"owner": world.b.members["sales_manager"].pk}, "owner"),
        ("/api/v1/sales-teams/", {"name": "x", "members": [world.b.members["sales_manager"].pk]}, "members"),
        ("/api/v1/sales-teams/", {"name": "x", "leader": world.b.members["sales_manager"].pk}, "leader"),
    ]
    for url, payload, field in foreign:
        assert field in errors(api.post(url, payload)), url
    price = api.get("/api/v1/contracts/price-quote/", {"customer": b.account.pk, "origin_province": "上海",
                                                       "destination_province": "浙江", "weight_kg": "1"})
    assert "customer" in errors(price)
    assert counts(cx, *CUSTOMER_MODELS) == before
    with tenant_scope(world.b.tenant):
        assert {m.__name__: m.objects.count() for m in CUSTOMER_MODELS} == b_before
    content = "".join(api.get(url).content.decode() for url in (
        "/api/v1/customers/", "/api/v1/leads/", "/api/v1/contracts/", "/api/v1/activities/", "/api/v1/duplicates/"))
    assert "乙方专用" not in content and "1390000" not in content


# --- duplicates and merges -------------------------------------------------------------------------

def test_duplicate_queue_and_dismiss(cx, world):
    one = cx.person(name="王小明", phones=["13912345678"])
    two = cx.person(name="王小明", phones=["13912345678"])
    cx.account(name="独立公司", phones=["13600000001"])
    with cx.scope():
        services.duplicates_scan()
    api = cx.api("sales_manager")
    rows = results(api.get("/api/v1/duplicates/"))
    assert len(rows) == 1
    row = rows[0]
    assert {row["customer_a"]["id"], row["customer_b"]["id"]} == {one.pk, two.pk}
    assert row["customer_a"]["name"] == "王*明" and "phone" in row["reasons"] and row["score"] == "0.950"
    assert len(results(api.get("/api/v1/duplicates/", {"reason": "phone"}))) == 1
    assert results(api.get("/api/v1/duplicates/", {"reason": "email"})) == []
    assert "reason" in errors(api.get("/api/v1/duplicates/", {"reason": "vibes"}))
    assert cx.api("agent").post(f"/api/v1/duplicates/{row['id']}/dismiss/").status_code == 403
    response = api.post(f"/api/v1/duplicates/{row['id']}/dismiss/")
    assert response.status_code == 200 and response.json()["status"] == "dismissed"
    assert results(api.get("/api/v1/duplicates/")) == []
    assert len(results(api.get("/api/v1/duplicates/", {"status": "dismissed"}))) == 1
    assert api.get(f"/api/v1/duplicates/{row['id']}/").json()["status"] == "dismissed"
    assert api.post(f"/api/v1/duplicates/{row['id']}/dismiss/").status_code == 404  # no longer in the queue


def test_merge_preview_changes_nothing(cx, world):
    admin = world.a.user("tenant_admin")
    survivor = cx.account(name="云桥电子商务有限公司", phones=["13812345678"])
    merged = cx.account(name="云桥电商", phones=["13600000001"], province="浙江", city="杭州",
                        credit_code=CREDIT_CODE)
    with cx.scope():
        services.contact_create(actor=admin, customer=merged, name="李娜", phone="13700003333")
    before = counts(cx, *CUSTOMER_MODELS)
    response = cx.api("sales_manager").post("/api/v1/merges/preview/", {"survivor": survivor.pk,
                                                                        "merged": merged.pk})
    assert response.status_code == 200, response.content
    plan = response.json()
    assert (plan["survivor"], plan["merged"], plan["problems"]) == (survivor.pk, merged.pk, [])
    moves = {m["model"]: m["rows"] for m in plan["moves"]}
    assert moves["customers.customerphone"] == 1 and moves["customers.contact"] == 1
    assert {f["field"] for f in plan["filled"]} >= {"province", "city", "credit_code"}
    assert plan["total_rows"] == sum(moves.values())
    assert counts(cx, *CUSTOMER_MODELS) == before
    with cx.scope():
        assert Customer.objects.get(pk=merged.pk).status == "active"
        assert Customer.objects.get(pk=survivor.pk).province == ""
    person = cx.person()
    response = cx.api("sales_manager").post("/api/v1/merges/preview/", {"survivor": survivor.pk,
                                                                        "merged": person.pk})
    assert response.status_code == 200 and response.json()["problems"]
    assert {"survivor", "merged"} <= errors(cx.api("sales_manager").post("/api/v1/merges/preview/", {}))


def test_merge_moves_phones_and_contacts_and_marks_the_loser_merged(cx, world):
    admin = world.a.user("tenant_admin")
    survivor = cx.account(name="云桥电子商务有限公司", phones=["13812345678"])
    merged = cx.account(name="云桥电商", phones=["13600000001"], city="", notes="旧档案")
    with cx.scope():
        contact = services.contact_create(actor=admin, customer=merged, name="李娜", phone="13700003333")
    api = cx.api("sales_manager")
    response = api.post("/api/v1/merges/", {"survivor": survivor.pk, "merged": merged.pk, "reason": "同一家公司"})
    assert response.status_code == 201, response.content
    record = response.json()
    assert record["survivor"]["id"] == survivor.pk and record["merged"] == merged.pk
    assert record["merged_number"] == merged.number and record["merged_name"] == "云桥电商"
    assert record["moved"]["customers.customerphone"] == 1 and record["moved"]["customers.contact"] == 1
    assert record["reason"] == "同一家公司" and record["actor"]["id"] == world.a.user("sales_manager").pk
    with cx.scope():
        assert set(CustomerPhone.objects.filter(customer=survivor).values_list("customer_id", flat=True)) == {
            survivor.pk}
        assert CustomerPhone.objects.filter(customer=survivor).count() == 2
        assert Contact.objects.get(pk=contact.pk).customer_id == survivor.pk
        loser = Customer.objects.get(pk=merged.pk)
        assert (loser.status, loser.merged_into_id) == ("merged", survivor.pk)
    loser_body = api.get(f"/api/v1/customers/{merged.pk}/").json()
    assert loser_body["status"] == "merged" and loser_body["merged_into"] == survivor.pk
    assert merged.pk not in [r["id"] for r in results(api.get("/api/v1/customers/"))]
    history = results(api.get("/api/v1/merges/"))
    assert [h["id"] for h in history] == [record["id"]]
    assert results(api.get("/api/v1/merges/", {"customer": merged.pk})) == []
    assert api.get(f"/api/v1/merges/{record['id']}/").json()["merged_number"] == merged.number
    assert "non_field_errors" in errors(api.post("/api/v1/merges/", {"survivor": survivor.pk, "merged": merged.pk}))
    assert "non_field_errors" in errors(api.patch(f"/api/v1/customers/{merged.pk}/", {"notes": "x"}))
    person = cx.person()
    assert "non_field_errors" in errors(api.post("/api/v1/merges/", {"survivor": survivor.pk, "merged": person.pk}))


# --- contracts -------------------------------------------------------------------------------------

def test_contract_create_retrieve_activate_terminate(cx, world):
    account = cx.account()
    api = cx.api("sales_manager")
    start = TODAY()
    payload = {"customer": account.pk, "start_date": start.isoformat(),
               "end_date": (start + dt.timedelta(days=364)).isoformat(), "monthly_commitment": 3000,
               "settlement_type": "monthly", "lanes": [LANE, {**LANE, "min_weight_kg": "3", "max_weight_kg": "10",
                                                              "first_weight_price": "12.50"}]}
    before = counts(cx, Contract, ContractLane)
    assert "lanes[1].max_weight_kg" in errors(api.post("/api/v1/contracts/", {
        **payload, "lanes": [LANE, {**LANE, "min_weight_kg": "5", "max_weight_kg": "4"}]}))
    assert "lanes[1].min_weight_kg" in errors(api.post("/api/v1/contracts/", {**payload, "lanes": [LANE, LANE]}))
    assert "lanes[0].first_weight_price" in errors(api.post("/api/v1/contracts/", {
        **payload, "lanes": [{**LANE, "first_weight_price": "12345678901.00"}]}))
    assert "lanes[0].origin_province" in errors(api.post("/api/v1/contracts/", {
        **payload, "lanes": [{**LANE, "origin_province": "火星"}]}))
    assert "lanes" in errors(api.post("/api/v1/contracts/", {**payload, "lanes": "all"}))
    assert "end_date" in errors(api.post("/api/v1/contracts/", {**payload, "end_date": "2000-01-01"}))
    assert "monthly_commitment" in errors(api.post("/api/v1/contracts/", {**payload, "monthly_commitment": 2**40}))
    assert "customer" in errors(api.post("/api/v1/contracts/", {**payload, "customer": cx.person().pk}))
    assert counts(cx, Contract, ContractLane) == before

    response = api.post("/api/v1/contracts/", payload)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft" and body["number"].startswith("HT") and body["lane_count"] == 2
    assert body["customer"]["id"] == account.pk
    assert [(lane["min_weight_kg"], lane["first_weight_price"]) for lane in body["lanes"]] == [
        ("0.00", "6.00"), ("3.00", "12.50")]
    url = f"/api/v1/contracts/{body['id']}/"
    assert api.get(url).json()["lanes"] == body["lanes"]

    response = api.post(f"{url}lanes/", {**LANE, "destination_province": "江苏"})
    assert response.status_code == 201, response.content
    lane_id = response.json()["id"]
    assert "min_weight_kg" in errors(api.post(f"{url}lanes/", {**LANE, "max_weight_kg": "2"}))
    assert api.delete(f"/api/v1/contract-lanes/{lane_id}/").status_code == 204

    response = api.post(f"{url}activate/")
    assert response.status_code == 200 and response.json()["status"] == "active" and response.json()["signed_at"]
    assert "non_field_errors" in errors(api.post(f"{url}activate/"))
    assert "non_field_errors" in errors(api.post(f"{url}lanes/", {**LANE, "destination_province": "江苏"}))
    assert "non_field_errors" in errors(api.delete(f"/api/v1/contract-lanes/{body['lanes'][0]['id']}/"))
    assert "on" in errors(api.post(f"{url}terminate/", {"on": (start - dt.timedelta(days=1)).isoformat()}))
    assert "on" in errors(api.post(f"{url}terminate/", {"on": "yesterday"}))
    response = api.post(f"{url}terminate/", {"on": (start + dt.timedelta(days=30)).isoformat(), "reason": "停业"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "terminated" and body["end_date"] == (start + dt.timedelta(days=30)).isoformat()
    assert "停业" in body["notes"]


def test_contract_list_filters(cx, world):
    sales = world.a.members["sales_manager"]
    mine = cx.account(name="甲公司", owner=sales)
    theirs = cx.account(name="乙公司")
    today = TODAY()
    ending = cx.contract(mine, start=today - dt.timedelta(days=300), end=today + dt.timedelta(days=10))
    later = cx.contract(theirs, start=today - dt.timedelta(days=10), end=today + dt.timedelta(days=200))
    expired = cx.contract(theirs, start=today - dt.timedelta(days=400), end=today - dt.timedelta(days=20))
    draft = cx.contract(mine, activate=False, start=today + dt.timedelta(days=11), end=today + dt.timedelta(days=400))
    api = cx.api("agent")

    def ids(params):
        return {row["id"] for row in results(api.get("/api/v1/contracts/", params))}

    assert ids({}) == {ending.pk, later.pk, expired.pk, draft.pk}
    assert ids({"customer": mine.pk}) == {ending.pk, draft.pk}
    assert ids({"owner": sales.pk}) == {ending.pk, draft.pk}
    assert ids({"status": "draft"}) == {draft.pk}
    assert ids({"status": "expired"}) == {expired.pk}
    assert ids({"expiring_within_days": 30}) == {ending.pk}
    row = results(api.get("/api/v1/contracts/", {"status": "draft"}))[0]
    assert row["owner"]["id"] == sales.pk and row["lane_count"] == 1 and "lanes" not in row
    for bad in ({"expiring_within_days": "-1"}, {"expiring_within_days": "99999999999"}, {"status": "void"},
                {"customer": "x"}):
        assert set(bad) <= errors(api.get("/api/v1/contracts/", bad)), bad


def test_price_quote(cx, world):
    account = cx.account()
    contract = cx.contract(account, lanes=[LANE, {**LANE, "min_weight_kg": "3", "max_weight_kg": "30",
                                                  "first_weight_price": "8.00", "additional_kg_price": "1.50"}])
    api = cx.api("agent")
    url = "/api/v1/contracts/price-quote/"
    query = {"customer": account.pk, "origin_province": "上海市", "destination_province": "Zhejiang",
             "weight_kg": "2.3"}
    response = api.get(url, query)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["amount"] == "10.00" and body["currency"] == "CNY"
    assert body["charged_weight_kg"] == "3.00" and body["weight_kg"] == "2.300"
    assert body["contract"] == {"id": contract.pk, "number": contract.number}
    assert (body["lane"]["origin_province"], body["lane"]["destination_province"]) == ("上海市", "浙江省")
    assert api.get(url, {**query, "weight_kg": "0.4"}).json()["amount"] == "6.00"
    assert api.get(url, {**query, "weight_kg": "4.2"}).json()["amount"] == "14.00"  # charged 5 kg: 8 + 4 × 1.50
    for params in ({**query, "destination_province": "广东"}, {**query, "weight_kg": "31"},
                   {**query, "on": (TODAY() + dt.timedelta(days=400)).isoformat()},
                   {**query, "customer": cx.account(name="无合同公司").pk}):
        response = api.get(url, params)
        assert response.status_code == 404, params
        assert response.json()["error"]["code"] == "no_price"
    for bad, field in (("0", "weight_kg"), ("-1", "weight_kg"), ("abc", "weight_kg"), ("1.2345", "weight_kg"),
                       ("1e9", "weight_kg"), ("NaN", "weight_kg")):
        assert field in errors(api.get(url, {**query, "weight_kg": bad})), bad
    assert "weight_kg" in errors(api.get(url, {k: v for k, v in query.items() if k != "weight_kg"}))
    assert "origin_province" in errors(api.get(url, {**query, "origin_province": "火星"}))
    assert "on" in errors(api.get(url, {**query, "on": "2026-13-01"}))
    assert "customer" in errors(api.get(url, {**query, "customer": "999999999"}))
    assert cx.api("auditor").get(url, query).status_code == 200


# --- leads -----------------------------------------------------------------------------------------

def test_lead_posted_with_a_token_is_assigned_round_robin_inside_the_matching_team(cx, world):
    first, second = cx.member("zj_sales_1"), cx.member("zj_sales_2")
    anywhere = cx.member("any_sales")
    zhejiang = cx.team("浙江组", [first, second], provinces=["浙江"], priority=10)
    cx.team("全国组", [anywhere], priority=50)
    integration = cx.token_api(world.a.members["agent"])
    owners = []
    for i in range(3):
        response = integration.post("/api/v1/leads/", {
            "company_name": f"杭州鲜果{i}有限公司", "contact_name": "王芳", "phone": f"1370000{i:04d}",
            "province": "浙江", "city": "杭州", "industry": "food", "estimated_monthly_parcels": 5000,
            "message": "想要月结报价"})
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["source"] == "api" and body["status"] == "assigned" and body["team"]["id"] == zhejiang.pk
        assert body["contact_name"] == "王*" and body["phone"] == f"137****{i:04d}"
        owners.append(body["owner"]["id"])
    assert owners == [first.pk, second.pk, first.pk]
    response = integration.post("/api/v1/leads/", {"company_name": "广州电子", "contact_name": "陈", "email": "c@gz.cn",
                                                   "province": "广东"})
    assert response.status_code == 201 and response.json()["owner"]["id"] == anywhere.pk
    before = counts(cx, Lead)
    assert "phone" in errors(integration.post("/api/v1/leads/", {"company_name": "x", "contact_name": "y"}))
    assert "phone" in errors(integration.post("/api/v1/leads/", {"company_name": "x", "contact_name": "y",
                                                                 "phone": "123"}))
    assert "province" in errors(integration.post("/api/v1/leads/", {"company_name": "x", "contact_name": "y",
                                                                    "phone": "13700001111", "province": "火星"}))
    assert "estimated_monthly_parcels" in errors(integration.post("/api/v1/leads/", {
        "company_name": "x", "contact_name": "y", "phone": "13700001111", "estimated_monthly_parcels": -5}))
    assert "company_name" in errors(integration.post("/api/v1/leads/", {"contact_name": "y", "phone": "13700001111"}))
    assert counts(cx, Lead) == before
    with cx.scope():
        assert set(Lead.objects.values_list("source", flat=True)) == {"api"}
    assert cx.token_api(world.a.members["auditor"]).post("/api/v1/leads/", {
        "company_name": "x", "contact_name": "y", "phone": "13700001111"}).status_code == 403


def test_another_sales_managers_lead_is_404_while_a_team_members_is_visible(cx, world):
    me = world.a.members["sales_manager"]
    teammate, stranger = cx.member("teammate"), cx.member("stranger")
    cx.team("华东组", [me, teammate], provinces=["上海"])
    cx.team("华南组", [stranger], provinces=["广东"])
    mine = cx.lead(owner=me, company_name="我的线索")
    teams = cx.lead(owner=teammate, company_name="同组线索")
    theirs = cx.lead(owner=stranger, company_name="别人的线索")
    api = cx.api("sales_manager")
    assert {r["company_name"] for r in results(api.get("/api/v1/leads/"))} == {"我的线索", "同组线索"}
    assert api.get(f"/api/v1/leads/{teams.pk}/").status_code == 200
    assert api.get(f"/api/v1/leads/{mine.pk}/").status_code == 200
    for url, payload in ((f"/api/v1/leads/{theirs.pk}/", None), (f"/api/v1/leads/{theirs.pk}/disqualify/",
                                                                 {"reason": "x"}),
                         (f"/api/v1/leads/{theirs.pk}/qualify/", {}), (f"/api/v1/leads/{theirs.pk}/assign/", {})):
        response = api.get(url) if payload is None else api.post(url, payload)
        assert response.status_code == 404, url
    # a teammate's lead can be seen, not changed
    assert api.post(f"/api/v1/leads/{teams.pk}/disqualify/", {"reason": "x"}).status_code == 403
    assert api.post(f"/api/v1/leads/{teams.pk}/assign/", {}).status_code == 403
    assert results(api.get("/api/v1/activities/", {"lead": theirs.pk})) == []
    everyone = {r["company_name"] for r in results(cx.api("executive").get("/api/v1/leads/"))}
    assert everyone == {"我的线索", "同组线索", "别人的线索"}
    with cx.scope():
        assert Lead.objects.get(pk=teams.pk).status == "assigned"


def test_lead_assign_disqualify_and_qualify(cx, world):
    me = world.a.members["sales_manager"]
    other = cx.member("other_sales")
    lead = cx.lead(owner=me)
    admin_api, api = cx.api("tenant_admin"), cx.api("sales_manager")
    url = f"/api/v1/leads/{lead.pk}"
    assert api.post(f"{url}/assign/", {"owner": other.pk}).status_code == 403  # needs customers.assign_lead
    assert "owner" in errors(admin_api.post(f"{url}/assign/", {"owner": world.a.members["agent"].pk}))
    assert "owner" in errors(admin_api.post(f"{url}/assign/", {"owner": 10**12}))
    response = admin_api.post(f"{url}/assign/", {"owner": other.pk, "reason": "熟悉该行业"})
    assert response.status_code == 200 and response.json()["owner"]["id"] == other.pk
    assert api.get(f"{url}/").status_code == 404  # no longer mine
    response = admin_api.post(f"{url}/assign/", {"owner": me.pk})
    assert response.status_code == 200

    assert "reason" in errors(api.post(f"{url}/disqualify/", {"reason": " "}))
    assert "reason" in errors(api.post(f"{url}/disqualify/", {}))
    response = api.post(f"{url}/qualify/", {"name": "鲜果月结", "expected_monthly_revenue": "20000",
                                            "expected_close_date": (TODAY() + dt.timedelta(days=30)).isoformat()})
    assert response.status_code == 201, response.content
    opportunity = response.json()
    assert opportunity["stage"] == "qualified" and opportunity["lead"] == lead.pk
    assert opportunity["owner"]["id"] == me.pk and opportunity["expected_monthly_revenue"] == "20000.00"
    assert opportunity["quote_lines"] == []
    assert api.get(f"{url}/").json()["status"] == "qualified"
    assert "non_field_errors" in errors(api.post(f"{url}/disqualify/", {"reason": "重复"}))
    assert "non_field_errors" in errors(api.post(f"{url}/qualify/", {}))
    second = cx.lead(owner=me, company_name="第二条")
    response = api.post(f"/api/v1/leads/{second.pk}/disqualify/", {"reason": "已有合作快递"})
    assert response.status_code == 200 and response.json()["status"] == "disqualified"
    assert response.json()["disqualify_reason"] == "已有合作快递"
    assert "expected_monthly_revenue" in errors(api.post(f"/api/v1/leads/{cx.lead(owner=me).pk}/qualify/", {
        "expected_monthly_revenue": "abc"}))


def test_lead_list_filters(cx, world):
    me = world.a.members["sales_manager"]
    assigned = cx.lead(owner=me, company_name="杭州鲜果")
    lonely = cx.lead(company_name="无人认领")  # no team matches: stays unassigned
    closed = cx.lead(owner=me, company_name="已关闭")
    with cx.scope(user=me.user):
        services.lead_disqualify(actor=me.user, lead=closed, reason="重复")
    api = cx.api("tenant_admin")

    def ids(params):
        return {r["id"] for r in results(api.get("/api/v1/leads/", params))}

    assert ids({"status": "assigned"}) == {assigned.pk}
    assert ids({"unassigned": "true"}) == {lonely.pk}
    assert ids({"open": "true"}) == {assigned.pk, lonely.pk}
    assert ids({"q": "鲜果"}) == {assigned.pk}
    assert ids({"owner": me.pk}) == {assigned.pk, closed.pk}
    assert "status" in errors(api.get("/api/v1/leads/", {"status": "hot"}))
    assert "owner" in errors(api.get("/api/v1/leads/", {"owner": "me"}))


# --- opportunities ---------------------------------------------------------------------------------

def test_opportunity_create_quote_move_and_win_for_an_existing_account(cx, world):
    me = world.a.members["sales_manager"]
    account = cx.account()
    api = cx.api("sales_manager")
    assert "customer" in errors(api.post("/api/v1/opportunities/", {"customer": cx.person().pk, "name": "x"}))
    assert "name" in errors(api.post("/api/v1/opportunities/", {"customer": account.pk, "name": ""}))
    assert "expected_monthly_revenue" in errors(api.post("/api/v1/opportunities/", {
        "customer": account.pk, "name": "x", "expected_monthly_revenue": "1e20"}))
    response = api.post("/api/v1/opportunities/", {"customer": account.pk, "name": "续约加线路",
                                                   "expected_monthly_parcels": 8000,
                                                   "expected_monthly_revenue": "12000.5"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["owner"]["id"] == me.pk and body["customer"]["id"] == account.pk
    assert body["expected_monthly_revenue"] == "12000.50" and body["stage"] == "qualified"
    url = f"/api/v1/opportunities/{body['id']}"
    assert "stage" in errors(api.post(f"{url}/move/", {"stage": "quoted"}))  # no quoted prices yet
    assert "max_weight_kg" in errors(api.post(f"{url}/quote-lines/", {**LANE, "max_weight_kg": "0"}))
    response = api.post(f"{url}/quote-lines/", LANE)
    assert response.status_code == 201 and response.json()["opportunity"] == body["id"]
    assert "stage" in errors(api.post(f"{url}/move/", {"stage": "won"}))
    assert "stage" in errors(api.post(f"{url}/move/", {"stage": "banana"}))
    response = api.post(f"{url}/move/", {"stage": "quoted"})
    assert response.status_code == 200 and response.json()["stage"] == "quoted"
    start = TODAY()
    before = counts(cx, Contract, Customer)
    assert "end_date" in errors(api.post(f"{url}/win/", {"start_date": start.isoformat(),
                                                         "end_date": (start - dt.timedelta(days=1)).isoformat()}))
    assert "start_date" in errors(api.post(f"{url}/win/", {"start_date": "soon", "end_date": start.isoformat()}))
    assert counts(cx, Contract, Customer) == before
    response = api.post(f"{url}/win/", {"start_date": start.isoformat(),
                                        "end_date": (start + dt.timedelta(days=365)).isoformat(),
                                        "monthly_commitment": 8000})
    assert response.status_code == 200, response.content
    won = response.json()
    assert won["stage"] == "won" and won["contract"] and won["closed_at"]
    contract = api.get(f"/api/v1/contracts/{won['contract']}/").json()
    assert contract["status"] == "active" and contract["customer"]["id"] == account.pk
    assert contract["monthly_commitment"] == 8000 and contract["opportunity"] == body["id"]
    assert [(lane["origin_province"], lane["first_weight_price"]) for lane in contract["lanes"]] == [
        ("上海市", "6.00")]
    assert "non_field_errors" in errors(api.post(f"{url}/quote-lines/", {**LANE, "destination_province": "江苏"}))
    line_id = api.get(f"{url}/").json()["quote_lines"][0]["id"]
    assert "non_field_errors" in errors(api.delete(f"/api/v1/quote-lines/{line_id}/"))


def test_winning_a_deal_from_a_lead_creates_the_account_and_an_active_contract(cx, world):
    me = world.a.members["sales_manager"]
    lead = cx.lead(owner=me, company_name="杭州鲜果供应链有限公司", contact_name="王芳", phone="13700001111",
                   industry="food")
    api = cx.api("sales_manager")
    opportunity = api.post(f"/api/v1/leads/{lead.pk}/qualify/", {}).json()
    url = f"/api/v1/opportunities/{opportunity['id']}"
    for lane in (LANE, {**LANE, "destination_province": "江苏", "first_weight_price": "7.00"}):
        assert api.post(f"{url}/quote-lines/", lane).status_code == 201
    assert api.post(f"{url}/move/", {"stage": "negotiating"}).status_code == 200
    start = TODAY()
    terms = {"start_date": start.isoformat(), "end_date": (start + dt.timedelta(days=365)).isoformat(),
             "settlement_type": "monthly", "credit_code": CREDIT_CODE, "credit_rating": "A"}
    assert "credit_code" in errors(api.post(f"{url}/win/", {**terms, "credit_code": "123"}))
    with cx.scope():
        assert not Customer.objects.filter(name="杭州鲜果供应链有限公司").exists()
    response = api.post(f"{url}/win/", terms)
    assert response.status_code == 200, response.content
    won = response.json()
    assert won["stage"] == "won"
    customer = api.get(f"/api/v1/customers/{won['customer']['id']}/").json()
    assert customer["kind"] == "account" and customer["name"] == "杭州鲜果供应链有限公司"
    assert customer["credit_code"] == CREDIT_CODE and customer["source_channel"] == "lead"
    assert customer["industry"] == "food" and customer["owner"]["id"] == me.pk
    assert customer["primary_phone"] == "137****1111" and customer["status"] == "active"
    contract = api.get(f"/api/v1/contracts/{won['contract']}/").json()
    assert contract["status"] == "active"
    assert sorted((lane["destination_province"], lane["first_weight_price"]) for lane in contract["lanes"]) == [
        ("江苏省", "7.00"), ("浙江省", "6.00")]
    contacts = results(api.get("/api/v1/contacts/", {"customer": customer["id"]}))
    assert [(c["name"], c["is_primary"]) for c in contacts] == [("王*", True)]
    quote = api.get("/api/v1/contracts/price-quote/", {"customer": customer["id"], "origin_province": "上海",
                                                       "destination_province": "江苏", "weight_kg": "1"})
    assert quote.json()["amount"] == "7.00"


def test_opportunity_lose_quote_line_delete_pipeline_and_visibility(cx, world):
    me = world.a.members["sales_manager"]
    stranger = cx.member("stranger")
    mine = cx.opportunity(me, name="我的商机", expected_monthly_revenue="5000")
    theirs = cx.opportunity(stranger, name="别人的商机")
    api = cx.api("sales_manager")
    assert api.get(f"/api/v1/opportunities/{theirs.pk}/").status_code == 404
    assert api.post(f"/api/v1/opportunities/{theirs.pk}/lose/", {"reason": "price"}).status_code == 404
    with cx.scope():
        their_line = QuoteLine.objects.get(opportunity=theirs)
    assert api.delete(f"/api/v1/quote-lines/{their_line.pk}/").status_code == 404
    assert [o["id"] for o in results(api.get("/api/v1/opportunities/"))] == [mine.pk]
    assert {o["id"] for o in results(cx.api("executive").get("/api/v1/opportunities/"))} == {mine.pk, theirs.pk}
    assert [o["id"] for o in results(api.get("/api/v1/opportunities/", {"stage": "qualified", "open": "true"}))] == [
        mine.pk]
    assert results(api.get("/api/v1/opportunities/", {"stage": "won"})) == []
    assert "stage" in errors(api.get("/api/v1/opportunities/", {"stage": "maybe"}))

    board = api.get("/api/v1/pipeline/")
    assert board.status_code == 200, board.content
    columns = {c["stage"]: c for c in board.json()}
    assert list(columns) == ["qualified", "quoted", "negotiating", "won", "lost"]
    assert [card["id"] for card in columns["qualified"]["cards"]] == [mine.pk]
    assert columns["qualified"]["total"] == "5000.00" and columns["qualified"]["count"] == 1
    assert columns["won"]["total"] == "0.00" and columns["won"]["cards"] == []
    assert "owner" in errors(api.get("/api/v1/pipeline/", {"owner": "x"}))

    url = f"/api/v1/opportunities/{mine.pk}"
    line_id = api.get(f"{url}/").json()["quote_lines"][0]["id"]
    assert api.delete(f"/api/v1/quote-lines/{line_id}/").status_code == 204
    assert "reason" in errors(api.post(f"{url}/lose/", {"reason": "bored"}))
    response = api.post(f"{url}/lose/", {"reason": "competitor", "note": "选了别家"})
    assert response.status_code == 200 and response.json()["stage"] == "lost"
    assert response.json()["lost_reason"] == "competitor"
    assert "non_field_errors" in errors(api.post(f"{url}/lose/", {"reason": "price"}))
    assert api.get("/api/v1/pipeline/").json()[4]["cards"][0]["id"] == mine.pk
    assert api.post(f"{url}/move/", {"stage": "qualified"}).json()["stage"] == "qualified"  # reopened


# --- follow-ups and teams --------------------------------------------------------------------------

def test_activities_list_due_filters_and_complete(cx, world):
    me = world.a.members["sales_manager"]
    stranger = cx.member("stranger")
    lead = cx.lead(owner=me)
    their_lead = cx.lead(owner=stranger, company_name="别人的")
    opportunity = cx.opportunity(me)
    account = cx.account()
    today = TODAY()
    with cx.scope(user=me.user):
        overdue = services.activity_log(actor=me.user, kind="call", summary="首次联系", lead=lead,
                                        next_action="再打一次", next_action_date=today - dt.timedelta(days=1))
        due_today = services.activity_log(actor=me.user, kind="quote", summary="报价", opportunity=opportunity,
                                          next_action="跟进报价", next_action_date=today)
        upcoming = services.activity_log(actor=me.user, kind="visit", summary="拜访", customer=account,
                                         next_action="签约", next_action_date=today + dt.timedelta(days=3))
    with cx.scope(user=stranger.user):
        hidden = services.activity_log(actor=stranger.user, kind="call", summary="别人的跟进", lead=their_lead)
    api = cx.api("sales_manager")

    def ids(params):
        return [a["id"] for a in results(api.get("/api/v1/activities/", params))]

    assert set(ids({})) == {overdue.pk, due_today.pk, upcoming.pk}
    assert hidden.pk not in ids({}) and api.get(f"/api/v1/activities/{hidden.pk}/").status_code == 404
    assert ids({"due": "overdue"}) == [overdue.pk]
    assert ids({"due": "today"}) == [due_today.pk]
    assert ids({"due": "upcoming"}) == [upcoming.pk]
    assert ids({"lead": lead.pk}) == [overdue.pk]
    assert ids({"opportunity": opportunity.pk}) == [due_today.pk]
    assert ids({"customer": account.pk}) == [upcoming.pk]
    assert "due" in errors(api.get("/api/v1/activities/", {"due": "someday"}))
    assert cx.api_for(cx.member("colleague")).post(f"/api/v1/activities/{upcoming.pk}/complete/").status_code == 403
    response = api.post(f"/api/v1/activities/{overdue.pk}/complete/")
    assert response.status_code == 200 and response.json()["next_action_done_at"]
    assert ids({"due": "overdue"}) == []


def test_sales_teams(cx, world):
    first, second = world.a.members["sales_manager"], cx.member("second_sales")
    api = cx.api("tenant_admin")
    payload = {"name": "华南组", "provinces": ["广东", "Fujian"], "industries": ["ecommerce"], "priority": 20,
               "members": [first.pk, second.pk], "leader": first.pk}
    for bad, field in (({"members": [world.a.members["agent"].pk]}, "members"),
                       ({"members": [world.b.members["sales_manager"].pk]}, "members"),
                       ({"members": "all"}, "members"), ({"leader": second.pk, "members": [first.pk]}, "leader"),
                       ({"industries": ["mining"]}, "industries"), ({"provinces": ["火星"]}, "provinces"),
                       ({"priority": 99999}, "priority"), ({"name": ""}, "name")):
        assert field in errors(api.post("/api/v1/sales-teams/", {**payload, **bad})), bad
    assert counts(cx, SalesTeam) == {"SalesTeam": 0}
    response = api.post("/api/v1/sales-teams/", payload)
    assert response.status_code == 201, response.content
    team = response.json()
    assert team["provinces"] == sorted(["广东省", "福建省"]) and team["leader"]["id"] == first.pk
    assert {m["id"] for m in team["members"]} == {first.pk, second.pk} and team["open_leads"] == 0
    assert "name" in errors(api.post("/api/v1/sales-teams/", payload))
    url = f"/api/v1/sales-teams/{team['id']}/"
    assert "leader" in errors(api.patch(url, {"members": [second.pk]}))
    response = api.patch(url, {"members": [second.pk], "leader": second.pk, "is_active": False})
    assert response.status_code == 200, response.content
    team = response.json()
    assert [m["id"] for m in team["members"]] == [second.pk] and team["is_active"] is False
    assert team["provinces"] == ["广东省", "福建省"] and team["priority"] == 20
    assert [t["id"] for t in results(cx.api("sales_manager").get("/api/v1/sales-teams/"))] == [team["id"]]
    assert cx.api("agent").get("/api/v1/sales-teams/").status_code == 403
    assert cx.api("sales_manager").patch(url, {"name": "改名"}).status_code == 403


# --- robustness ------------------------------------------------------------------------------------

# Shapes a fuzzer sends: garbage of the wrong type (all fields at once: the payload serializer
# must refuse it), and values of the right shape at the edges (one field at a time: they reach
# the service and the database).
WRONG_TYPES = ["\u0000", 2**63, 1.5, "NaN", True, ["a"], {"a": 1}, -1]
EDGE_VALUES = [None, "x" * 5000, 2**31, "9999-12-31"]


def test_hostile_values_are_400_never_500(cx, world, a_objects):
    """What a fuzzer would send into every write and every filter: never a server error."""
    api = cx.token_api(world.a.members["tenant_admin"])
    o = a_objects
    for method, url, payload in (c for c in write_calls(o) if c[0] != "delete"):
        keys = set(payload) | {"customer", "owner", "on"}
        for value in WRONG_TYPES:
            response = _call(api, method, url, dict.fromkeys(keys, value))
            assert response.status_code < 500, (method, url, value, response.content[:300])
        for key in keys:
            for value in EDGE_VALUES:
                response = _call(api, method, url, {**payload, key: value})
                assert response.status_code < 500, (method, url, key, value, response.content[:300])
    for params in ({"weight_kg": "1e999"}, {"customer": str(2**70)}, {"on": "0000-01-01"}, {"weight_kg": "99999.999"},
                   {"origin_province": "\u0000"}, {"on": "9999-12-31"}):
        query = {"customer": o.account.pk, "origin_province": "上海", "destination_province": "浙江",
                 "weight_kg": "1", **params}
        assert api.get("/api/v1/contracts/price-quote/", query).status_code in (200, 400, 404), params
    params = ("q", "customer", "owner", "tag", "lead", "status", "expiring_within_days", "cursor", "ordering",
              "page_size", "province", "city", "due", "open")
    for url in ("/api/v1/customers/", "/api/v1/contracts/", "/api/v1/leads/", "/api/v1/opportunities/",
                "/api/v1/activities/", "/api/v1/duplicates/", "/api/v1/contacts/", "/api/v1/merges/",
                "/api/v1/sales-teams/", "/api/v1/tags/", "/api/v1/pipeline/", "/api/v1/customers/lookup/"):
        for value in ("\u0000", "x" * 300, str(2**64), "-5", "%", "1.5", "9999"):
            # (404: DRF's answer to a cursor it did not make)
            assert api.get(url, dict.fromkeys(params, value)).status_code in (200, 400, 404), (url, value)
            for param in params:
                if value == str(2**64):
                    assert api.get(url, {param: value}).status_code in (200, 400, 404), (url, param, value)
    for url in (f"/api/v1/customers/{2**64}/", f"/api/v1/customers/{2**64}/360/", "/api/v1/contacts/0/",
                f"/api/v1/customers/{o.account.pk}/tags/{2**64}/"):
        assert api.get(url).status_code in (404, 405), url
        assert api.delete(url).status_code in (404, 405), url


def test_schema_documents_the_customers_api(world):
    schema = world.client_for(world.a.user("agent")).get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in ("/api/v1/customers/{id}/360/", "/api/v1/contracts/price-quote/", "/api/v1/leads/{id}/assign/",
                 "/api/v1/merges/preview/", "/api/v1/pipeline/", "/api/v1/customers/{id}/tags/{tag_id}/"):
        assert path in text, path
