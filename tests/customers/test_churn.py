"""The churn scan: each signal gives its reason, thresholds come from the tenant's rules, only
changed rows are written, a newly high customer gets exactly one alert, task and notification
(owner, or the retention team's queue for C-end VIPs), and the other tenant is untouched."""
import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from customers import services
from customers.models import (
    ChurnAlert,
    Contract,
    ContractStatus,
    Customer,
    CustomerChurn,
    CustomerKind,
    RetentionTask,
    SalesTeam,
)
from customers.services.churn import churn_scan
from shipments.services import daily_volume_add
from tenancy.models import Notification, Role, RuleSetting
from tenancy.scoping import tenant_scope
from tickets.models import Survey
from tickets.services import intake

pytestmark = pytest.mark.django_db


def admin_scope(tw):
    return tenant_scope(tw.tenant, user=tw.user("tenant_admin"))


def make_customer(tw, name, *, kind=CustomerKind.ACCOUNT, owner=None, **fields):
    with admin_scope(tw):
        return services.customer_create(actor=tw.user("tenant_admin"), kind=kind, name=name, owner=owner,
                                        province="上海", city="浦东新区", **fields)


def ship(tw, customer, *, recent_per_day: int, baseline_per_day: int):
    """Daily parcels: the 30 days up to yesterday at one rate, the 90 days before at another."""
    today = timezone.localdate()
    rows = []
    for offset in range(1, 121):
        parcels = recent_per_day if offset <= 30 else baseline_per_day
        if parcels:
            rows.append((customer.pk, today - dt.timedelta(days=offset), parcels, Decimal("8.00") * parcels, 0))
    with tenant_scope(tw.tenant):
        daily_volume_add(rows)


def scan(tw):
    with tenant_scope(tw.tenant):
        return churn_scan()


def reload(tw, customer):
    with tenant_scope(tw.tenant):
        return Customer.objects.select_related("churn").get(pk=customer.pk)


def has_churn_row(tw, customer) -> bool:
    with tenant_scope(tw.tenant):
        return CustomerChurn.objects.filter(customer_id=customer.pk).exists()


def codes(customer):
    return [r["code"] for r in customer.churn.reasons]


def test_volume_drop_against_own_baseline_opens_one_alert_task_and_notification(world):
    manager = world.a.members[Role.SALES_MANAGER]
    falling = make_customer(world.a, "下滑电商", owner=manager)
    steady = make_customer(world.a, "平稳电商", owner=manager)
    ship(world.a, falling, recent_per_day=3, baseline_per_day=10)   # down 70 %
    ship(world.a, steady, recent_per_day=10, baseline_per_day=10)
    other = make_customer(world.b, "乙方下滑", owner=world.b.members[Role.SALES_MANAGER])
    ship(world.b, other, recent_per_day=1, baseline_per_day=10)

    result = scan(world.a)

    assert result.alerts == 1 and result.tasks == 1 and result.notified == 1
    falling, steady = reload(world.a, falling), reload(world.a, steady)
    assert falling.churn.risk == "high" and falling.churn.score == 56
    assert falling.churn.reasons == [{"code": "volume_drop", "days": 30, "recent": 90, "baseline": 300,
                                      "drop_pct": 70, "points": 56}]
    # low with no reasons: no churn row at all
    assert not has_churn_row(world.a, steady)
    with tenant_scope(world.a.tenant):
        task = RetentionTask.objects.select_related("alert").get()
        assert task.customer_id == falling.pk and task.assignee_id == manager.pk and task.team_id is None
        assert task.status == "open" and task.suggested_actions == ["call_back", "offer"]
        assert task.due_date == timezone.localdate() + dt.timedelta(days=3)
        assert task.alert.score == 56 and task.alert.raised_on == timezone.localdate()
        note = Notification.objects.get()
        assert note.membership_id == manager.pk and note.dedup_key == f"churn:{task.alert_id}"
        assert str(task.pk) in note.url
    # The other company was not scanned: nothing written there.
    with tenant_scope(world.b.tenant):
        assert not CustomerChurn.objects.exists() and Customer.objects.filter(pk=other.pk).exists()
        assert not ChurnAlert.objects.exists() and not RetentionTask.objects.exists()
        assert not Notification.objects.filter(dedup_key__startswith="churn:").exists()


def test_second_run_changes_nothing_and_already_high_gets_no_second_alert(world):
    manager = world.a.members[Role.SALES_MANAGER]
    falling = make_customer(world.a, "下滑电商", owner=manager)
    ship(world.a, falling, recent_per_day=2, baseline_per_day=10)
    first = scan(world.a)
    scored_at = reload(world.a, falling).churn.scored_at
    second = scan(world.a)
    assert first.changed >= 1 and first.alerts == 1
    assert (second.changed, second.alerts, second.tasks, second.notified) == (0, 0, 0, 0)
    assert reload(world.a, falling).churn.scored_at == scored_at
    # Still high on a later day (the score moves a little): the row changes, no new alert.
    ship(world.a, falling, recent_per_day=1, baseline_per_day=0)
    with tenant_scope(world.a.tenant):
        later = churn_scan(today=timezone.localdate() + dt.timedelta(days=1))
        assert later.alerts == 0 and ChurnAlert.objects.count() == 1 and RetentionTask.objects.count() == 1


def test_no_volume_history_is_low_without_reasons_even_with_complaints(world):
    prospect = make_customer(world.a, "潜在客户", owner=world.a.members[Role.SALES_MANAGER])
    with admin_scope(world.a):
        intake.ticket_create(actor=world.a.user("tenant_admin"), draft=intake.TicketDraft(
            channel="phone", category="complaint", subject="投诉", customer_id=prospect.pk))
    assert scan(world.a).alerts == 0
    prospect = reload(world.a, prospect)
    assert not has_churn_row(world.a, prospect)


def test_complaints_low_satisfaction_and_commitment_each_give_their_reason(world):
    admin = world.a.user("tenant_admin")
    account = make_customer(world.a, "投诉客户", owner=world.a.members[Role.SALES_MANAGER])
    ship(world.a, account, recent_per_day=10, baseline_per_day=10)  # steady: 300 parcels in 30 days
    today = timezone.localdate()
    with admin_scope(world.a):
        for subject in ("破损", "延误"):
            intake.ticket_create(actor=admin, draft=intake.TicketDraft(
                channel="phone", category="complaint", subject=subject, customer_id=account.pk))
        ticket = intake.ticket_create(actor=admin, draft=intake.TicketDraft(
            channel="phone", category="tracking_inquiry", subject="查询", customer_id=account.pk))
        Survey(kind="csat", ticket=ticket, customer=account, channel="sms", status="answered", score=1,
               answered_at=timezone.now() - dt.timedelta(days=2)).save()
        Contract(customer=account, number="HT-CHURN-1", start_date=today - dt.timedelta(days=60),
                 end_date=today + dt.timedelta(days=300), monthly_commitment=500,
                 status=ContractStatus.ACTIVE).save()
    scan(world.a)
    account = reload(world.a, account)
    reasons = {r["code"]: r for r in account.churn.reasons}
    assert set(reasons) == {"open_complaints", "low_satisfaction", "under_commitment"}
    assert reasons["open_complaints"]["count"] == 2 and reasons["open_complaints"]["points"] == 30
    assert reasons["low_satisfaction"]["csat"] == 1 and reasons["low_satisfaction"]["nps"] is None
    assert reasons["under_commitment"] == {"code": "under_commitment", "recent": 300, "commitment": 500,
                                           "shortfall_pct": 40, "points": 20}
    assert account.churn.score == 70 and account.churn.risk == "high"
    with tenant_scope(world.a.tenant):
        task = RetentionTask.objects.get(customer=account)
    assert task.suggested_actions == ["call_back", "fix_complaint", "offer", "review_contract"]


def test_paid_claim_gives_its_reason(world):
    from tests.compliance.keys_world import plant_personal_data

    planted = plant_personal_data(world.a, phone_prefix="1371111", customers_count=2)
    with tenant_scope(world.a.tenant):
        customer_id = planted.payout.claim.claimant_id or planted.payout.claim.ticket.customer_id
    assert customer_id is not None
    customer = reload(world.a, Customer(pk=customer_id))
    ship(world.a, customer, recent_per_day=10, baseline_per_day=10)
    scan(world.a)
    reasons = {r["code"]: r for r in reload(world.a, customer).churn.reasons}
    assert reasons["claims_paid"]["count"] == 1
    assert Decimal(reasons["claims_paid"]["amount"]) == planted.payout.amount


def test_thresholds_come_from_the_tenants_rules(world):
    falling = make_customer(world.a, "下滑电商", owner=world.a.members[Role.SALES_MANAGER])
    ship(world.a, falling, recent_per_day=3, baseline_per_day=10)  # 70 % → 56 points
    with tenant_scope(world.a.tenant):
        RuleSetting(key="customers.churn_high_score", value=80, effective_from=timezone.localdate(),
                    created_by=world.a.user("tenant_admin")).save()
    assert scan(world.a).alerts == 0
    assert reload(world.a, falling).churn.risk == "medium"


def test_c_end_vip_without_manager_goes_to_the_retention_queue(world):
    admin = world.a.user("tenant_admin")
    manager = world.a.members[Role.SALES_MANAGER]
    with admin_scope(world.a):
        services.sales_team_create(actor=admin, name="普通组", members=[manager], priority=10)
        queue = services.sales_team_create(actor=admin, name="挽留组", members=[manager], priority=50)
        SalesTeam.objects.filter(pk=queue.pk).update(retention_queue=True)
        vip_tag = services.tag_create(actor=admin, name="VIP", color="danger", description="")
    vip = make_customer(world.a, "王女士", kind=CustomerKind.PERSON)
    plain = make_customer(world.a, "李先生", kind=CustomerKind.PERSON)
    with admin_scope(world.a):
        services.customer_tag_add(actor=admin, customer=vip, tag=vip_tag)
    for person in (vip, plain):
        ship(world.a, person, recent_per_day=0, baseline_per_day=1)  # stopped shipping

    result = scan(world.a)

    assert result.alerts == 2 and result.tasks == 1
    with tenant_scope(world.a.tenant):
        task = RetentionTask.objects.get()
        assert task.customer_id == vip.pk and task.team_id == queue.pk and task.assignee_id is None
        assert Notification.objects.get(dedup_key=f"churn:{task.alert_id}").membership_id == manager.pk
        assert ChurnAlert.objects.filter(customer=plain).exists()  # alert only, nobody to work it


def test_merged_customers_are_skipped(world):
    survivor = make_customer(world.a, "存续客户")
    merged = make_customer(world.a, "被合并客户")
    ship(world.a, merged, recent_per_day=0, baseline_per_day=10)
    with tenant_scope(world.a.tenant):
        Customer.objects.filter(pk=merged.pk).update(status="merged", merged_into=survivor)
    scan(world.a)
    assert not has_churn_row(world.a, merged)
