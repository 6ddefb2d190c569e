"""Contracts of B-end accounts and their agreement prices per lane and weight band."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantScopedModel

from .records import Customer, SettlementType


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    TERMINATED = "terminated", _("Terminated")


class Contract(TenantScopedModel):
    """An agreement with a B-end account for a period. It is in force on a day when it is
    active and the day lies within [start_date, end_date]."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="contracts",
                                 verbose_name=_("account"))
    number = models.CharField(_("contract number"), max_length=20, editable=False)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    monthly_commitment = models.PositiveIntegerField(_("monthly volume commitment (parcels)"), default=0)
    settlement_type = models.CharField(_("settlement"), max_length=10, choices=SettlementType.choices,
                                       default=SettlementType.MONTHLY)
    status = models.CharField(_("status"), max_length=12, choices=ContractStatus.choices,
                              default=ContractStatus.DRAFT)
    notes = models.TextField(_("notes"), blank=True)
    opportunity = models.ForeignKey("customers.Opportunity", on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+", editable=False)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    terminated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-start_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="contract_number_unique_per_tenant"),
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="contract_period_valid"),
        ]
        indexes = [
            models.Index(fields=["tenant", "customer", "status", "-start_date"], name="contract_customer"),
            models.Index(fields=["tenant", "status", "end_date"], name="contract_expiry"),
        ]

    def __str__(self) -> str:
        return self.number

    def in_force_on(self, day) -> bool:
        return self.status == ContractStatus.ACTIVE and self.start_date <= day <= self.end_date


class LanePrice(models.Model):
    """A price for parcels from one province to another within a weight band (min, max] kg:
    first-weight price for the first charged kilogram plus a price per additional kilogram."""

    origin_province = models.CharField(_("from province"), max_length=20)
    destination_province = models.CharField(_("to province"), max_length=20)
    min_weight_kg = models.DecimalField(_("above (kg)"), max_digits=7, decimal_places=2, default=0)
    max_weight_kg = models.DecimalField(_("up to (kg)"), max_digits=7, decimal_places=2)
    first_weight_price = models.DecimalField(_("first kg (CNY)"), max_digits=10, decimal_places=2)
    additional_kg_price = models.DecimalField(_("each additional kg (CNY)"), max_digits=10, decimal_places=2,
                                              default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.origin_province}→{self.destination_province} ({self.min_weight_kg}, {self.max_weight_kg}] kg"


def lane_constraints(prefix: str) -> list:
    return [
        models.CheckConstraint(condition=Q(max_weight_kg__gt=F("min_weight_kg")), name=f"{prefix}_band_valid"),
        models.CheckConstraint(condition=Q(min_weight_kg__gte=0) & Q(first_weight_price__gte=0)
                               & Q(additional_kg_price__gte=0), name=f"{prefix}_amounts_not_negative"),
    ]


class ContractLane(TenantScopedModel, LanePrice):
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="lanes")

    class Meta:
        verbose_name = _("agreement price")
        verbose_name_plural = _("agreement prices")
        ordering = ["origin_province", "destination_province", "min_weight_kg"]
        constraints = lane_constraints("contractlane")
        indexes = [models.Index(fields=["tenant", "contract", "origin_province", "destination_province"],
                                name="contractlane_lookup")]
