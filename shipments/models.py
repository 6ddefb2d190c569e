"""Shipments. So far: the daily volume per customer that sales trends, segments and the churn
scan read. Waybills and tracking-event ingest (which maintain it incrementally) come with the
shipments issue."""
from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantScopedModel


class CustomerDailyVolume(TenantScopedModel):
    """Parcels shipped, revenue and returns of one customer on one day (one row per pair)."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="daily_volumes",
                                 verbose_name=_("customer"))
    day = models.DateField(_("day"))
    parcels = models.PositiveIntegerField(_("parcels"), default=0)
    revenue = models.DecimalField(_("revenue (CNY)"), max_digits=14, decimal_places=2, default=0)
    returned = models.PositiveIntegerField(_("returned parcels"), default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("daily volume")
        verbose_name_plural = _("daily volumes")
        ordering = ["customer", "day"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "customer", "day"], name="dailyvolume_one_per_day"),
        ]
        indexes = [models.Index(fields=["tenant", "day"], name="dailyvolume_day")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.day}: {self.parcels}"
