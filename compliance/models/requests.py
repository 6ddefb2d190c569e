"""Data-subject requests (DOMAIN.md §6): access, correction, deletion and objection, each on a
clock, with an owner, an identity check and an insert-only timeline."""
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tenancy.fields import BlindIndexField, EncryptedTextField
from tenancy.models import TenantScopedModel


class DsrKind(models.TextChoices):
    ACCESS = "access", _("Access (export)")
    CORRECTION = "correction", _("Correction")
    DELETION = "deletion", _("Deletion")
    OBJECTION = "objection", _("Objection to marketing")


class DsrRegime(models.TextChoices):
    PIPL = "pipl", _("PIPL (15 working days)")
    GDPR = "gdpr", _("GDPR (one month)")


class DsrStatus(models.TextChoices):
    RECEIVED = "received", pgettext_lazy("request status", "Received")
    VERIFIED = "verified", _("Identity verified")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


DSR_OPEN_STATUSES = (DsrStatus.RECEIVED, DsrStatus.VERIFIED, DsrStatus.IN_PROGRESS)


class IdentityMethod(models.TextChoices):
    ID_DOCUMENT = "id_document", _("ID document checked")
    SMS_CODE = "sms_code", _("Code sent to the phone on record")
    EMAIL_LINK = "email_link", _("Link sent to the email on record")
    COUNTER = "counter", _("In person at a branch counter")
    ACCOUNT = "account", _("Signed-in customer account")


class DataSubjectRequest(TenantScopedModel):
    """A person's request about their data. The subject is described by what they gave us (name,
    phone, email, ID number — sealed, with blind indexes to find their records) and, once found,
    the customer record. After a deletion the request keeps its number, dates and outcome, and
    its own copy of the person's details is wiped."""

    number = models.CharField(_("number"), max_length=24)
    kind = models.CharField(_("kind"), max_length=12, choices=DsrKind.choices)
    regime = models.CharField(_("regime"), max_length=6, choices=DsrRegime.choices, default=DsrRegime.PIPL)
    status = models.CharField(_("status"), max_length=12, choices=DsrStatus.choices, default=DsrStatus.RECEIVED)
    channel = models.CharField(_("received via"), max_length=60, blank=True)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="data_requests", verbose_name=_("customer"))
    subject_name = EncryptedTextField(_("name"), kind="name", blank=True, null=True)
    subject_phone = EncryptedTextField(_("phone"), kind="phone", blank=True, null=True)
    subject_phone_bidx = BlindIndexField(source="subject_phone")
    subject_email = EncryptedTextField(_("email"), kind="email", blank=True, null=True)
    subject_email_bidx = BlindIndexField(source="subject_email")
    subject_id_number = EncryptedTextField(_("ID number"), kind="id_number", blank=True, null=True)
    subject_id_number_bidx = BlindIndexField(source="subject_id_number")
    details = EncryptedTextField(_("what the person asks"), kind="text", blank=True, null=True)
    owner = models.ForeignKey("tenancy.Membership", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("owner"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    due_at = models.DateTimeField(_("due"))
    identity_method = models.CharField(_("identity check"), max_length=12, choices=IdentityMethod.choices,
                                       blank=True)
    identity_note = models.CharField(_("identity check note"), max_length=300, blank=True)
    identity_verified_at = models.DateTimeField(_("identity verified at"), null=True, blank=True)
    identity_verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                             blank=True, related_name="+", verbose_name=_("verified by"))
    resolution = models.TextField(_("outcome"), blank=True)
    completed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    subject_erased_at = models.DateTimeField(_("person's details wiped at"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("registered by"))

    class Meta:
        verbose_name = _("data-subject request")
        verbose_name_plural = _("data-subject requests")
        ordering = ["due_at", "id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "number"], name="dsr_number_unique")]
        indexes = [
            models.Index(fields=["tenant", "status", "due_at"], name="dsr_queue"),
            models.Index(fields=["tenant", "subject_phone_bidx"], name="dsr_phone"),
        ]
        permissions = [
            ("register_dsr", _("Register a data-subject request")),
            ("handle_dsr", _("Handle data-subject requests")),
            ("view_compliance", _("See the compliance overview, requests, incidents and jobs")),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in DSR_OPEN_STATUSES


class DsrEvent(TenantScopedModel):
    """The request's timeline (insert-only)."""

    append_only = True
    redactable_fields = ("body", "data")

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=24)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+")
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]


class DsrExport(TenantScopedModel):
    """The machine-readable export of everything held about the person, built by a background job
    with progress. The file is sealed at rest and can be downloaded once, by the handler."""

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.PROTECT, related_name="exports")
    status = models.CharField(max_length=10, default="queued")
    steps_done = models.PositiveIntegerField(default=0)
    steps_total = models.PositiveIntegerField(default=0)
    current_step = models.CharField(max_length=80, blank=True)
    content = EncryptedTextField(kind="text", blank=True, null=True)
    sha256 = models.CharField(max_length=64, blank=True)
    record_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)
    downloaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def percent(self) -> int:
        return int(100 * self.steps_done / self.steps_total) if self.steps_total else 0
