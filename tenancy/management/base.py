"""Base of management commands that work on one tenant's data: `--tenant CODE` enters the scope."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tenancy.models import Tenant
from tenancy.scoping import tenant_scope


class TenantCommand(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant code (or id)")

    def execute(self, *args, **options):
        value = options.get("tenant")
        tenant = Tenant.objects.filter(code=value).first()
        if tenant is None and str(value).isdigit():
            tenant = Tenant.objects.filter(pk=int(value)).first()
        if tenant is None:
            raise CommandError(f"no tenant {value!r}")
        options["tenant_obj"] = tenant
        with tenant_scope(tenant):
            return super().execute(*args, **options)
