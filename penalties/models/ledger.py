"""The fine ledger: insert-only, hash-chained per company, with signed checkpoints.

Every money effect of a fine is one `LedgerEntry`: issued (or a regulator's fine), reduced,
reversed (overturned or voided), or a payment received. Amounts are signed so that the sum of a
case's entries is what is still owed: issued +, reduced / reversed / paid −.

The chain is kept by the database itself (migration 0002): a BEFORE INSERT trigger takes the
company's `LedgerHead` row lock — so appends are serialized per company — and fills in the next
gapless sequence number, the previous entry's hash and SHA-256(previous hash ‖ canonical form).
Whatever the application sends for those three columns is overwritten. The application role may
INSERT and SELECT entries, never UPDATE, DELETE or TRUNCATE them (privileges and a trigger), and
may only read the head, which the trigger (running as the owner) maintains.

The canonical form is documented in docs/ledger.md and built by `penalties.chain`."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import Branch, Membership, TenantScopedModel

from .cases import SubjectKind, Tier, ViolationCase
from .catalogue import MONEY, ViolationType

GENESIS_HASH = bytes(32)


class EntryKind(models.TextChoices):
    FINE_ISSUED = "fine_issued", _("Fine issued")
    REGULATOR_FINE = "regulator_fine", _("Regulator fine")
    FINE_REDUCED = "fine_reduced", _("Fine reduced")
    FINE_REVERSED = "fine_reversed", _("Fine reversed")
    PAYMENT_RECEIVED = "payment_received", _("Payment received")


# Entries that add to what is owed, and those that take from it (the check below holds the sign).
DEBIT_KINDS = (EntryKind.FINE_ISSUED, EntryKind.REGULATOR_FINE)
CREDIT_KINDS = (EntryKind.FINE_REDUCED, EntryKind.FINE_REVERSED, EntryKind.PAYMENT_RECEIVED)


class PaymentMethod(models.TextChoices):
    PAYROLL = "payroll", _("Payroll deduction")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    CASH = "cash", _("Cash")
    SETTLEMENT = "settlement", _("Offset in branch settlement")


class LedgerEntry(TenantScopedModel):
    append_only = True

    # Filled in by the database trigger (db_default makes Django read them back on insert).
    sequence = models.BigIntegerField(_("sequence"), db_default=0, editable=False)
    prev_hash = models.BinaryField(_("previous hash"), db_default=b"", editable=False)
    entry_hash = models.BinaryField(_("hash"), db_default=b"", editable=False)

    kind = models.CharField(_("kind"), max_length=20, choices=EntryKind.choices)
    case = models.ForeignKey(ViolationCase, on_delete=models.PROTECT, related_name="entries", verbose_name=_("case"))
    subject_kind = models.CharField(_("fined"), max_length=10, choices=SubjectKind.choices)
    subject_membership = models.ForeignKey(Membership, on_delete=models.PROTECT, null=True, blank=True,
                                           related_name="+", verbose_name=_("employee"))
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+", verbose_name=_("branch"))
    violation_type = models.ForeignKey(ViolationType, on_delete=models.PROTECT, related_name="+",
                                       verbose_name=_("violation type"))
    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    effective_on = models.DateField(_("effective on"))
    payment_method = models.CharField(_("payment method"), max_length=20, choices=PaymentMethod.choices, blank=True)
    memo = models.CharField(_("memo"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("recorded by"))
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("fine ledger")
        ordering = ["sequence"]
        permissions = [
            ("view_ledger", _("Read the fine ledger")),
            ("verify_ledger", _("Verify the fine ledger")),
            ("export_ledger", _("Export the fine ledger")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "sequence"], name="ledgerentry_sequence_per_tenant"),
            models.CheckConstraint(
                condition=(Q(kind__in=DEBIT_KINDS) & Q(amount__gt=0)) | (Q(kind__in=CREDIT_KINDS) & Q(amount__lt=0)),
                name="ledgerentry_sign_follows_kind"),
            models.CheckConstraint(condition=Q(currency="CNY"), name="ledgerentry_cny"),
        ]
        indexes = [
            models.Index(fields=["tenant", "case"], name="ledgerentry_case"),
            models.Index(fields=["tenant", "branch", "effective_on"], name="ledgerentry_branch_day"),
            models.Index(fields=["tenant", "effective_on"], name="ledgerentry_day"),
            models.Index(fields=["tenant", "subject_membership"], name="ledgerentry_subject"),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.kind} {self.amount}"

    @property
    def entry_hash_hex(self) -> str:
        return bytes(self.entry_hash).hex()

    @property
    def prev_hash_hex(self) -> str:
        return bytes(self.prev_hash).hex()


class LedgerHead(TenantScopedModel):
    """The company's last sequence number and hash — the trigger's lock and memory. Read-only for
    the application role; only the chain trigger (as the owner) writes it."""

    read_only_for_app = True

    last_sequence = models.BigIntegerField(default=0)
    last_hash = models.BinaryField(default=GENESIS_HASH)
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        verbose_name = _("ledger head")
        verbose_name_plural = _("ledger heads")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="ledgerhead_one_per_tenant")]


class LedgerCheckpoint(TenantScopedModel):
    """(company, sequence, head hash, time) signed with the Ed25519 key the database does not hold
    (penalties.signing). Auditors download these and keep them outside the system."""

    append_only = True

    sequence = models.BigIntegerField(_("sequence"))
    head_hash = models.BinaryField(_("head hash"))
    signed_at = models.DateTimeField(_("signed"))
    key_id = models.CharField(_("key id"), max_length=16)
    signature = models.BinaryField(_("signature"))

    class Meta:
        verbose_name = _("ledger checkpoint")
        verbose_name_plural = _("ledger checkpoints")
        ordering = ["-sequence"]
        constraints = [models.UniqueConstraint(fields=["tenant", "sequence"], name="ledgercheckpoint_unique")]

    def __str__(self) -> str:
        return f"checkpoint #{self.sequence}"

    @property
    def head_hash_hex(self) -> str:
        return bytes(self.head_hash).hex()


class VerificationStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    PASSED = "passed", _("Chain intact")
    FAILED = "failed", _("Chain broken")


class VerificationSource(models.TextChoices):
    SCHEDULE = "schedule", _("Nightly schedule")
    REQUEST = "request", _("Verify now")
    COMMAND = "command", _("Management command")
    CHECKPOINT = "checkpoint", _("Checkpoint job")
    DEMO = "demo", _("Demo data")


class LedgerVerification(TenantScopedModel):
    """One run of the verifier and what it found."""

    status = models.CharField(_("result"), max_length=10, choices=VerificationStatus.choices,
                              default=VerificationStatus.QUEUED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("requested by"))
    source = models.CharField(_("started from"), max_length=20, choices=VerificationSource.choices,
                              default=VerificationSource.SCHEDULE)
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    entries_checked = models.BigIntegerField(_("entries checked"), default=0)
    checkpoints_checked = models.IntegerField(_("checkpoints checked"), default=0)
    head_sequence = models.BigIntegerField(_("last sequence"), null=True, blank=True)
    first_bad_sequence = models.BigIntegerField(_("first bad sequence"), null=True, blank=True)
    problem = models.TextField(_("problem"), blank=True)

    @property
    def seconds(self) -> float | None:
        """How long the run took."""
        if self.started_at and self.finished_at:
            return round((self.finished_at - self.started_at).total_seconds(), 1)
        return None

    class Meta:
        verbose_name = _("ledger verification")
        verbose_name_plural = _("ledger verifications")
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-requested_at"], name="ledgerverification_time")]
