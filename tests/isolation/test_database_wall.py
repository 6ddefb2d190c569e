"""The database wall, read from the catalogue: every tenant table has RLS enabled and forced
with the tenant policy; the application role cannot bypass it; with no tenant set, raw SQL
sees nothing and inserts nothing."""
import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from tenancy.rls import POLICY, tenant_models


def _fetch(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


@pytest.mark.django_db
def test_tests_run_as_the_application_role():
    (user, superuser, bypass) = _fetch(
        "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")[0]
    assert user == settings.DATABASE_APP_ROLE
    assert superuser is False and bypass is False


@pytest.mark.django_db
def test_application_role_does_not_own_tenant_tables():
    tables = [m._meta.db_table for m in tenant_models()]
    owners = dict(_fetch("SELECT relname, pg_get_userbyid(relowner) FROM pg_class WHERE relname = ANY(%s)",
                         [tables]))
    assert set(owners) == set(tables)
    assert settings.DATABASE_APP_ROLE not in owners.values()


@pytest.mark.django_db
@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m._meta.label)
def test_every_tenant_table_has_forced_rls_and_the_policy(model):
    table = model._meta.db_table
    ((enabled, forced),) = _fetch("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = %s",
                                  [table])
    assert enabled and forced
    policies = _fetch("SELECT policyname, cmd, qual, with_check FROM pg_policies WHERE tablename = %s", [table])
    by_name = {p[0]: p for p in policies}
    assert POLICY in by_name
    _, cmd, qual, with_check = by_name[POLICY]
    assert cmd == "ALL"
    assert "app.tenant_id" in qual and "tenant_id" in qual
    assert with_check == qual


@pytest.mark.django_db
def test_raw_sql_without_a_tenant_sees_nothing_and_cannot_insert(world):
    with transaction.atomic():
        _fetch("SELECT set_config('app.tenant_id', '', true)")
        for model in tenant_models():
            assert _fetch(f"SELECT count(*) FROM {model._meta.db_table}")[0][0] == 0, model
        with pytest.raises(DatabaseError), transaction.atomic():
            _fetch("INSERT INTO tenancy_branch (tenant_id, code, name, kind, path, province, city, is_active, "
                   "created_at) VALUES (%s, 'RAW', 'raw', 'branch', '', '', '', true, now())",
                   [world.a.tenant.pk])


@pytest.mark.django_db
def test_raw_sql_in_tenant_a_cannot_touch_b(world):
    with transaction.atomic():
        _fetch("SELECT set_config('app.tenant_id', %s, true)", [str(world.a.tenant.pk)])
        assert _fetch("SELECT count(*) FROM tenancy_branch WHERE tenant_id = %s", [world.b.tenant.pk])[0][0] == 0
        assert _fetch("UPDATE tenancy_branch SET name = 'pwned' WHERE tenant_id = %s RETURNING id",
                      [world.b.tenant.pk]) == []
        with pytest.raises(DatabaseError), transaction.atomic():
            _fetch("UPDATE tenancy_branch SET tenant_id = %s WHERE id = %s", [world.b.tenant.pk, world.a.branch.pk])


@pytest.mark.django_db
def test_every_tenant_foreign_key_has_a_same_tenant_constraint():
    from tenancy.rls import _constraint_name, tenant_foreign_keys

    expected = {(m._meta.db_table, _constraint_name(m._meta.db_table, f.column))
                for m in tenant_models() for f in tenant_foreign_keys(m)}
    assert expected, "the platform has tenant-to-tenant foreign keys (branch.parent, membership.branch)"
    found = set(_fetch("SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f' "
                       "AND array_length(conkey, 1) = 2"))
    assert expected <= found


@pytest.mark.django_db
def test_database_refuses_a_cross_tenant_reference_written_by_raw_sql(world):
    with pytest.raises(DatabaseError), transaction.atomic():
        _fetch("SELECT set_config('app.tenant_id', %s, true)", [str(world.a.tenant.pk)])
        _fetch("UPDATE tenancy_membership SET branch_id = %s WHERE id = %s",
               [world.b.branch.pk, world.a.members["agent"].pk])
        _fetch("SET CONSTRAINTS ALL IMMEDIATE")
