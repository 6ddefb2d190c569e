"""Platform command: a new courier company with its keys, its headquarters node and its first
tenant admin (who enrols two-factor login at the first login)."""
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tenancy.models import Membership, Role, Tenant, User
from tenancy.scoping import tenant_scope
from tenancy.services import _check_password, platform_tenant_create


class Command(BaseCommand):
    help = "Create a courier company (tenant) with its headquarters and first tenant admin."

    def add_arguments(self, parser):
        parser.add_argument("--code", required=True, help="short code, e.g. shunda")
        parser.add_argument("--name", required=True, help="company name, e.g. 顺达快递")
        parser.add_argument("--name-en", default="")
        parser.add_argument("--hq-name", default="", help="name of the headquarters node")
        parser.add_argument("--province", default="")
        parser.add_argument("--city", default="")
        parser.add_argument("--admin-username", required=True)
        parser.add_argument("--admin-name", required=True, help="the admin's display name")
        parser.add_argument("--admin-password", required=True)

    def handle(self, *args, **options):
        if Tenant.objects.filter(code=options["code"]).exists():
            raise CommandError(f"a company with code {options['code']!r} exists")
        if User.objects.filter(username__iexact=options["admin_username"]).exists():
            raise CommandError(f"the username {options['admin_username']!r} is taken")
        candidate = User(username=options["admin_username"], display_name=options["admin_name"])
        try:
            User.username_validator(options["admin_username"])
            _check_password(options["admin_password"], candidate)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        with transaction.atomic():
            tenant = platform_tenant_create(
                code=options["code"], name=options["name"], name_en=options["name_en"],
                hq_code=f"{options['code'].upper()}-HQ", hq_name=options["hq_name"] or None,
                province=options["province"], city=options["city"])
            admin = User.objects.create_user(options["admin_username"], options["admin_password"],
                                             display_name=options["admin_name"], home_tenant=tenant,
                                             last_active_tenant=tenant)
            with tenant_scope(tenant):
                Membership.objects.create(user=admin, role=Role.TENANT_ADMIN, title="")
        self.stdout.write(self.style.SUCCESS(f"company {tenant.name} ({tenant.code}) created; "
                                             f"tenant admin {admin.username}"))
