"""Verify a company's fine ledger: every checkpoint's signature, every link and hash of the chain,
every checkpoint's head. Exit status 1 names the first bad sequence number.

    manage.py verify_ledger --tenant shunda [--checkpoint] [--quiet]
"""
from __future__ import annotations

from django.core.management.base import CommandError

from tenancy.management.base import TenantCommand

from ...services import ledger_checkpoint_create, ledger_verification_run


class Command(TenantCommand):
    help = "Verify the fine ledger's hash chain and signed checkpoints of one company."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--checkpoint", action="store_true",
                            help="afterwards, sign a checkpoint of the head if entries were added")

    def handle(self, *args, **options):
        verification = ledger_verification_run(source="command")
        self.stdout.write(
            f"entries checked: {verification.entries_checked}; checkpoints checked: "
            f"{verification.checkpoints_checked}; last sequence: {verification.head_sequence or 0}")
        if verification.first_bad_sequence is not None:
            raise CommandError(f"ledger broken at sequence {verification.first_bad_sequence}: {verification.problem}")
        self.stdout.write(self.style.SUCCESS("ledger intact"))
        if options["checkpoint"]:
            checkpoint = ledger_checkpoint_create()
            if checkpoint:
                self.stdout.write(f"checkpoint signed at sequence {checkpoint.sequence} (key {checkpoint.key_id})")
