"""Celery tasks enter the tenant scope from tenant_id; commands from --tenant."""
import io
import json

import pytest
import redis
from django.conf import settings
from django.core.management import CommandError, call_command

from courier_crm.celery import app
from tenancy.models import ApiToken, Tenant, TenantKey, User
from tenancy.scoping import current_state
from tenancy.tasks import TenantTask, platform_key_age_sweep, tenant_key_age_check


@app.task(base=TenantTask, bind=True, name="tests.scope_probe")
def scope_probe(self, *, tenant_id):
    from tenancy.models import Branch

    return {"scope": current_state().tenant_id, "codes": sorted(Branch.objects.values_list("code", flat=True))}


def test_tenant_task_runs_inside_its_tenant(world):
    result = scope_probe.apply(kwargs={"tenant_id": world.b.tenant.pk}).get()
    assert result["scope"] == world.b.tenant.pk
    assert result["codes"] == ["BETA-B1", "BETA-B2", "BETA-HQ", "BETA-R1"]
    assert current_state().tenant_id is None  # the scope ended with the task


def test_tenant_task_refuses_to_run_without_tenant(world):
    with pytest.raises(TypeError):
        scope_probe.apply(kwargs={}, throw=True).get()


def test_inactive_tenant_is_skipped(world):
    Tenant.objects.filter(pk=world.b.tenant.pk).update(is_active=False)
    assert scope_probe.apply(kwargs={"tenant_id": world.b.tenant.pk}).get() is None


def test_key_age_check_reports_old_keys(world):
    from datetime import timedelta

    from django.utils import timezone

    from tenancy.scoping import tenant_scope

    with tenant_scope(world.a.tenant):
        TenantKey.objects.filter(purpose="data").update(created_at=timezone.now() - timedelta(days=400))
    stale = tenant_key_age_check.apply(kwargs={"tenant_id": world.a.tenant.pk}).get()
    assert len(stale) == 1 and "400" in stale[0]
    assert tenant_key_age_check.apply(kwargs={"tenant_id": world.b.tenant.pk}).get() == []


def test_platform_sweep_enqueues_one_task_per_tenant_on_the_real_broker(world):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("celery")
    assert platform_key_age_sweep.apply().get() == 2
    messages = [json.loads(m) for m in broker.lrange("celery", 0, -1)]
    broker.delete("celery")
    kwargs = sorted(m["headers"]["kwargsrepr"] for m in messages)
    assert kwargs == sorted(f"{{'tenant_id': {t.pk}}}" for t in (world.a.tenant, world.b.tenant))


def test_beat_schedule_names_only_registered_tasks():
    app.loader.import_default_modules()
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in app.tasks, entry["task"]


def test_seed_demo_runs_once(db):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "loaded" in out.getvalue()
    users = User.objects.count()
    call_command("seed_demo", stdout=out)
    assert "already present" in out.getvalue()
    assert User.objects.count() == users == 15
    assert set(Tenant.objects.values_list("code", flat=True)) == {"shunda", "xunjie"}
    from tenancy.scoping import tenant_scope
    from tickets.models import Claim

    for tenant in Tenant.objects.all():
        with tenant_scope(tenant):
            # the demo claims walk the path with the four-eyes rule: filed by the agent, decided by headquarters
            statuses = set(Claim.objects.values_list("status", flat=True))
            assert {"paid", "under_review", "submitted", "draft"} <= statuses, statuses
            paid = Claim.objects.get(status="paid")
            assert paid.filed_by_id != paid.decided_by_id and paid.payout.amount == paid.approved_amount
            # data-subject requests at every step, one of them carried out as a deletion
            from compliance.models import DataSubjectRequest, DsrExport, Incident, RetentionRun

            kinds = set(DataSubjectRequest.objects.values_list("kind", "status"))
            assert ("deletion", "completed") in kinds and ("access", "received") in kinds, kinds
            assert DataSubjectRequest.objects.filter(kind="deletion").get().subject_erased_at is not None
            assert DsrExport.objects.filter(status="done").count() == 1
            assert Incident.objects.get().affected_count >= 0 and RetentionRun.objects.count() == 1


def test_create_api_token_command(world):
    out = io.StringIO()
    call_command("create_api_token", "--tenant", "alpha", "--user", "alpha_agent", "--name", "tms", stdout=out)
    raw = out.getvalue().strip()
    assert raw.startswith("crm_")
    assert ApiToken.objects.filter(name="tms", tenant=world.a.tenant).count() == 1
    with pytest.raises(CommandError):
        call_command("create_api_token", "--tenant", "alpha", "--user", "beta_agent", stdout=out)
    with pytest.raises(CommandError):
        call_command("create_api_token", "--tenant", "nope", "--user", "alpha_agent", stdout=out)


def test_create_tenant_command_sets_up_a_working_company(db):
    from django.test import Client

    from tenancy.models import Branch, Membership, TenantKey
    from tenancy.scoping import tenant_scope

    out = io.StringIO()
    call_command("create_tenant", "--code", "kuaiyun", "--name", "快运物流", "--province", "江苏省",
                 "--city", "南京市", "--admin-username", "ky_admin", "--admin-name", "管理员",
                 "--admin-password", "Long-Enough-Passw0rd", stdout=out)
    tenant = Tenant.objects.get(code="kuaiyun")
    with tenant_scope(tenant):
        assert Branch.objects.get().kind == "hq"
        assert Membership.objects.get().role == "tenant_admin"
        assert TenantKey.objects.count() == 2
    client = Client()
    response = client.post("/login/", {"username": "ky_admin", "password": "Long-Enough-Passw0rd"}, follow=True)
    assert response.redirect_chain[-1][0].startswith("/two-factor/setup/")
    with pytest.raises(CommandError):
        call_command("create_tenant", "--code", "kuaiyun", "--name", "x", "--admin-username", "other",
                     "--admin-name", "x", "--admin-password", "Long-Enough-Passw0rd", stdout=out)
    with pytest.raises(CommandError):
        call_command("create_tenant", "--code", "weak", "--name", "x", "--admin-username", "weak_admin",
                     "--admin-name", "x", "--admin-password", "123", stdout=out)
    assert not Tenant.objects.filter(code="weak").exists()
