"""Offboard a company: deactivate it and destroy its keys (crypto-shredding). Cannot be undone.

    manage.py offboard_tenant --tenant CODE --confirm CODE"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from compliance.services.keys import platform_tenant_offboard
from tenancy.models import Tenant


class Command(BaseCommand):
    help = "Deactivate a company and destroy its keys, so none of its personal data can be decrypted again."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant code")
        parser.add_argument("--confirm", required=True, help="the tenant code again, to confirm")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(code=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}")
        try:
            tenant = platform_tenant_offboard(tenant=tenant, confirm_code=options["confirm"])
        except ValidationError as exc:
            raise CommandError("; ".join(" ".join(m) for m in exc.message_dict.values())) from exc
        self.stdout.write(f"tenant {tenant.code} offboarded at {tenant.offboarded_at:%Y-%m-%d %H:%M}; "
                          f"keys destroyed at {tenant.keys_shredded_at:%Y-%m-%d %H:%M}")
