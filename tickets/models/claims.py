"""Loss, damage and delay claims (DOMAIN.md §4, ARCHITECTURE.md §5).

A claim hangs off a ticket and a waybill. The waybill's declared value, insured amount and service
fee are copied onto the claim when it is filed, so a later change of the waybill never changes
what the claim was assessed against. The assessor's figures, the compensation rule and its
version that computed the payable amount, the approver and their level, and the one payout are
all kept on the claim; its timeline (`ClaimEvent`) and the payout row never change."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tenancy.fields import EncryptedTextField
from tenancy.models import Branch, TenantScopedModel

from .conversation import TicketAttachment
from .routing import Team
from .tickets import Ticket


class ClaimType(models.TextChoices):
    LOSS = "loss", _("Loss")
    DAMAGE = "damage", _("Damage")
    DELAY = "delay", _("Delay")


class ClaimantRole(models.TextChoices):
    SENDER = "sender", _("Sender")
    RECEIVER = "receiver", _("Receiver")


class ClaimStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    UNDER_REVIEW = "under_review", _("Under review")
    APPROVED = "approved", _("Approved")
    PARTIALLY_APPROVED = "partially_approved", _("Partially approved")
    REJECTED = "rejected", _("Rejected")
    PAID = "paid", _("Paid")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# The claim state machine. A decision (approved / partially approved / rejected) is taken under
# review; an approved claim is paid once; a claim may be withdrawn until it is decided.
CLAIM_TRANSITIONS: dict[str, frozenset[str]] = {
    ClaimStatus.DRAFT: frozenset({ClaimStatus.SUBMITTED, ClaimStatus.WITHDRAWN}),
    ClaimStatus.SUBMITTED: frozenset({ClaimStatus.UNDER_REVIEW, ClaimStatus.WITHDRAWN}),
    ClaimStatus.UNDER_REVIEW: frozenset({ClaimStatus.APPROVED, ClaimStatus.PARTIALLY_APPROVED,
                                         ClaimStatus.REJECTED, ClaimStatus.WITHDRAWN}),
    ClaimStatus.APPROVED: frozenset({ClaimStatus.PAID}),
    ClaimStatus.PARTIALLY_APPROVED: frozenset({ClaimStatus.PAID}),
    ClaimStatus.REJECTED: frozenset(),
    ClaimStatus.PAID: frozenset(),
    ClaimStatus.WITHDRAWN: frozenset(),
}
# Waiting for a decision: the decision clock runs.
AWAITING_DECISION = (ClaimStatus.SUBMITTED, ClaimStatus.UNDER_REVIEW)
# Approved, waiting for the payout.
AWAITING_PAYOUT = (ClaimStatus.APPROVED, ClaimStatus.PARTIALLY_APPROVED)
# No further step.
CLAIM_DONE = (ClaimStatus.REJECTED, ClaimStatus.PAID, ClaimStatus.WITHDRAWN)
# A claim in one of these states stands against its waybill: another claim of the same type
# for the same waybill would compensate the same parcel twice.
CLAIM_STANDING = (ClaimStatus.DRAFT, ClaimStatus.SUBMITTED, ClaimStatus.UNDER_REVIEW, ClaimStatus.APPROVED,
                  ClaimStatus.PARTIALLY_APPROVED, ClaimStatus.PAID)


class ApprovalLevel(models.TextChoices):
    """Who may decide a claim, by amount (DOMAIN.md §4). A higher level may decide anything a
    lower one may."""

    TEAM_LEAD = "team_lead", _("Team lead")
    BRANCH = "branch_manager", _("Branch manager")
    HEADQUARTERS = "headquarters", _("Headquarters")


APPROVAL_RANK = {ApprovalLevel.TEAM_LEAD: 1, ApprovalLevel.BRANCH: 2, ApprovalLevel.HEADQUARTERS: 3}


class ClaimCause(models.TextChoices):
    """What went wrong, found by the assessor; the claims report counts the top causes."""

    LOST_IN_TRANSIT = "lost_in_transit", _("Lost in transit")
    MISDELIVERED = "misdelivered", _("Delivered to the wrong person or place")
    THEFT = "theft", _("Theft")
    SORTING_DAMAGE = "sorting_damage", _("Damaged in sorting")
    TRANSPORT_DAMAGE = "transport_damage", _("Damaged in transport")
    DELIVERY_DAMAGE = "delivery_damage", _("Damaged at delivery")
    POOR_PACKAGING = "poor_packaging", _("Poor packaging")
    HUB_DELAY = "hub_delay", _("Held up at a hub")
    MISROUTED = "misrouted", _("Misrouted")
    WEATHER = "weather", _("Weather or force majeure")
    OTHER = "other", _("Other")


class EvidenceKind(models.TextChoices):
    PHOTO = "photo", _("Photo of the item")
    PACKAGING_PHOTO = "packaging_photo", _("Photo of the packaging")
    PROOF_OF_VALUE = "proof_of_value", _("Invoice or proof of value")
    DAMAGE_REPORT = "damage_report", _("Signed damage report")
    OTHER = "other", _("Other")


class PayoutMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    ALIPAY = "alipay", _("Alipay")
    WECHAT_PAY = "wechat_pay", _("WeChat Pay")
    CASH = "cash", _("Cash")
    ACCOUNT_CREDIT = "account_credit", _("Credit to the customer's account")


class CompensationRule(models.TextChoices):
    """Which rule of DOMAIN.md §4 computed a claim's payable amount."""

    INSURED = "insured", _("Insured: actual loss up to the insured amount")
    UNINSURED = "uninsured", _("Uninsured: actual loss, capped at a multiple of the service fee")
    DELAY_REFUND = "delay_refund", _("Delay without loss: the service fee is refunded")


class Claim(TenantScopedModel):
    number = models.CharField(_("claim number"), max_length=20, editable=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="claims", verbose_name=_("ticket"))
    waybill = models.ForeignKey("shipments.Waybill", on_delete=models.PROTECT, related_name="claims",
                                verbose_name=_("waybill"))
    claim_type = models.CharField(_("claim type"), max_length=10, choices=ClaimType.choices)
    claimant_role = models.CharField(_("claimant"), max_length=10, choices=ClaimantRole.choices)
    claimant = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="claims", verbose_name=_("claimant customer"))
    claimant_name = models.CharField(_("claimant name"), max_length=120, blank=True)
    claimed_amount = models.DecimalField(_("claimed amount (CNY)"), max_digits=12, decimal_places=2)
    description = models.TextField(pgettext_lazy("claim", "what happened"), blank=True)
    # Copied from the waybill when the claim is filed.
    declared_value = models.DecimalField(_("declared value (CNY)"), max_digits=12, decimal_places=2, default=0)
    insured_amount = models.DecimalField(_("insured amount (CNY)"), max_digits=12, decimal_places=2, default=0)
    service_fee = models.DecimalField(_("service fee (CNY)"), max_digits=10, decimal_places=2, default=0)
    shipped_on = models.DateField(_("shipped on"), null=True, blank=True)
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, null=True, blank=True, related_name="claims",
                               verbose_name=_("responsible branch"))
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True, related_name="claims",
                             verbose_name=_("claims team"))
    status = models.CharField(_("status"), max_length=20, choices=ClaimStatus.choices, default=ClaimStatus.DRAFT)
    # Assessment: the value of the goods and, for damage, the share of it lost.
    assessed_value = models.DecimalField(_("assessed value of the goods (CNY)"), max_digits=12, decimal_places=2,
                                         null=True, blank=True)
    damage_percent = models.DecimalField(_("assessed damage (%)"), max_digits=5, decimal_places=2, null=True,
                                         blank=True)
    cause = models.CharField(pgettext_lazy("claim", "cause of the loss"), max_length=20, choices=ClaimCause.choices,
                             blank=True)
    assessment_note = models.TextField(_("assessment note"), blank=True)
    assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("assessed by"))
    assessed_at = models.DateTimeField(_("assessed at"), null=True, blank=True)
    # What the compensation rules allow, and which rule (and version of the tenant's settings).
    computed_amount = models.DecimalField(_("payable by the rules (CNY)"), max_digits=12, decimal_places=2,
                                          null=True, blank=True)
    rule = models.CharField(_("compensation rule"), max_length=20, choices=CompensationRule.choices, blank=True)
    rule_version = models.CharField(_("rule version"), max_length=40, blank=True)
    rule_detail = models.JSONField(default=dict, blank=True)
    # Decision.
    approved_amount = models.DecimalField(_("approved amount (CNY)"), max_digits=12, decimal_places=2, null=True,
                                          blank=True)
    over_cap = models.BooleanField(_("approved above the rules' cap"), default=False)
    decision_reason = models.TextField(_("reason"), blank=True)
    decision_level = models.CharField(_("decided at level"), max_length=20, choices=ApprovalLevel.choices,
                                      blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    # The decision clock (like a ticket's SLA): due, a warning at a share of the time, breached once.
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decision_due = models.DateTimeField(_("decision due"), null=True, blank=True)
    decision_warn_at = models.DateTimeField(null=True, blank=True, editable=False)
    decision_warned = models.BooleanField(default=False, editable=False)
    decision_breached = models.BooleanField(_("decision late"), default=False)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("filed by"))
    created_at = models.DateTimeField(_("filed at"), default=timezone.now)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("claim")
        verbose_name_plural = _("claims")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="claim_number_unique"),
            # One standing claim per waybill and type: the same parcel is never compensated twice.
            models.UniqueConstraint(fields=["tenant", "waybill", "claim_type"], name="claim_one_standing_per_type",
                                    condition=Q(status__in=CLAIM_STANDING)),
            models.CheckConstraint(condition=Q(claimed_amount__gt=0), name="claim_amount_positive"),
            models.CheckConstraint(condition=Q(approved_amount__isnull=True) | Q(approved_amount__gte=0),
                                   name="claim_approved_not_negative"),
            models.CheckConstraint(condition=Q(damage_percent__isnull=True)
                                   | Q(damage_percent__gte=0, damage_percent__lte=100),
                                   name="claim_damage_percent_range"),
            # Above the rules' cap only as an explicit over-cap approval.
            models.CheckConstraint(condition=Q(approved_amount__isnull=True) | Q(computed_amount__isnull=True)
                                   | Q(approved_amount__lte=F("computed_amount")) | Q(over_cap=True),
                                   name="claim_approved_within_cap"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "decision_due"], name="claim_queue"),
            models.Index(fields=["tenant", "ticket"], name="claim_ticket"),
            models.Index(fields=["tenant", "waybill"], name="claim_waybill"),
            models.Index(fields=["tenant", "claimant", "created_at"], name="claim_claimant"),
            models.Index(fields=["tenant", "branch", "created_at"], name="claim_branch"),
            models.Index(fields=["tenant", "decision_due"], name="claim_clock",
                         condition=Q(status__in=AWAITING_DECISION, decision_breached=False)),
        ]
        permissions = [
            ("assess_claim", _("Assess claims (value, damage, cause)")),
            ("decide_claim", _("Approve or reject claims within one's approval level")),
            ("pay_claim", _("Record claim payouts")),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.get_claim_type_display()}"

    @property
    def is_open(self) -> bool:
        return self.status not in CLAIM_DONE


class ClaimEvidence(TenantScopedModel):
    """One file of a claim's evidence: an attachment of its ticket, with what it shows."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="evidence", verbose_name=_("claim"))
    attachment = models.ForeignKey(TicketAttachment, on_delete=models.PROTECT, related_name="claim_evidence",
                                   verbose_name=_("file"))
    kind = models.CharField(_("evidence"), max_length=20, choices=EvidenceKind.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("added by"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("claim evidence")
        verbose_name_plural = _("claim evidence")
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "claim", "attachment"], name="claim_evidence_once")]
        indexes = [models.Index(fields=["tenant", "claim"], name="claim_evidence_claim")]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.kind}"


class ClaimEventKind(models.TextChoices):
    CREATED = "created", _("Filed")
    STATUS = "status", _("Status changed")
    EVIDENCE = "evidence", _("Evidence added")
    ASSESSED = "assessed", _("Assessed")
    DECIDED = "decided", _("Decided")
    PAID = "paid", _("Paid")
    UPDATED = "updated", _("Details changed")
    CLOCK_WARNING = "clock_warning", _("Decision clock warning")
    CLOCK_BREACHED = "clock_breached", _("Decision clock breached")
    NOTE = "note", _("Note")


class ClaimEvent(TenantScopedModel):
    """One line of a claim's timeline. Rows never change (a deletion request may only blank the
    text, through the database's redaction function)."""

    append_only = True
    redactable_fields = ("body", "data")

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="events", verbose_name=_("claim"))
    kind = models.CharField(_("event"), max_length=20, choices=ClaimEventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("by"))
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    body = models.TextField(_("text"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("claim event")
        verbose_name_plural = _("claim events")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["tenant", "claim", "created_at"], name="claimevent_timeline")]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.kind}"


class ClaimPayout(TenantScopedModel):
    """The one payout of an approved claim. The row never changes; a second payout of the same
    claim is refused by the unique constraint, one above the approved amount by the check."""

    append_only = True
    redactable_fields = ("payee_name", "payee_account", "reference", "note")

    claim = models.OneToOneField(Claim, on_delete=models.PROTECT, related_name="payout", verbose_name=_("claim"))
    amount = models.DecimalField(_("amount paid (CNY)"), max_digits=12, decimal_places=2)
    approved_amount = models.DecimalField(_("approved amount (CNY)"), max_digits=12, decimal_places=2)
    method = models.CharField(_("method"), max_length=20, choices=PayoutMethod.choices)
    payee_name = models.CharField(_("payee"), max_length=120)
    payee_account = EncryptedTextField(_("payee account"), kind="account", blank=True, null=True)
    reference = models.CharField(_("payment reference"), max_length=80)
    note = models.CharField(_("note"), max_length=300, blank=True)
    paid_at = models.DateTimeField(_("paid at"))
    paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("recorded by"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("claim payout")
        verbose_name_plural = _("claim payouts")
        ordering = ["-paid_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "claim"], name="claim_paid_once"),
            models.CheckConstraint(condition=Q(amount__gt=0) & Q(amount__lte=F("approved_amount")),
                                   name="claim_payout_within_approval"),
        ]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.amount}"
