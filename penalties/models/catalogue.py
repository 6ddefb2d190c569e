"""The violation catalogue (DOMAIN.md §5): what a fine can be for, per company.

A catalogue entry is edited in place, but every edit bumps its version and writes an insert-only
snapshot (`ViolationTypeVersion`); a case records the version it was proposed under, so the
catalogue as it stood then can always be shown beside the case."""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantScopedModel

MONEY = {"max_digits": 14, "decimal_places": 2}


class ViolationCategory(models.TextChoices):
    DATA_SECURITY = "data_security", _("Data security")
    INFORMATION_ACCURACY = "information_accuracy", _("Information accuracy")
    TRACKING_TIMELINESS = "tracking_timeliness", _("Tracking timeliness")
    SERVICE_QUALITY = "service_quality", _("Service quality")
    REGULATOR = "regulator", _("Regulator fine")


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class Detector(models.TextChoices):
    """The automatic checks that may propose a violation of a catalogue entry (never confirm one)."""

    TRACKING_GAP = "tracking_gap", _("Tracking not updated in time")
    COMPLAINT_OVERDUE = "complaint_overdue", _("Complaint past its clock")
    PII_ACCESS_ANOMALY = "pii_access_anomaly", _("Unusual personal-data reveals or exports")


class ViolationType(TenantScopedModel):
    code = models.CharField(_("code"), max_length=40)
    name_zh = models.CharField(_("name (Chinese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)
    category = models.CharField(_("category"), max_length=30, choices=ViolationCategory.choices)
    amount_min = models.DecimalField(_("amount from"), **MONEY)
    amount_max = models.DecimalField(_("amount up to"), **MONEY)
    default_amount = models.DecimalField(_("default amount"), **MONEY)
    default_severity = models.CharField(_("default severity"), max_length=10, choices=Severity.choices,
                                        default=Severity.MEDIUM)
    legal_reference = models.CharField(_("legal reference"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    detector = models.CharField(_("detector"), max_length=30, choices=Detector.choices, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("updated by"))

    class Meta:
        verbose_name = _("violation type")
        verbose_name_plural = _("violation catalogue")
        ordering = ["category", "code"]
        permissions = [("manage_catalogue", _("Edit the violation catalogue"))]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="violationtype_code_per_tenant"),
            models.UniqueConstraint(fields=["tenant", "detector"], condition=~Q(detector=""),
                                    name="violationtype_one_per_detector"),
            models.CheckConstraint(condition=Q(amount_min__gte=Decimal("0")) & Q(amount_min__lte=F("amount_max")),
                                   name="violationtype_range"),
            models.CheckConstraint(condition=Q(default_amount__gte=F("amount_min"))
                                   & Q(default_amount__lte=F("amount_max")) & Q(default_amount__gt=Decimal("0")),
                                   name="violationtype_default_in_range"),
            models.CheckConstraint(condition=~Q(category="regulator") | ~Q(legal_reference=""),
                                   name="violationtype_regulator_has_reference"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def name(self) -> str:
        language = translation.get_language() or "zh-hans"
        return self.name_en if language.startswith("en") and self.name_en else self.name_zh

    def snapshot(self) -> dict:
        """The catalogue entry as stored in its version history."""
        return {
            "code": self.code, "name_zh": self.name_zh, "name_en": self.name_en, "category": self.category,
            "amount_min": f"{Decimal(self.amount_min):.2f}", "amount_max": f"{Decimal(self.amount_max):.2f}",
            "default_amount": f"{Decimal(self.default_amount):.2f}", "default_severity": self.default_severity,
            "legal_reference": self.legal_reference, "description": self.description,
            "detector": self.detector, "is_active": self.is_active,
        }


class ViolationTypeVersion(TenantScopedModel):
    """One catalogue entry as it stood from `changed_at` (insert-only)."""

    append_only = True

    violation_type = models.ForeignKey(ViolationType, on_delete=models.PROTECT, related_name="versions",
                                       verbose_name=_("violation type"))
    version = models.PositiveIntegerField(_("version"))
    data = models.JSONField(_("content"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("changed by"))
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)

    class Meta:
        verbose_name = _("violation type version")
        verbose_name_plural = _("violation type versions")
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["tenant", "violation_type", "version"],
                                               name="violationtypeversion_unique")]
