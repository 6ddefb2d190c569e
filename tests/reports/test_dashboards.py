"""The dashboards: each chart's numbers on a small two-company world (company B's figures are never
counted in A's), the branch filter within a branch manager's reach, who sees which chart, the CSV
equal to the JSON, the rollup refresh, and query counts that do not grow with the data."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from reports.models import BranchDayShipments
from reports.services import rollup_refresh, rollup_refresh_range
from shipments.models import Waybill
from tenancy.models import Role
from tenancy.scoping import tenant_scope

from .dashboards_world import months_ago, rollup, team, ticket, waybills

pytestmark = pytest.mark.django_db


def chart(client, key, **params):
    response = client.get(reverse("api-reports-chart", args=[key]), params)
    return response


def by(rows, *keys):
    return {tuple(row[k] for k in keys) if len(keys) > 1 else row[keys[0]]: row for row in rows}


@pytest.fixture
def figures(world):
    """Tenant A: 400 waybills at the Pudong branch last month (2 complaints, one of them also an
    appeal) and 200 at Hangzhou (1 complaint); tenant B the same shape with other numbers, so any
    leak would show."""
    a, b = world.a, world.b
    last_month = months_ago(1)
    waybills(a, a.branch, 400, last_month, delivered=300)
    waybills(a, a.other_branch, 200, last_month)
    ticket(a, a.branch, last_month)
    ticket(a, a.branch, last_month, tags=["12305"])
    ticket(a, a.other_branch, last_month)
    ticket(a, a.branch, last_month, category="tracking_inquiry")  # not a complaint
    waybills(b, b.branch, 50, last_month)
    for _ in range(5):
        ticket(b, b.branch, last_month, tags=["12305"])
    rollup(a)
    rollup(b)
    return last_month


def test_complaint_and_appeal_rates_by_branch_and_month(world, figures):
    client = world.client_for(world.a.user(Role.EXECUTIVE))
    response = chart(client, "complaints")
    assert response.status_code == 200, response.content
    rows = by(response.json()["rows"], "branch_id", "month")
    month = figures.strftime("%Y-%m")
    pudong = rows[(world.a.branch.pk, month)]
    assert pudong["shipments"] == 400 and pudong["complaints"] == 2 and pudong["appeals"] == 1
    assert Decimal(pudong["complaint_rate"]) == Decimal("50.00")       # 2 / 400 × 10,000
    assert Decimal(pudong["appeal_rate"]) == Decimal("2500.00")        # 1 / 400 × 1,000,000
    hangzhou = rows[(world.a.other_branch.pk, month)]
    assert hangzhou["shipments"] == 200 and hangzhou["complaints"] == 1 and hangzhou["appeals"] == 0
    # Tenant B's branches and tickets never appear in A's dashboard.
    assert {branch for branch, _m in rows} <= {world.a.branch.pk, world.a.other_branch.pk}
    assert sum(r["shipments"] for r in rows.values()) == 600


def test_the_branch_filter_limits_every_figure_to_the_subtree(world, figures):
    client = world.client_for(world.a.user(Role.EXECUTIVE))
    rows = chart(client, "complaints", branch=world.a.other_branch.pk).json()["rows"]
    assert {r["branch_id"] for r in rows} == {world.a.other_branch.pk}
    region = chart(client, "complaints", branch=world.a.region.pk).json()["rows"]
    assert {r["branch_id"] for r in region} == {world.a.branch.pk, world.a.other_branch.pk}


def test_the_date_range_is_applied(world, figures):
    client = world.client_for(world.a.user(Role.EXECUTIVE))
    today = timezone.localdate()
    rows = chart(client, "complaints", start=today.replace(day=1).isoformat(), end=today.isoformat()).json()["rows"]
    assert rows == []


def test_branch_manager_sees_the_own_subtree_only(world, figures):
    manager = world.a.members[Role.BRANCH_MANAGER]  # manages the Pudong branch
    client = world.client_for(manager.user)
    rows = chart(client, "complaints").json()["rows"]
    assert {r["branch_id"] for r in rows} == {world.a.branch.pk}
    # Another subtree of the same company, or another company's branch: refused, naming the field.
    for branch in (world.a.other_branch, world.a.region, world.b.branch):
        response = chart(client, "complaints", branch=branch.pk)
        assert response.status_code == 400
        assert "branch" in response.json()["error"]["fields"]


@pytest.mark.parametrize("params", [{"start": "2026-13-01"}, {"branch": "x"},
                                    {"start": "2026-05-01", "end": "2026-04-01"},
                                    {"start": "1990-01-01", "end": "2026-01-01"}, {"end": "0001-01-01"},
                                    {"end": "9999-12-31"}, {"branch": "99999999999999999999"}])
def test_bad_filters_answer_400_with_the_field(world, params):
    client = world.client_for(world.a.user(Role.EXECUTIVE))
    response = chart(client, "sla", **params)
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) & {"start", "end", "branch"}


def test_sla_attainment_and_breaches_by_team(world):
    a, b = world.a, world.b
    day = months_ago(1)
    complaints_team = team(a, "complaints", "投诉组")
    ticket(a, a.branch, day, team=complaints_team)
    ticket(a, a.branch, day, team=complaints_team, fr_late=True)
    ticket(a, a.branch, day, team=complaints_team, fr_late=True, rs_late=True)
    ticket(a, a.branch, day, team=complaints_team)
    ticket(a, a.branch, day)  # no team
    other = team(b, "complaints", "投诉组")
    ticket(b, b.branch, day, team=other, rs_late=True)
    rollup(a)
    rollup(b)
    client = world.client_for(a.user(Role.EXECUTIVE))
    rows = by(chart(client, "sla").json()["rows"], "team_id")
    assert set(rows) == {complaints_team.pk, None}
    row = rows[complaints_team.pk]
    assert row["tickets"] == 4 and row["first_response_breaches"] == 2 and row["resolution_breaches"] == 1
    assert Decimal(row["first_response_met"]) == Decimal("50.0")
    assert Decimal(row["resolution_met"]) == Decimal("75.0")
    assert rows[None]["tickets"] == 1


def test_claims_by_type_counts_this_company_only(world):
    from tests.tickets.claims_world import build_claims_desk, claim_under_review, insure_waybills

    desks = {}
    for tw, prefix in ((world.a, "RA"), (world.b, "RB")):
        desks[tw.tenant.code] = desk = build_claims_desk(tw, prefix=prefix, count=1)
        insure_waybills(tw, desk.tickets, insured="300")
        claim_under_review(tw, desk.tickets[0], claimed="200.00", assessed="200.00")
    client = world.client_for(world.a.user(Role.EXECUTIVE))
    rows = by(chart(client, "claims").json()["rows"], "claim_type")
    assert rows["loss"]["opened"] == 1 and Decimal(rows["loss"]["claimed_amount"]) == Decimal("200.00")
    assert sum(r["opened"] for r in rows.values()) == 1


def test_fines_by_tier_and_branch(world):
    from tests.penalties.fines_world import confirmed, seed_catalogue

    seed_catalogue(world)
    confirmed(world.a, amount="1000.00")
    confirmed(world.b, amount="3000.00")
    for role in (Role.EXECUTIVE, Role.AUDITOR):
        rows = chart(world.client_for(world.a.user(role)), "fines").json()["rows"]
        assert sum(Decimal(r["issued"]) for r in rows) == Decimal("1000.00"), role
        assert sum(r["entries"] for r in rows) == 1


def test_who_sees_which_chart(world, figures):
    expected = {
        Role.EXECUTIVE: {"complaints": 200, "sla": 200, "claims": 200, "fines": 200},
        Role.BRANCH_MANAGER: {"complaints": 200, "sla": 200, "claims": 200, "fines": 200, "churn": 403},
        Role.AUDITOR: {"complaints": 403, "sla": 403, "claims": 403, "fines": 200, "churn": 403},
        Role.AGENT: {"complaints": 403, "fines": 403},
        Role.SALES_MANAGER: {"complaints": 403, "fines": 403},
        Role.TENANT_ADMIN: {"complaints": 403},
    }
    for role, charts in expected.items():
        client = world.client_for(world.a.user(role))
        for key, status in charts.items():
            assert chart(client, key).status_code == status, (role, key)
        page = client.get(reverse("reports:dashboards"))
        sees_any = any(code == 200 for code in charts.values())
        assert page.status_code == (200 if sees_any else 403), role
    assert chart(world.client_for(world.a.user(Role.EXECUTIVE)), "nonsense").status_code == 404


def test_the_page_lists_only_the_allowed_sections_with_filtered_urls(world, figures):
    auditor_page = world.client_for(world.a.user(Role.AUDITOR)).get(reverse("reports:dashboards")).content.decode()
    assert 'id="chart-fines"' in auditor_page and 'id="chart-complaints"' not in auditor_page
    client = world.client_for(world.a.user(Role.EXECUTIVE))
    page = client.get(reverse("reports:dashboards"), {"start": "2026-01-01", "end": "2026-03-31",
                                                       "branch": world.a.region.pk}).content.decode()
    assert f"start=2026-01-01&amp;end=2026-03-31&amp;branch={world.a.region.pk}" in page
    assert 'data-url="/api/v1/reports/complaints/' in page
    bad = client.get(reverse("reports:dashboards"), {"start": "2026-05-01", "end": "2026-01-01"})
    assert bad.status_code == 400 and 'data-url=' not in bad.content.decode()


def test_csv_has_the_same_rows_as_the_json(world, figures):
    client = world.client_for(world.a.user(Role.EXECUTIVE))
    for key in ("complaints", "sla", "claims", "fines"):
        data = chart(client, key).json()
        response = client.get(reverse("api-reports-chart-csv", args=[key]))
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert lines[0] == [c["label"] for c in data["columns"]]
        expected = [["" if row[c["key"]] is None else str(row[c["key"]]) for c in data["columns"]]
                    for row in data["rows"]]
        assert lines[1:] == expected, key
    refused = world.client_for(world.a.user(Role.AUDITOR)).get(reverse("api-reports-chart-csv", args=["complaints"]))
    assert refused.status_code == 403


def test_rollup_refresh_is_idempotent_and_follows_the_waybills(world):
    a, b = world.a, world.b
    today = timezone.localdate()
    waybills(a, a.branch, 3, today, delivered=1)
    waybills(a, a.branch, 2, today - dt.timedelta(days=40))
    waybills(b, b.branch, 7, today)
    with tenant_scope(a.tenant):
        assert rollup_refresh() == 1
        first = list(BranchDayShipments.objects.values_list("branch_id", "day", "shipments", "delivered"))
        assert rollup_refresh() == 1
        assert list(BranchDayShipments.objects.values_list("branch_id", "day", "shipments", "delivered")) == first
        assert first == [(a.branch.pk, today, 3, 1)]
        # A waybill delivered since is counted again; one re-assigned to another branch moves.
        Waybill.objects.filter(delivered_at__isnull=True, shipped_at__date=today).update(
            delivered_at=timezone.now())
        moved = Waybill.objects.filter(shipped_at__date=today).order_by("pk").first()
        Waybill.objects.filter(pk=moved.pk).update(origin_branch=a.other_branch)
        rollup_refresh()
        rows = dict(((r[0], r[1]), r[2:]) for r in BranchDayShipments.objects.values_list(
            "branch_id", "day", "shipments", "delivered"))
        assert rows == {(a.branch.pk, today): (2, 2), (a.other_branch.pk, today): (1, 1)}
        # Everything shipped elsewhere leaves no stale row behind.
        Waybill.objects.filter(shipped_at__date=today).update(origin_branch=a.other_branch)
        rollup_refresh_range(start=today, end=today + dt.timedelta(days=1))
        assert not BranchDayShipments.objects.filter(branch=a.branch).exists()
        # The 40-day-old day is only counted by the full rebuild.
        assert rollup(a) == 2
        assert BranchDayShipments.objects.filter(day=today - dt.timedelta(days=40)).get().shipments == 2
    with tenant_scope(b.tenant):
        assert not BranchDayShipments.objects.exists()


def test_the_rollup_tasks_run_per_tenant(world):
    from reports.tasks import platform_rollup_sweep
    from reports.tasks import rollup_refresh as refresh_task

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("celery")
    assert platform_rollup_sweep.apply().get() == 2
    messages = [json.loads(m) for m in broker.lrange("celery", 0, -1)]
    broker.delete("celery")
    assert sorted(m["headers"]["kwargsrepr"] for m in messages) == sorted(
        f"{{'tenant_id': {t.pk}}}" for t in (world.a.tenant, world.b.tenant))
    today = timezone.localdate()
    waybills(world.a, world.a.branch, 2, today)
    waybills(world.b, world.b.branch, 3, today)
    refresh_task.apply(kwargs={"tenant_id": world.a.tenant.pk}).get()
    with tenant_scope(world.a.tenant):
        assert list(BranchDayShipments.objects.values_list("shipments", flat=True)) == [2]
    with tenant_scope(world.b.tenant):
        assert not BranchDayShipments.objects.exists()


def test_the_chart_queries_do_not_grow_with_the_data(world, figures, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ticket(world.a, world.a.branch, figures, team=team(world.a, "desk", "客服组"))  # one team to name already
    rollup(world.a)
    client = world.client_for(world.a.user(Role.EXECUTIVE))
    few = {}
    for key in ("complaints", "sla", "claims", "fines"):
        with CaptureQueriesContext(connection) as captured:
            assert chart(client, key).status_code == 200
        few[key] = len(captured.captured_queries)
        assert few[key] <= 16, key  # the session, the membership, its permissions and a few grouped queries
    for months in (2, 3, 4):
        extra_team = team(world.a, f"vip{months}", f"大客户组{months}")
        waybills(world.a, world.a.region, 10, months_ago(months))
        for _ in range(3):
            ticket(world.a, world.a.region, months_ago(months), team=extra_team)
    rollup(world.a)
    for key in ("complaints", "sla", "claims", "fines"):
        with django_assert_max_num_queries(few[key]):
            assert chart(client, key).status_code == 200
