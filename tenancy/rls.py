"""The database wall: row-level security on every tenant table, and append-only tables.

`sync_database_wall()` runs after every `migrate` (post_migrate) as the table owner. It is
idempotent and covers every TenantScopedModel it finds, so a new model cannot be forgotten.
"""
from __future__ import annotations

import hashlib

from django.apps import apps
from django.conf import settings
from django.db import connection

from .privileged import sync_privileged_writes

POLICY = "tenant_isolation"
TENANT_EXPR = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
USER_EXPR = "user_id = NULLIF(current_setting('app.user_id', true), '')::bigint"

REJECT_FUNCTION = """
CREATE OR REPLACE FUNCTION crm_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The privileged-write functions (tenancy.privileged: SECURITY DEFINER, whitelisted columns
    -- only) raise this flag for their one statement. The application role has no UPDATE or
    -- DELETE right on an append-only table, so it cannot use the flag by itself.
    IF current_setting('crm.privileged_write', true) = 'on' THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        IF TG_OP = 'UPDATE' THEN RETURN NEW; END IF;
    END IF;
    RAISE EXCEPTION 'table % is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def tenant_models() -> list:
    from .models import TenantScopedModel

    return [
        m for m in apps.get_models()
        if issubclass(m, TenantScopedModel) and not m._meta.abstract and not m._meta.proxy
        and m._meta.managed
    ]


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _constraint_name(table: str, column: str) -> str:
    name = f"{table}_{column}_same_tenant"
    if len(name) > 63:
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]  # noqa: S324 — a name, not security
        name = f"{name[:54]}_{digest}"
    return name


def tenant_foreign_keys(model) -> list:
    """Foreign keys from a tenant model to a tenant model (these get a composite constraint)."""
    from .models import TenantScopedModel

    return [
        f for f in model._meta.concrete_fields
        if f.many_to_one and f.name != "tenant" and isinstance(f.related_model, type)
        and issubclass(f.related_model, TenantScopedModel)
    ]


def _sync_same_tenant_keys(cursor, model) -> None:
    """(tenant_id, fk) REFERENCES target (tenant_id, id): the database itself refuses a row
    that points at another tenant's row, even when written by raw SQL."""
    table = model._meta.db_table
    if not getattr(model, "partitioned", False):
        # (A partitioned table's unique indexes must hold its partition key; nothing points at one.)
        cursor.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {_q(table + '_tenant_pk')} ON {_q(table)} (tenant_id, id)")
    for field in tenant_foreign_keys(model):
        target = field.related_model._meta.db_table
        cursor.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {_q(target + '_tenant_pk')} "
                       f"ON {_q(target)} (tenant_id, id)")
        name = _constraint_name(table, field.column)
        cursor.execute("SELECT 1 FROM pg_constraint WHERE conname = %s AND conrelid = %s::regclass",
                       [name, table])
        if cursor.fetchone():
            continue
        cursor.execute(
            f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} FOREIGN KEY (tenant_id, {_q(field.column)}) "
            f"REFERENCES {_q(target)} (tenant_id, id) DEFERRABLE INITIALLY DEFERRED"
        )


def _partitions(cursor, model) -> list[str]:
    if not getattr(model, "partitioned", False):
        return []
    cursor.execute("SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass",
                   [model._meta.db_table])
    return [row[0] for row in cursor.fetchall()]


def _secure_partition(cursor, partition: str, model, app_role: str | None) -> None:
    """A partition is a table of its own: reached directly it would skip the parent's policy, so
    it gets the same policy, and the application role no direct rights beyond reading."""
    table = _q(partition)
    cursor.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    cursor.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    cursor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    cursor.execute(f"CREATE POLICY {POLICY} ON {table} USING ({TENANT_EXPR}) WITH CHECK ({TENANT_EXPR})")
    if app_role:
        cursor.execute(f"REVOKE ALL ON {table} FROM {_q(app_role)}")


def sync_database_wall(app_role: str | None = None) -> list[str]:
    """Apply RLS, grants and append-only triggers. Returns the tables it covered."""
    app_role = app_role or settings.DATABASE_APP_ROLE
    covered = []
    with connection.cursor() as cursor:
        cursor.execute(REJECT_FUNCTION)
        if app_role:
            role = _q(app_role)
            cursor.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
            cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
            cursor.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}")
            cursor.execute(f"REVOKE INSERT, UPDATE, DELETE ON django_migrations FROM {role}")
        for model in tenant_models():
            for partition in _partitions(cursor, model):
                _secure_partition(cursor, partition, model, app_role)
            if app_role and getattr(model, "partition_function", None):
                cursor.execute(f"GRANT EXECUTE ON FUNCTION {model.partition_function} TO {_q(app_role)}")
            table = _q(model._meta.db_table)
            cursor.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            cursor.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            cursor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
            cursor.execute(
                f"CREATE POLICY {POLICY} ON {table} USING ({TENANT_EXPR}) WITH CHECK ({TENANT_EXPR})"
            )
            for name, command, expr in getattr(model, "extra_rls_policies", ()):
                cursor.execute(f"DROP POLICY IF EXISTS {_q(name)} ON {table}")
                cursor.execute(f"CREATE POLICY {_q(name)} ON {table} FOR {command} USING ({expr})")
            if app_role and getattr(model, "read_only_for_app", False):
                # Written only by a SECURITY DEFINER trigger running as the owner.
                cursor.execute(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {table} FROM {_q(app_role)}")
            if model.append_only:
                if app_role:
                    cursor.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {_q(app_role)}")
                cursor.execute(f"DROP TRIGGER IF EXISTS crm_append_only ON {table}")
                cursor.execute(
                    f"CREATE TRIGGER crm_append_only BEFORE UPDATE OR DELETE ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION crm_reject_change()"
                )
                cursor.execute(f"DROP TRIGGER IF EXISTS crm_append_only_truncate ON {table}")
                cursor.execute(
                    f"CREATE TRIGGER crm_append_only_truncate BEFORE TRUNCATE ON {table} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION crm_reject_change()"
                )
            _sync_same_tenant_keys(cursor, model)
            covered.append(model._meta.db_table)
        sync_privileged_writes(cursor, app_role)
    return covered


def on_post_migrate(sender, using="default", **kwargs):
    # Runs once per migrate (sent for each app; we act on ours only, after all tables exist).
    if sender.name != "tenancy":
        return
    sync_database_wall()
