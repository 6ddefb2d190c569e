"""Consent per person and purpose (DOMAIN.md §6): an insert-only history; the newest record of a
person and purpose is their current answer."""
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.fields import BlindIndexField, EncryptedTextField
from tenancy.models import TenantScopedModel


class ConsentPurpose(models.TextChoices):
    SERVICE = "service", _("Service notifications")
    SURVEYS = "surveys", _("Satisfaction surveys")
    MARKETING = "marketing", _("Marketing")


class ConsentSource(models.TextChoices):
    PHONE_CALL = "phone_call", _("Phone call")
    WEB_FORM = "web_form", _("Web or app form")
    WAYBILL = "waybill", _("Waybill or order form")
    PAPER = "paper", _("Signed paper form")
    SMS_REPLY = "sms_reply", _("SMS reply")
    SURVEY_PAGE = "survey_page", _("Survey answer page")
    DSR = "dsr", _("Data-subject request")
    IMPORT = "import", _("Import")


class ConsentRecord(TenantScopedModel):
    """One grant or withdrawal. A person is a customer record, a phone number, or both (a waybill
    receiver who is not a customer is known by phone only); lookups match either."""

    append_only = True
    # A deletion request removes every trace that could find the person again.
    redactable_fields = ("phone", "phone_bidx", "note")

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="consents", verbose_name=_("customer"))
    phone = EncryptedTextField(_("phone"), kind="phone", blank=True, null=True)
    phone_bidx = BlindIndexField(source="phone")
    purpose = models.CharField(_("purpose"), max_length=12, choices=ConsentPurpose.choices)
    granted = models.BooleanField(_("granted"))
    source = models.CharField(_("source"), max_length=12, choices=ConsentSource.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("recorded by"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["-recorded_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "customer", "purpose", "-recorded_at"], name="consent_customer"),
            models.Index(fields=["tenant", "phone_bidx", "purpose", "-recorded_at"], name="consent_phone"),
        ]
        permissions = [
            ("view_consent", _("See consent records")),
            ("manage_consent", _("Record consent and withdrawals")),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()}: {'+' if self.granted else '-'}"
