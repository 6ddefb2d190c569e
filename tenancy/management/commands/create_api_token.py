from django.core.management.base import CommandError

from tenancy.management.base import TenantCommand
from tenancy.models import Membership
from tenancy.services import api_token_create


class Command(TenantCommand):
    help = "Create an API token for a member of the tenant and print the key once."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--user", required=True, help="username")
        parser.add_argument("--name", default="integration")

    def handle(self, *args, **options):
        membership = Membership.objects.select_related("user").filter(
            user__username=options["user"], is_active=True).first()
        if membership is None:
            raise CommandError(f"{options['user']} is not an active member of this tenant")
        _token, raw = api_token_create(actor=membership.user, name=options["name"],
                                       for_membership=membership)
        self.stdout.write(raw)
