"""Violation cases, their evidence, appeals and timeline (DOMAIN.md §5, ARCHITECTURE.md §5).

A case is a fine proposed against an employee (their membership) or a branch. Its money never
changes by editing: confirming issues a ledger entry, and a reduction, a reversal or a payment
each add one more (penalties.models.ledger). The case keeps the current amount due and tier for
lists; the ledger is the record."""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import Branch, Membership, TenantScopedModel

from .catalogue import MONEY, Detector, ViolationCategory, ViolationType


class Tier(models.TextChoices):
    """By amount (penalties.rules): minor < 1,000; general 1,000–5,000 inclusive; serious > 5,000."""

    MINOR = "minor", _("Minor")
    GENERAL = "general", _("General")
    SERIOUS = "serious", _("Serious")


class SubjectKind(models.TextChoices):
    EMPLOYEE = "employee", _("Employee")
    BRANCH = "branch", _("Branch")


class CaseStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    CONFIRMED = "confirmed", _("Confirmed")
    APPEALED = "appealed", _("Appealed")
    UPHELD = "upheld", _("Upheld")
    REDUCED = "reduced", _("Reduced")
    OVERTURNED = "overturned", _("Overturned")
    SETTLED = "settled", _("Settled")
    VOIDED = "voided", _("Voided")


# The case state machine. A confirmed fine may be appealed once; the appeal upholds, reduces or
# overturns it; a fine with money due is settled by payments; a fine is voided only before any
# payment. Overturned and voided fines owe nothing (their reversal entry says so).
CASE_TRANSITIONS: dict[str, frozenset[str]] = {
    CaseStatus.PROPOSED: frozenset({CaseStatus.CONFIRMED, CaseStatus.VOIDED}),
    CaseStatus.CONFIRMED: frozenset({CaseStatus.APPEALED, CaseStatus.SETTLED, CaseStatus.VOIDED}),
    CaseStatus.APPEALED: frozenset({CaseStatus.UPHELD, CaseStatus.REDUCED, CaseStatus.OVERTURNED}),
    CaseStatus.UPHELD: frozenset({CaseStatus.SETTLED, CaseStatus.VOIDED}),
    CaseStatus.REDUCED: frozenset({CaseStatus.SETTLED, CaseStatus.VOIDED}),
    CaseStatus.OVERTURNED: frozenset(),
    CaseStatus.SETTLED: frozenset(),
    CaseStatus.VOIDED: frozenset(),
}
# A fine in force: money is (or may be) owed and payments are taken.
PAYABLE = (CaseStatus.CONFIRMED, CaseStatus.UPHELD, CaseStatus.REDUCED)
OPEN_STATUSES = (CaseStatus.PROPOSED, CaseStatus.CONFIRMED, CaseStatus.APPEALED, CaseStatus.UPHELD,
                 CaseStatus.REDUCED)


class ViolationCase(TenantScopedModel):
    number = models.CharField(_("number"), max_length=20, editable=False)
    violation_type = models.ForeignKey(ViolationType, on_delete=models.PROTECT, related_name="cases",
                                       verbose_name=_("violation type"))
    type_version = models.PositiveIntegerField(_("catalogue version"))
    category = models.CharField(_("category"), max_length=30, choices=ViolationCategory.choices)
    subject_kind = models.CharField(_("fined"), max_length=10, choices=SubjectKind.choices)
    subject_membership = models.ForeignKey(Membership, on_delete=models.PROTECT, null=True, blank=True,
                                           related_name="+", verbose_name=_("employee"))
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="+", verbose_name=_("branch"))
    original_amount = models.DecimalField(_("amount proposed"), **MONEY)
    amount = models.DecimalField(_("amount"), **MONEY)
    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices)
    out_of_range_reason = models.TextField(_("why outside the catalogue range"), blank=True)
    legal_reference = models.CharField(_("legal reference"), max_length=200, blank=True)
    description = models.TextField(_("what happened"))
    occurred_on = models.DateField(_("occurred on"))
    status = models.CharField(_("status"), max_length=12, choices=CaseStatus.choices, default=CaseStatus.PROPOSED)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("proposed by"))
    detector = models.CharField(_("detected by"), max_length=30, choices=Detector.choices, blank=True)
    detection_key = models.CharField(_("detected fact"), max_length=200, blank=True)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("ticket"))
    waybill = models.ForeignKey("shipments.Waybill", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", verbose_name=_("waybill"))
    access_log_ids = ArrayField(models.BigIntegerField(), default=list, blank=True,
                                verbose_name=_("access-log rows"))
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("confirmed by"))
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    appeal_due_at = models.DateTimeField(_("appeal possible until"), null=True, blank=True)
    voided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("voided by"))
    voided_at = models.DateTimeField(_("voided"), null=True, blank=True)
    void_reason = models.TextField(_("why voided"), blank=True)
    settled_at = models.DateTimeField(_("settled"), null=True, blank=True)
    created_at = models.DateTimeField(_("proposed"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("violation case")
        verbose_name_plural = _("violation cases")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("confirm_violation", _("Confirm a proposed fine (four-eyes)")),
            ("void_violation", _("Void a fine")),
            ("appeal_violation", _("Appeal a fine")),
            ("decide_appeal", _("Decide an appeal")),
            ("record_fine_payment", _("Record a fine payment")),
            ("view_own_fines", _("See one's own fines")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="violationcase_number_per_tenant"),
            # The same fact never proposes twice (detectors key their facts).
            models.UniqueConstraint(fields=["tenant", "detection_key"], condition=~Q(detection_key=""),
                                    name="violationcase_one_per_fact"),
            models.CheckConstraint(condition=Q(amount__gte=Decimal("0")) & Q(original_amount__gt=Decimal("0"))
                                   & Q(amount__lte=F("original_amount")), name="violationcase_amounts"),
            models.CheckConstraint(condition=~Q(subject_kind="employee") | Q(subject_membership__isnull=False),
                                   name="violationcase_employee_named"),
            # Four-eyes: whoever confirms is not who proposed.
            models.CheckConstraint(condition=Q(confirmed_by__isnull=True) | Q(proposed_by__isnull=True)
                                   | ~Q(confirmed_by=F("proposed_by")), name="violationcase_four_eyes"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at"], name="violationcase_status"),
            models.Index(fields=["tenant", "branch", "-created_at"], name="violationcase_branch"),
            models.Index(fields=["tenant", "subject_membership"], name="violationcase_subject"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def subject_label(self) -> str:
        if self.subject_kind == SubjectKind.EMPLOYEE and self.subject_membership_id:
            user = self.subject_membership.user
            return user.display_name or user.username
        return str(self.branch.name)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def evidence_path(instance: ViolationEvidence, filename: str) -> str:
    # The stored name says nothing about the content; the original name is kept in `name`.
    return f"penalties/{instance.tenant_id}/{timezone.now():%Y/%m}/{instance.sha256[:2]}/{instance.sha256}"


class ViolationEvidence(TenantScopedModel):
    """A file that shows what happened (insert-only: evidence is never swapped afterwards)."""

    append_only = True

    case = models.ForeignKey(ViolationCase, on_delete=models.PROTECT, related_name="evidence",
                             verbose_name=_("case"))
    file = models.FileField(_("file"), upload_to=evidence_path, max_length=200)
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    description = models.CharField(_("what it shows"), max_length=300, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("uploaded by"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["tenant", "case"], name="violationevidence_case")]

    def __str__(self) -> str:
        return self.name


class AppealStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    UPHELD = "upheld", _("Upheld")
    REDUCED = "reduced", _("Reduced")
    OVERTURNED = "overturned", _("Overturned")


class Appeal(TenantScopedModel):
    """The one appeal of a confirmed fine: by the employee, or by their branch manager on their
    behalf; decided by someone other than whoever confirmed the fine."""

    case = models.ForeignKey(ViolationCase, on_delete=models.PROTECT, related_name="appeals", verbose_name=_("case"))
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("filed by"))
    on_behalf = models.BooleanField(_("filed on the employee's behalf"), default=False)
    grounds = models.TextField(_("grounds"))
    requested_amount = models.DecimalField(_("amount asked for"), null=True, blank=True, **MONEY)
    status = models.CharField(_("status"), max_length=12, choices=AppealStatus.choices, default=AppealStatus.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_reason = models.TextField(_("reasons for the decision"), blank=True)
    reduced_to = models.DecimalField(_("reduced to"), null=True, blank=True, **MONEY)
    created_at = models.DateTimeField(_("filed"), default=timezone.now)

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "case"], name="appeal_one_per_case"),
            models.CheckConstraint(condition=~Q(status="reduced") | Q(reduced_to__isnull=False),
                                   name="appeal_reduction_has_amount"),
        ]
        indexes = [models.Index(fields=["tenant", "status", "-created_at"], name="appeal_status")]

    def __str__(self) -> str:
        return f"{self.case.number} appeal"


class CaseEventKind(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    STATUS = "status", _("Status changed")
    EVIDENCE = "evidence", _("Evidence added")
    APPEAL = "appeal", _("Appeal filed")
    PAYMENT = "payment", _("Payment received")
    NOTE = "note", _("Note")


class CaseEvent(TenantScopedModel):
    """The case's timeline (insert-only)."""

    append_only = True

    case = models.ForeignKey(ViolationCase, on_delete=models.PROTECT, related_name="events", verbose_name=_("case"))
    kind = models.CharField(_("kind"), max_length=12, choices=CaseEventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("by"))
    body = models.TextField(_("text"), blank=True)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["tenant", "case", "created_at"], name="caseevent_case")]
