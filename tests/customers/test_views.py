"""The customers and sales pages over HTTP: permissions per role, bad input kept on the form,
query budgets, merge preview, pipeline moves, the public lead form and reveals."""
import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from compliance.models import AccessLog
from customers import services
from customers.models import Activity, Customer, CustomerKind, Lead, Opportunity
from shipments.services import daily_volume_add
from tenancy.models import Role
from tenancy.scoping import tenant_scope

PAGES = {
    # url builder → roles answered 200 (every other role gets 403)
    lambda c: "/customers/": set(Role.values),
    lambda c: f"/customers/{c.account.pk}/": set(Role.values),
    lambda c: "/customers/new/?kind=person": {Role.AGENT, Role.SALES_MANAGER, Role.TENANT_ADMIN},
    lambda c: "/customers/duplicates/": {Role.SALES_MANAGER, Role.TENANT_ADMIN},
    lambda c: "/contracts/": set(Role.values),
    lambda c: f"/contracts/{c.contract.pk}/": set(Role.values),
    lambda c: "/sales/": {Role.SALES_MANAGER, Role.EXECUTIVE, Role.TENANT_ADMIN},
    lambda c: "/sales/pipeline/": {Role.SALES_MANAGER, Role.EXECUTIVE, Role.TENANT_ADMIN},
    lambda c: f"/sales/opportunities/{c.opportunity.pk}/": {Role.SALES_MANAGER, Role.EXECUTIVE, Role.TENANT_ADMIN},
    lambda c: "/sales/teams/new/": {Role.TENANT_ADMIN},
}


@pytest.mark.parametrize("role", Role.values)
def test_pages_per_role(cust, world, role):
    client = world.client_for(world.a.user(role))
    for build, allowed in PAGES.items():
        url = build(cust)
        status = client.get(url).status_code
        assert status == (200 if role in allowed else 403), (role, url, status)


def test_other_tenants_records_are_404(cust, world):
    client = world.client_for(world.a.user("tenant_admin"))
    b = world.b.cust
    for url in (f"/customers/{b.account.pk}/", f"/contracts/{b.contract.pk}/", f"/sales/leads/{b.lead.pk}/",
                f"/sales/opportunities/{b.opportunity.pk}/", f"/customers/contacts/{b.contact.pk}/"):
        assert client.get(url).status_code == 404, url


def _long_history(tw, cust):
    admin = tw.user("tenant_admin")
    today = timezone.localdate()
    with tenant_scope(tw.tenant, user=admin):
        for i in range(12):
            services.customer_phone_add(actor=admin, customer=cust.account, phone=f"1350000{i:04d}")
            services.contact_create(actor=admin, customer=cust.account, name=f"联系人{i}", phone=f"1360000{i:04d}")
            services.address_add(actor=admin, customer=cust.account, province="上海", city="浦东", street=f"路{i}号")
            services.activity_log(actor=admin, kind="call", customer=cust.account, summary=f"call {i}")
        daily_volume_add([(cust.account.pk, today - dt.timedelta(days=d), 10, Decimal("70"), 1) for d in range(200)])


def test_customer_360_query_budget_whatever_the_history(cust, world):
    client = world.client_for(world.a.user("sales_manager"))
    url = f"/customers/{cust.account.pk}/"
    client.get(url)  # warm the session and authorisation caches
    with CaptureQueriesContext(connection) as short:
        assert client.get(url).status_code == 200
    _long_history(world.a, cust)
    with CaptureQueriesContext(connection) as long:
        response = client.get(url)
    assert response.status_code == 200
    page_queries = [q for q in long.captured_queries if "set_config" not in q["sql"]]
    assert len(long.captured_queries) == len(short.captured_queries)
    assert len(page_queries) <= 8, "\n".join(q["sql"][:120] for q in page_queries)
    text = response.content.decode()
    assert "13500000011" not in text and "135****0011" in text  # masked, never the full number
    assert "联系人11" not in text  # contact names are masked too


def test_customer_list_query_count_is_constant(world):
    admin = world.a.user("tenant_admin")
    client = world.client_for(world.a.user("sales_manager"))
    counts = []
    for n in (3, 30):
        with tenant_scope(world.a.tenant, user=admin):
            tag = services.tag_create(actor=admin, name=f"T{n}")
            for i in range(n):
                c = services.customer_create(actor=admin, kind=CustomerKind.PERSON, name=f"客户{n}-{i}",
                                             phones=[f"1371{n:03d}{i:04d}"])
                services.customer_tag_add(actor=admin, customer=c, tag=tag)
        client.get("/customers/")
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/customers/?kind=person").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_list_filters_and_keyset_pages(world):
    admin = world.a.user("tenant_admin")
    with tenant_scope(world.a.tenant, user=admin):
        for i in range(55):
            services.customer_create(actor=admin, kind=CustomerKind.PERSON, name=f"翻页{i}", province="浙江",
                                     city="杭州")
        services.customer_create(actor=admin, kind=CustomerKind.PERSON, name="别处", province="广东", city="广州")
    client = world.client_for(world.a.user("agent"))
    first = client.get("/customers/?city=杭州市")
    assert first.content.decode().count('href="/customers/') >= 50 and "别处" not in first.content.decode()
    assert first.context["has_next"]
    second = client.get(f"/customers/?city=杭州市&after={first.context['next_after']}")
    assert len(second.context["rows"]) == 5 and not second.context["has_next"]


def test_create_form_keeps_input_on_error_and_warns_about_duplicates(cust, world):
    client = world.client_for(world.a.user("agent"))
    data = {"kind": "person", "name": "张伟", "phones": "137 0000 0003", "status": "active", "province": "浙江省",
            "city": "杭州", "source_channel": "phone", "email": "bad-email"}
    response = client.post("/customers/new/?kind=person", data)
    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    assert 'value="137 0000 0003"' in response.content.decode()  # what was typed is kept
    data["email"] = ""
    response = client.post("/customers/new/?kind=person", data)
    assert response.context["duplicates"]  # same phone as an existing customer
    with tenant_scope(world.a.tenant):
        assert Customer.objects.filter(name="张伟").count() == 2
    data["confirm_not_duplicate"] = "on"
    response = client.post("/customers/new/?kind=person", data)
    assert response.status_code == 302
    with tenant_scope(world.a.tenant):
        assert Customer.objects.filter(name="张伟").count() == 3


def test_merge_preview_then_merge(cust, world):
    client = world.client_for(world.a.user("sales_manager"))
    url = f"/customers/merge/?survivor={cust.person.pk}&merged={cust.twin.pk}"
    response = client.get(url)
    assert response.status_code == 200 and response.context["plan"].moves
    with tenant_scope(world.a.tenant):
        assert Customer.objects.get(pk=cust.twin.pk).status == "active"
    response = client.post("/customers/merge/", {"survivor": cust.person.pk, "merged": cust.twin.pk, "reason": "重复"})
    assert response.status_code == 302
    assert client.get(f"/customers/{cust.twin.pk}/").url == f"/customers/{cust.person.pk}/"
    agent = world.client_for(world.a.user("agent"))
    assert agent.get(url).status_code == 403


def test_pipeline_drag_moves_the_stage_and_won_asks_for_terms(cust, world):
    client = world.client_for(world.a.user("sales_manager"))
    url = f"/sales/opportunities/{cust.opportunity.pk}/move/"
    response = client.post(url, {"stage": "negotiating"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    with tenant_scope(world.a.tenant):
        assert Opportunity.objects.get(pk=cust.opportunity.pk).stage == "negotiating"
    response = client.post(url, {"stage": "won"}, HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"].endswith("?close=won")
    with tenant_scope(world.a.tenant):
        assert Opportunity.objects.get(pk=cust.opportunity.pk).stage == "negotiating"
    outsider = world.client_for(world.a.user("agent"))
    assert outsider.post(url, {"stage": "qualified"}).status_code == 403


def test_win_form_errors_keep_values_then_win(cust, world):
    client = world.client_for(world.a.user("sales_manager"))
    url = f"/sales/opportunities/{cust.opportunity.pk}/"
    client.post(url, {"action": "move", "stage": "quoted"})
    today = timezone.localdate()
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    bad = {"action": "win", "win-start_date": today.isoformat(), "win-end_date": yesterday,
           "win-monthly_commitment": "500", "win-settlement_type": "monthly", "win-credit_code": "91350100M000100Y43"}
    response = client.post(url, bad)
    assert response.status_code == 400 and response.context["forms"]["win"].errors["end_date"]
    assert 'value="91350100M000100Y43"' in response.content.decode()
    good = dict(bad, **{"win-end_date": (today + dt.timedelta(days=365)).isoformat()})
    response = client.post(url, good)
    assert response.status_code == 302
    with tenant_scope(world.a.tenant):
        opp = Opportunity.objects.get(pk=cust.opportunity.pk)
        assert opp.stage == "won" and response.url == f"/customers/{opp.customer_id}/"


def test_public_lead_form(world):
    client = Client()
    assert client.get("/p/alpha/lead/").status_code == 200
    assert client.get("/p/nope/lead/").status_code == 404
    data = {"company_name": "新客户有限公司", "contact_name": "钱七", "phone": "12", "province": "上海市",
            "city": "徐汇", "consent": "on"}
    response = client.post("/p/alpha/lead/", data)
    assert response.status_code == 400 and 'value="新客户有限公司"' in response.content.decode()
    data["phone"] = "13812340000"
    assert client.post("/p/alpha/lead/", data).context["done"]
    client.post("/p/alpha/lead/", dict(data, website="http://spam", company_name="SPAM"))
    with tenant_scope(world.a.tenant):
        rows = list(Lead.objects.values_list("company_name", "source", "city"))
        assert rows == [("新客户有限公司", "web_form", "徐汇区")]
    with tenant_scope(world.b.tenant):
        assert not Lead.objects.exists()


def test_public_lead_form_is_throttled(world):
    client = Client()
    data = {"company_name": "刷单公司", "contact_name": "x", "phone": "13812340001", "consent": "on"}
    statuses = [client.post("/p/alpha/lead/", data).status_code for _ in range(7)]
    assert statuses[:5] == [200] * 5 and statuses[-1] == 400
    with tenant_scope(world.a.tenant):
        assert Lead.objects.count() == 5


def test_reveal_on_the_360_page_is_logged_and_listed(cust, world):
    client = world.client_for(world.a.user("agent"))
    with tenant_scope(world.a.tenant):
        phone = cust.account.phones.get()
    response = client.post(f"/pii/customers.customerphone/{phone.pk}/phone/reveal/", {"reason": "客户来电核实"})
    assert "13700000001" in response.content.decode()
    page = client.get(f"/customers/{cust.account.pk}/").content.decode()
    assert "客户来电核实" in page
    with tenant_scope(world.a.tenant):
        assert AccessLog.objects.filter(target_type="customers.customerphone", target_id=phone.pk).count() == 1


def test_follow_up_done_from_the_workspace(cust, world):
    client = world.client_for(world.a.user("sales_manager"))
    assert cust.activity.next_action in client.get("/sales/").content.decode()
    response = client.post(f"/sales/follow-ups/{cust.activity.pk}/done/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    with tenant_scope(world.a.tenant):
        assert Activity.objects.get(pk=cust.activity.pk).next_action_done_at is not None


def test_public_lead_form_shows_every_error_in_one_round(world):
    response = Client().post("/p/alpha/lead/", {"company_name": "一次看全", "contact_name": "x", "phone": "12"})
    errors = response.context["form"].errors
    assert "consent" in errors and "phone" in errors


def test_date_inputs_render_iso_dates_in_chinese(cust, world):
    client = world.client_for(world.a.user("sales_manager"))
    client.post(f"/sales/opportunities/{cust.opportunity.pk}/", {"action": "move", "stage": "quoted"})
    page = client.get(f"/sales/opportunities/{cust.opportunity.pk}/?close=won", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert f'value="{timezone.localdate().isoformat()}"' in page.content.decode()


def test_two_factor_pages_do_not_poll_the_notification_badge(world):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    admin = world.a.user("tenant_admin")
    TOTPDevice.objects.filter(user=admin).delete()
    client = world.client_for(admin, second_factor=False)
    page = client.get("/two-factor/setup/")
    assert page.status_code == 200 and "notifications/badge" not in page.content.decode()
    assert "notifications/badge" in world.client_for(world.a.user("agent")).get("/").content.decode()
