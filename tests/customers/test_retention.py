"""Retention tasks: closing with an outcome feeds the retention rate; the list and task pages
and the API (permissions, 400s naming the field, 404 across tenants, query-count guard); the
customer 360 churn panel; the sales slice and risk counts."""
import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from customers.churn_demo import seed_churn_demo
from customers.models import ChurnAlert, Customer, CustomerChurn, RetentionTask
from customers.selectors import retention as selectors
from customers.services import retention as services
from customers.services.churn import churn_scan
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tests.customers.test_churn import make_customer, ship

pytestmark = pytest.mark.django_db


def falling_customers(tw, count=2, owner_role=Role.SALES_MANAGER):
    owner = tw.members[owner_role]
    made = []
    for i in range(count):
        customer = make_customer(tw, f"{tw.tenant.code}下滑客户{i}", owner=owner)
        ship(tw, customer, recent_per_day=1, baseline_per_day=10)
        made.append(customer)
    with tenant_scope(tw.tenant):
        churn_scan()
        return made, list(RetentionTask.objects.select_related("customer").order_by("customer_id"))


@pytest.fixture
def tasks(world):
    _customers, a_tasks = falling_customers(world.a, 3)
    _other, b_tasks = falling_customers(world.b, 1)
    world.a.tasks, world.b.tasks = a_tasks, b_tasks
    return a_tasks


def test_close_with_outcome_feeds_the_retention_rate(world, tasks):
    manager = world.a.user(Role.SALES_MANAGER)
    today = timezone.localdate()
    with tenant_scope(world.a.tenant, user=manager):
        services.retention_task_close(actor=manager, task=tasks[0], outcome="retained", note="")
        services.retention_task_close(actor=manager, task=tasks[1], outcome="lost", note="转投他家")
        summary = selectors.retention_summary(start=today, end=today)
        assert summary == {"open": 1, "retained": 1, "lost": 1, "no_action": 0, "rate": Decimal("0.5000")}
        assert selectors.retention_rate(today - dt.timedelta(days=7), today - dt.timedelta(days=1)) is None
        closed = RetentionTask.objects.get(pk=tasks[1].pk)
        assert closed.status == "done" and closed.outcome == "lost" and closed.closed_by == manager
    with tenant_scope(world.b.tenant):
        assert selectors.retention_summary(start=today, end=today)["open"] == 1
        assert RetentionTask.objects.get().status == "open"


def test_close_checks_outcome_note_state_and_person(world, tasks):
    manager, agent = world.a.user(Role.SALES_MANAGER), world.a.user(Role.AGENT)
    other_manager = world.a.user(Role.TENANT_ADMIN)
    with tenant_scope(world.a.tenant, user=manager):
        for outcome, note, field in (("", "", "outcome"), ("maybe", "", "outcome"), ("lost", " ", "note"),
                                     ("no_action", "", "note")):
            with pytest.raises(ValidationError) as exc:
                services.retention_task_close(actor=manager, task=tasks[0], outcome=outcome, note=note)
            assert field in exc.value.message_dict
        assert RetentionTask.objects.get(pk=tasks[0].pk).status == "open"
        services.retention_task_close(actor=manager, task=tasks[0], outcome="retained")
        with pytest.raises(ValidationError):
            services.retention_task_close(actor=manager, task=tasks[0], outcome="retained")
    with tenant_scope(world.a.tenant, user=agent), pytest.raises(PermissionDenied):
        services.retention_task_close(actor=agent, task=tasks[1], outcome="retained")
    # A tenant admin may work any task; reassigning hands it over.
    with tenant_scope(world.a.tenant, user=other_manager):
        admin_membership = world.a.members[Role.TENANT_ADMIN]
        task = services.retention_task_reassign(actor=other_manager, task=tasks[1], assignee=admin_membership)
        assert task.assignee_id == admin_membership.pk
    with tenant_scope(world.a.tenant, user=manager), pytest.raises(PermissionDenied):
        services.retention_task_close(actor=manager, task=tasks[1], outcome="retained")


def test_list_page_tabs_filters_and_query_budget(world, tasks, django_assert_max_num_queries):
    client = world.client_for(world.a.user(Role.SALES_MANAGER))
    url = reverse("customers:retention")
    client.get(url)  # warm the caches the first request fills
    with django_assert_max_num_queries(12):
        response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert all(f'href="{reverse("customers:retention_task", args=[t.pk])}"' in html for t in tasks)
    assert world.b.tasks[0].customer.name not in html
    assert client.get(url, {"tab": "closed"}).context["rows"] == []
    assert client.get(url, {"overdue": "on"}).context["rows"] == []
    assert len(client.get(url, {"tab": "open", "risk": "high"}).context["rows"]) == 3
    # More rows do not cost more queries.
    falling_customers(world.a, 4)
    with django_assert_max_num_queries(12):
        assert len(client.get(url).context["rows"]) == 7
    assert world.client_for(world.a.user(Role.AGENT)).get(url).status_code == 403
    assert world.client_for(world.a.user(Role.EXECUTIVE)).get(url).status_code == 200


def test_task_page_close_form_and_404_across_tenants(world, tasks):
    client = world.client_for(world.a.user(Role.SALES_MANAGER))
    page = client.get(reverse("customers:retention_task", args=[tasks[0].pk]))
    assert page.status_code == 200
    reasons = page.context["reasons"]
    assert len(reasons) == 1 and "300" in reasons[0] and "90" in reasons[0]
    assert reasons[0] in page.content.decode()
    close = reverse("customers:retention_task_close", args=[tasks[0].pk])
    bad = client.post(close, {"outcome": "lost", "note": ""})
    assert bad.status_code == 400 and "note" in bad.context["close_form"].errors
    with tenant_scope(world.a.tenant):
        assert RetentionTask.objects.get(pk=tasks[0].pk).status == "open"
    assert client.post(close, {"outcome": "retained", "note": "回访成功"}).status_code == 302
    with tenant_scope(world.a.tenant):
        assert RetentionTask.objects.get(pk=tasks[0].pk).outcome == "retained"
    other = world.b.tasks[0].pk
    assert client.get(reverse("customers:retention_task", args=[other])).status_code == 404
    assert client.post(reverse("customers:retention_task_close", args=[other]),
                       {"outcome": "retained"}).status_code == 404
    with tenant_scope(world.b.tenant):
        assert RetentionTask.objects.get(pk=other).status == "open"
    executive = world.client_for(world.a.user(Role.EXECUTIVE))
    assert executive.post(reverse("customers:retention_task_close", args=[tasks[1].pk]),
                          {"outcome": "retained"}).status_code == 403


def test_customer_360_explains_the_reasons(world, tasks):
    client = world.client_for(world.a.user(Role.SALES_MANAGER))
    response = client.get(reverse("customers:detail", args=[tasks[0].customer_id]))
    html = response.content.decode()
    assert 'id="churn-panel"' in html
    reasons = response.context["churn_reasons"]
    assert len(reasons) == 1 and "300" in reasons[0] and "90" in reasons[0] and reasons[0] in html
    history_url = reverse("customers:customer_churn", args=[tasks[0].customer_id])
    assert history_url in html
    history = client.get(history_url, HTTP_HX_REQUEST="true")
    assert history.context["churn"].open_task.pk == tasks[0].pk and len(history.context["churn"].alerts) == 1
    assert reverse("customers:retention_task", args=[tasks[0].pk]) in history.content.decode()
    assert client.get(history_url).status_code == 302
    assert client.get(reverse("customers:customer_churn", args=[world.b.tasks[0].customer_id]),
                      HTTP_HX_REQUEST="true").status_code == 404


def test_api_list_retrieve_close(world, tasks, django_assert_max_num_queries):
    client = world.client_for(world.a.user(Role.SALES_MANAGER))
    url = "/api/v1/retention-tasks/"
    client.get(url)
    with django_assert_max_num_queries(12):
        body = client.get(url, {"tab": "open"}).json()
    assert {row["id"] for row in body["results"]} == {t.pk for t in tasks}
    assert body["results"][0]["reason_texts"] and body["results"][0]["customer"]["churn_risk"] == "high"
    assert client.get(url, {"risk": "purple"}).status_code == 400
    detail = client.get(f"{url}{tasks[0].pk}/").json()
    assert detail["suggested_actions"] == ["call_back", "offer"]
    missing_note = client.post(f"{url}{tasks[0].pk}/close/", {"outcome": "no_action"}, content_type="application/json")
    assert missing_note.status_code == 400 and "note" in missing_note.json()["error"]["fields"]
    bad = client.post(f"{url}{tasks[0].pk}/close/", {"outcome": "won"}, content_type="application/json")
    assert bad.status_code == 400 and "outcome" in bad.json()["error"]["fields"]
    done = client.post(f"{url}{tasks[0].pk}/close/", {"outcome": "retained"}, content_type="application/json")
    assert done.status_code == 200 and done.json()["status"] == "done"
    other = world.b.tasks[0].pk
    assert client.get(f"{url}{other}/").status_code == 404
    assert client.post(f"{url}{other}/close/", {"outcome": "retained"},
                       content_type="application/json").status_code == 404
    agent = world.client_for(world.a.user(Role.AGENT))
    assert agent.get(url).status_code == 403
    executive = world.client_for(world.a.user(Role.EXECUTIVE))
    assert executive.get(url).status_code == 200
    assert executive.post(f"{url}{tasks[1].pk}/close/", {"outcome": "retained"},
                          content_type="application/json").status_code == 403


def test_sales_slice_and_risk_counts(world, tasks):
    manager = world.a.members[Role.SALES_MANAGER]
    make_customer(world.a, "新客户", owner=manager)
    with tenant_scope(world.a.tenant):
        health = selectors.my_accounts_health(manager)
        assert health["counts"] == {"low": 1, "medium": 0, "high": 3} and health["open_tasks"] == 3
        assert [c.pk for c in health["top_high_risk"]] == sorted(
            [t.customer_id for t in tasks], key=lambda pk: (-CustomerChurn.objects.get(customer_id=pk).score, -pk))
        counts = selectors.churn_risk_counts()
        assert counts["high"] == 3 and counts["medium"] == 0 and counts["low"] == Customer.objects.exclude(
            status="merged").count() - 3


def test_demo_closes_one_retained_and_leaves_one_open(world):
    falling_customers(world.a, 2)
    with tenant_scope(world.a.tenant):
        ChurnAlert.objects.all().delete()
        CustomerChurn.objects.all().delete()
    seed_churn_demo(world.a.tenant)
    with tenant_scope(world.a.tenant):
        assert sorted(RetentionTask.objects.values_list("status", "outcome")) == [("done", "retained"), ("open", "")]
