"""The survey and churn charts (read through the tickets and customers selectors) and each role's
home slice: an agent's CSAT, a branch manager's and an executive's KPIs, an auditor's ledger and
data-request status, a sales manager's accounts' health (the {% sales_health %} tag)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from customers import services as customer_services
from customers.models import Customer, CustomerChurn, CustomerKind
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tickets.models import Survey

from .dashboards_world import local_noon, months_ago, rollup, ticket, waybills

pytestmark = pytest.mark.django_db


def surveys(tw, branch, day, *, kind, scores, unanswered=0, assignee=None):
    """Answered surveys with `scores` and `unanswered` sent ones, sent on `day` about new tickets
    (CSAT) or waybills (NPS) of `branch`."""
    from shipments.models import Waybill

    with tenant_scope(tw.tenant):
        for i, score in enumerate([*scores, *([None] * unanswered)]):
            subject = {}
            if kind == "csat":
                subject["ticket"] = ticket(tw, branch, day, category="tracking_inquiry")
                if assignee is not None:
                    subject["ticket"].assignee = assignee
                    subject["ticket"].save(update_fields=["assignee"])
            else:
                subject["waybill"] = Waybill.objects.create(number=f"NPS{tw.tenant.code}{day:%m%d}{i}{kind}",
                                                            origin_branch=branch, shipped_at=local_noon(day))
            sent = local_noon(day)
            Survey.objects.create(kind=kind, channel="sms", branch=branch, status="answered" if score is not None
                                  else "sent", sent_at=sent, score=score,
                                  answered_at=sent if score is not None else None, **subject)


def test_csat_and_nps_trend_with_response_rates(world):
    a, b = world.a, world.b
    day = months_ago(1)
    surveys(a, a.branch, day, kind="csat", scores=[5, 4, 3], unanswered=1)
    surveys(a, a.branch, day, kind="nps", scores=[10, 9, 8, 3])
    surveys(b, b.branch, day, kind="csat", scores=[1, 1, 1, 1, 1, 1])
    rollup(a)
    rollup(b)
    client = world.client_for(a.user(Role.EXECUTIVE))
    response = client.get(reverse("api-reports-chart", args=["satisfaction"]))
    assert response.status_code == 200
    rows = {row["month"]: row for row in response.json()["rows"]}
    row = rows[day.strftime("%Y-%m")]
    assert row["csat_sent"] == 4 and row["csat_answered"] == 3
    assert Decimal(row["csat_response_rate"]) == Decimal("75.0")
    assert Decimal(row["csat_average"]) == Decimal("4.00")
    assert row["nps_sent"] == 4 and Decimal(row["nps"]) == Decimal("25.0")  # 50 % promoters − 25 % detractors
    # Six months by default, each one present even without surveys.
    assert len(rows) == 6
    # Another branch's subtree shows none of them.
    other = client.get(reverse("api-reports-chart", args=["satisfaction"]), {"branch": a.other_branch.pk}).json()
    assert all(r["csat_sent"] == 0 and r["nps_sent"] == 0 for r in other["rows"])
    # The rollup's figures are the surveys selector's (tickets.selectors.surveys.survey_trend).
    from reports.selectors import DashboardFilters, satisfaction_trend
    from tickets.selectors.surveys import survey_trend

    start, end = months_ago(5, day=1), timezone.localdate()
    with tenant_scope(a.tenant):
        mine = satisfaction_trend(DashboardFilters(start=start, end=end))
        for kind in ("csat", "nps"):
            for theirs, ours in zip(survey_trend(kind=kind, start=start, end=end), mine, strict=True):
                assert ours["month"] == theirs["month"].strftime("%Y-%m")
                assert (ours[f"{kind}_sent"], ours[f"{kind}_answered"]) == (theirs["sent"], theirs["answered"])
                if theirs["answered"]:
                    assert ours[f"{kind}_response_rate"] == theirs["response_rate"]
                    assert (ours["csat_average"] if kind == "csat" else ours["nps"]) == (
                        theirs["average"] if kind == "csat" else theirs["nps"])


def test_churn_risk_counts_and_retention(world):
    for tw, risks in ((world.a, ["high", "high", "medium", ""]), (world.b, ["high"] * 5)):
        admin = tw.user(Role.TENANT_ADMIN)
        with tenant_scope(tw.tenant, user=admin):
            for i, risk in enumerate(risks):
                customer = customer_services.customer_create(actor=admin, kind=CustomerKind.PERSON, name=f"客户{i}",
                                                             province="上海", city="上海")
                if risk:
                    CustomerChurn.objects.create(customer=customer, risk=risk)
    client = world.client_for(world.a.user(Role.EXECUTIVE))
    rows = {r["risk"]: r["customers"] for r in client.get(reverse("api-reports-chart", args=["churn"])).json()["rows"]}
    assert rows == {"high": 2, "medium": 1, "low": 1}
    retention = client.get(reverse("api-reports-chart", args=["retention"])).json()["rows"]
    assert {r["outcome"]: r["tasks"] for r in retention} == {"retained": 0, "lost": 0, "no_action": 0, "open": 0}
    assert all(r["rate"] is None for r in retention)


def test_agent_home_shows_my_csat(world):
    a = world.a
    agent = a.members[Role.AGENT]
    surveys(a, a.branch, timezone.localdate(), kind="csat", scores=[4, 2], assignee=agent)
    page = world.client_for(agent.user).get(reverse("home")).content.decode()
    assert "my-csat" in page and "3.00" in page


def test_branch_manager_and_executive_home_kpis(world):
    a = world.a
    today = timezone.localdate()
    waybills(a, a.branch, 200, today)
    waybills(a, a.other_branch, 800, today)
    ticket(a, a.branch, today)
    ticket(a, a.other_branch, today, fr_late=True)
    for tw in (a, world.b):
        rollup(tw)
    manager_page = world.client_for(a.user(Role.BRANCH_MANAGER)).get(reverse("home"))
    kpis = manager_page.context["branch_kpis"]
    assert kpis["shipments"] == 200 and kpis["complaints"] == 1 and kpis["complaint_rate"] == Decimal("50.00")
    assert kpis["first_response_met"] == Decimal("100.0")
    assert 'id="home-branch-kpis"' in manager_page.content.decode()
    exec_page = world.client_for(a.user(Role.EXECUTIVE)).get(reverse("home"))
    company = exec_page.context["headline_kpis"]
    assert company["shipments"] == 1000 and company["complaints"] == 2
    assert company["first_response_met"] == Decimal("50.0")
    assert reverse("reports:dashboards") in exec_page.content.decode()


def test_auditor_home_shows_ledger_and_request_status(world):
    page = world.client_for(world.a.user(Role.AUDITOR)).get(reverse("home"))
    assert page.status_code == 200
    status = page.context["audit_status"]
    assert status["chain"].state == "unverified" and status["requests"]["open"] == 0
    assert 'id="home-audit-status"' in page.content.decode()


def test_sales_health_partial(world):
    a = world.a
    manager = a.members[Role.SALES_MANAGER]
    with tenant_scope(a.tenant, user=manager.user):
        mine = customer_services.customer_create(actor=manager.user, kind=CustomerKind.PERSON, name="高风险客户",
                                                 province="上海", city="上海")
        Customer.objects.filter(pk=mine.pk).update(owner=manager)
        CustomerChurn.objects.create(customer=mine, risk="high", score=88)
        request = RequestFactory().get("/")
        request.membership = manager
        html = Template("{% load reports_tags %}{% sales_health %}").render(Context({"request": request}))
    # A C-end person's name is masked on screen (DOMAIN.md §6).
    assert mine.display_name in html and "高风险客户" not in html and 'id="sales-health"' in html and "88" in html
    with tenant_scope(a.tenant):
        request.membership = a.members[Role.AGENT]
        assert "sales-health" not in Template("{% load reports_tags %}{% sales_health %}").render(
            Context({"request": request}))
