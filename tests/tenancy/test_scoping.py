"""The ORM wall: tenant-owned tables fail closed outside a scope and never mix tenants."""
import pytest
from django.core import checks
from django.db import connection

from compliance.models import AccessLog
from tenancy.models import Branch, BranchKind, Membership, TenantScopedModel
from tenancy.rls import tenant_models
from tenancy.scoping import CrossTenantReference, TenantScopeError, current_tenant_id, tenant_scope


def test_every_tenant_model_is_found():
    labels = {m._meta.label for m in tenant_models()}
    assert {"tenancy.Branch", "tenancy.Membership", "tenancy.TenantKey", "compliance.AccessLog"} <= labels
    assert all(issubclass(m, TenantScopedModel) for m in tenant_models())


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m._meta.label)
def test_query_outside_scope_raises(db, model):
    with pytest.raises(TenantScopeError):
        list(model.objects.all())
    with pytest.raises(TenantScopeError):
        model._base_manager.count()
    with pytest.raises(TenantScopeError):
        model._default_manager.filter(pk=1).exists()


def test_scope_shows_only_own_rows(world):
    with tenant_scope(world.a.tenant):
        codes = set(Branch.objects.values_list("code", flat=True))
        assert codes == {"ALPHA-HQ", "ALPHA-R1", "ALPHA-B1", "ALPHA-B2"}
        # Another tenant's primary key is simply not there.
        assert not Branch.objects.filter(pk=world.b.branch.pk).exists()


def test_related_access_uses_scoped_base_manager(world):
    with tenant_scope(world.a.tenant):
        membership = Membership.objects.get(pk=world.a.members["agent"].pk)
        assert membership.branch.code == "ALPHA-B1"
    # Outside any scope even a lazy related lookup is refused.
    membership._state.fields_cache.clear()
    with pytest.raises(TenantScopeError):
        membership.branch  # noqa: B018


def test_tenant_is_taken_from_scope_and_cannot_be_another(world):
    with tenant_scope(world.a.tenant):
        node = Branch(code="NEW", name="新网点", kind=BranchKind.BRANCH, parent=world.a.region)
        node.save()
        assert node.tenant_id == world.a.tenant.pk
    with tenant_scope(world.b.tenant), pytest.raises(CrossTenantReference):
        node.name = "改名"
        node.save()


def test_foreign_key_to_another_tenant_is_refused(world):
    with tenant_scope(world.a.tenant):
        before = Branch.objects.count()
        intruder = Branch(code="X1", name="跨租户", kind=BranchKind.BRANCH)
        intruder.parent_id = world.b.region.pk  # B's row id, typed in by hand
        with pytest.raises(CrossTenantReference):
            intruder.save()
        membership = Membership.objects.get(pk=world.a.members["agent"].pk)
        membership.branch_id = world.b.branch.pk
        with pytest.raises(CrossTenantReference):
            membership.save()
        assert Branch.objects.count() == before
        assert Membership.objects.get(pk=membership.pk).branch_id == world.a.branch.pk


def test_bulk_create_refuses_other_tenant_rows(world):
    with tenant_scope(world.a.tenant):
        row = Branch(code="BULK", name="批量", kind=BranchKind.BRANCH, parent=world.a.region)
        row.tenant_id = world.b.tenant.pk
        with pytest.raises(CrossTenantReference):
            Branch.objects.bulk_create([row])


def test_nested_scope_restores_outer_tenant(world):
    with tenant_scope(world.a.tenant):
        with tenant_scope(world.b.tenant):
            assert current_tenant_id() == world.b.tenant.pk
            assert Branch.objects.filter(code="BETA-HQ").exists()
        assert current_tenant_id() == world.a.tenant.pk
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('app.tenant_id', true)")
            assert cursor.fetchone()[0] == str(world.a.tenant.pk)
        assert Branch.objects.filter(code="ALPHA-HQ").exists()
    with pytest.raises(TenantScopeError):
        current_tenant_id()


def test_append_only_model_refuses_orm_update_and_delete(world):
    from compliance.services import access_log_record

    with tenant_scope(world.a.tenant):
        row = access_log_record(actor=world.a.user("tenant_admin"), membership=world.a.members["tenant_admin"],
                                action="reveal", target_type="tenancy.membership", target_id=1,
                                fields=["work_phone"], reason="核对身份")
        row.reason = "changed"
        with pytest.raises(PermissionError):
            row.save()
        with pytest.raises(PermissionError):
            row.delete()
        assert AccessLog.objects.get(pk=row.pk).reason == "核对身份"


def test_system_checks_pass():
    errors = [e for e in checks.run_checks() if e.id and e.id.startswith("tenancy.")]
    assert errors == []
