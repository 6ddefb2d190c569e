"""Rotate one of a company's keys, or resume a rotation.

    manage.py rotate_keys --tenant CODE --kind data|index|master [--reason TEXT] [--foreground]
    manage.py rotate_keys --tenant CODE --resume ID [--foreground]

Without --foreground the rotation is handed to a Celery worker; with it, this process runs it to
the end (and can be killed and started again with --resume: every batch commits with its position).

Not a TenantCommand: that runs the whole command in one transaction, and a rotation's batches must
each commit on their own, so the tenant scope is entered per step here."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from compliance.models import KeyRotation, RotationKind
from compliance.rules import KEY_ROTATION_BATCH_SIZE
from compliance.services import keys as services
from tenancy.models import Tenant
from tenancy.scoping import tenant_scope


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())


class Command(BaseCommand):
    help = "Rotate a company's data, index or master key (resumable background re-encryption)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant code (or id)")
        parser.add_argument("--kind", choices=RotationKind.values)
        parser.add_argument("--reason", default="rotate_keys command")
        parser.add_argument("--resume", type=int, metavar="ID", help="resume (or re-queue) rotation ID")
        parser.add_argument("--foreground", action="store_true", help="run the rotation in this process")
        parser.add_argument("--batch-size", type=int, default=KEY_ROTATION_BATCH_SIZE,
                            help=f"rows per committed batch (default {KEY_ROTATION_BATCH_SIZE})")
        parser.add_argument("--pause", type=float, default=0.0,
                            help="seconds to sleep between batches, to spare a busy database")

    def handle(self, *args, **options):
        value = options["tenant"]
        tenant = Tenant.objects.filter(code=value).first()
        if tenant is None and str(value).isdigit():
            tenant = Tenant.objects.filter(pk=int(value)).first()
        if tenant is None:
            raise CommandError(f"no tenant {value!r}")
        if (options["kind"] is None) == (options["resume"] is None):
            raise CommandError("give either --kind (a new rotation) or --resume ID")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        foreground = options["foreground"]
        with tenant_scope(tenant):
            try:
                if options["resume"] is not None:
                    rotation = KeyRotation.objects.filter(pk=options["resume"]).first()
                    if rotation is None:
                        raise CommandError(f"no rotation {options['resume']} in tenant {tenant.code}")
                    if not foreground:
                        services.key_rotation_requeue(rotation)
                else:
                    rotation = services.key_rotation_open(kind=options["kind"], reason=options["reason"],
                                                          enqueue=not foreground)
            except ValidationError as exc:
                raise CommandError(_errors(exc)) from exc
        self.stdout.write(f"rotation {rotation.pk}: {rotation.get_kind_display()} "
                          f"v{rotation.from_version or '-'} → v{rotation.to_version or '-'}")
        if not foreground:
            self.stdout.write("queued for a worker")
            return
        rotation = services.key_rotation_run(rotation, batch_size=options["batch_size"], pause=options["pause"])
        self.stdout.write(f"rotation {rotation.pk}: {rotation.status}, {rotation.rows_done}/{rotation.rows_total} rows"
                          + (f" — {rotation.error}" if rotation.error else ""))
        if rotation.status == "failed":
            raise CommandError(f"rotation {rotation.pk} failed")
