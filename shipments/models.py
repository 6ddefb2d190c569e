"""Shipments: waybills, their tracking events (the largest table, range-partitioned by month),
delivery consents, and the daily volume per customer that sales trends, segments and the churn
scan read. Ingest (shipments.ingest) maintains waybill status and daily volume incrementally."""
from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tenancy.fields import BlindIndexField, EncryptedTextField
from tenancy.models import Branch, Membership, TenantScopedModel


class WaybillStatus(models.TextChoices):
    CREATED = "created", _("Created")
    PICKED_UP = "picked_up", _("Picked up")
    IN_TRANSIT = "in_transit", _("In transit")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    DELIVERED = "delivered", _("Delivered")
    EXCEPTION = "exception", _("Exception")
    RETURNED = "returned", _("Returned")


# "While in transit" for the no-scan rule; terminal statuses never change again.
MOVING_STATUSES = (WaybillStatus.PICKED_UP, WaybillStatus.IN_TRANSIT, WaybillStatus.OUT_FOR_DELIVERY)
TERMINAL_STATUSES = (WaybillStatus.DELIVERED, WaybillStatus.RETURNED)


class EventType(models.TextChoices):
    CREATED = "created", _("Waybill created")
    PICKED_UP = "picked_up", _("Picked up")
    ARRIVED_AT_SITE = "arrived_at_site", _("Arrived at site")
    DEPARTED_SITE = "departed_site", _("Departed site")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    DELIVERED = "delivered", _("Delivered (signed)")
    DELIVERED_TO_LOCKER = "delivered_to_locker", _("Delivered to locker / station")
    REFUSED = "refused", _("Refused")
    DAMAGED = "damaged", _("Damaged")
    LOST = "lost", pgettext_lazy("parcel", "Lost")
    RETURNED = "returned", _("Returned")
    EXCEPTION = "exception", _("Exception")


class ServiceProduct(models.TextChoices):
    STANDARD = "standard", _("Standard express")
    NEXT_DAY = "next_day", _("Next-day")
    SAME_DAY = "same_day", _("Same-day")
    ECONOMY = "economy", _("Economy")
    FREIGHT = "freight", _("Freight")
    COLD_CHAIN = "cold_chain", _("Cold chain")


class Waybill(TenantScopedModel):
    """A parcel. Updated by every ingest batch, so it carries only the indexes queries use: the
    foreign keys are covered by the composite indexes below (or never searched), not indexed alone."""

    number = models.CharField(_("waybill number"), max_length=40)
    sender = models.ForeignKey("customers.Customer", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="sent_waybills", verbose_name=_("sender"), db_index=False)
    sender_name = models.CharField(_("sender name"), max_length=120, blank=True)
    sender_phone = EncryptedTextField(_("sender phone"), kind="phone", blank=True, null=True)
    sender_phone_bidx = BlindIndexField(source="sender_phone")
    receiver = models.ForeignKey("customers.Customer", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="received_waybills", verbose_name=_("receiver"), db_index=False)
    receiver_name = models.CharField(_("receiver name"), max_length=120, blank=True)
    receiver_phone = EncryptedTextField(_("receiver phone"), kind="phone", blank=True, null=True)
    receiver_phone_bidx = BlindIndexField(source="receiver_phone")
    receiver_address = EncryptedTextField(_("receiver address"), kind="address", blank=True, null=True)
    receiver_province = models.CharField(_("receiver province"), max_length=20, blank=True)
    receiver_city = models.CharField(_("receiver city"), max_length=40, blank=True)
    origin_branch = models.ForeignKey(Branch, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                      verbose_name=_("origin branch"), db_index=False)
    destination_branch = models.ForeignKey(Branch, on_delete=models.PROTECT, null=True, blank=True,
                                           related_name="+", verbose_name=_("destination branch"), db_index=False)
    responsible_branch = models.ForeignKey(Branch, on_delete=models.PROTECT, null=True, blank=True,
                                           related_name="+", verbose_name=_("responsible branch"), db_index=False)
    product = models.CharField(_("service product"), max_length=12, choices=ServiceProduct.choices, blank=True)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=9, decimal_places=3, null=True, blank=True)
    declared_value = models.DecimalField(_("declared value (CNY)"), max_digits=12, decimal_places=2, default=0)
    insured_amount = models.DecimalField(_("insured amount (CNY)"), max_digits=12, decimal_places=2, default=0)
    service_fee = models.DecimalField(_("service fee (CNY)"), max_digits=10, decimal_places=2, default=0)
    promised_date = models.DateField(_("promised delivery date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=WaybillStatus.choices,
                              default=WaybillStatus.CREATED)
    status_at = models.DateTimeField(_("status since"), null=True, blank=True)
    exception_kind = models.CharField(_("exception"), max_length=20, blank=True)
    shipped_at = models.DateTimeField(_("created at (scan)"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    personal_data_erased_at = models.DateTimeField(
        _("personal data erased at"), null=True, blank=True, editable=False,
        help_text=_("Set when a deletion request or the retention job anonymised this record."))
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    last_scan_at = models.DateTimeField(_("last scan"), null=True, blank=True)
    # The sort key (event time, stage rank, source id) of the last event folded into the status:
    # a new event that sorts after it is folded on top; one that sorts before it triggers a
    # recompute of this waybill from all its events (out-of-order arrival).
    folded_event_at = models.DateTimeField(null=True, blank=True, editable=False)
    folded_event_rank = models.SmallIntegerField(null=True, blank=True, editable=False)
    folded_event_id = models.CharField(max_length=64, blank=True, editable=False)
    # What this waybill already added to the daily volume (so ingest adds each parcel once).
    volume_day = models.DateField(null=True, blank=True, editable=False)
    volume_customer = models.ForeignKey("customers.Customer", on_delete=models.SET_NULL, null=True, blank=True,
                                        related_name="+", editable=False, db_index=False)
    volume_returned = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(_("record created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("waybill")
        verbose_name_plural = _("waybills")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="waybill_number_unique"),
        ]
        indexes = [
            models.Index(fields=["tenant", "sender", "-shipped_at"], name="waybill_sender"),
            models.Index(fields=["tenant", "receiver", "-shipped_at"], name="waybill_receiver"),
            models.Index(fields=["tenant", "sender_phone_bidx"], name="waybill_sender_bidx"),
            models.Index(fields=["tenant", "receiver_phone_bidx"], name="waybill_receiver_bidx"),
            # Retention finds journeys that ended before its cut-off among those not yet anonymised.
            models.Index(fields=["tenant", "delivered_at"], name="waybill_retention_delivered",
                         condition=Q(personal_data_erased_at__isnull=True)),
            models.Index(fields=["tenant", "returned_at"], name="waybill_retention_returned",
                         condition=Q(personal_data_erased_at__isnull=True, delivered_at__isnull=True)),
            # The periodic sweeps read only moving / unfinished waybills.
            models.Index(fields=["tenant", "last_scan_at"], name="waybill_moving_scan",
                         condition=Q(status__in=MOVING_STATUSES)),
            models.Index(fields=["tenant", "promised_date"], name="waybill_open_promise",
                         condition=~Q(status__in=TERMINAL_STATUSES) & Q(promised_date__isnull=False)),
        ]
        permissions = [("ingest_tracking_events", _("Send tracking events (integration)"))]

    def __str__(self) -> str:
        return self.number


class TrackingEvent(TenantScopedModel):
    """A scan or status event from an operations system. Identified by its source event id.

    The table is range-partitioned by month on `event_time` (migration 0002 creates it with raw
    SQL; Django sees a normal model). Partitions are created ahead by a job and on demand by
    ingest through a SECURITY DEFINER function, each with the same row-level security."""

    append_only = True
    partitioned = True
    redactable_fields = ("attributes",)
    partition_function = "crm_tracking_partition_ensure(date)"

    waybill = models.ForeignKey(Waybill, on_delete=models.DO_NOTHING, db_constraint=False, related_name="events",
                                verbose_name=_("waybill"))
    source_event_id = models.CharField(_("source event id"), max_length=64)
    event_type = models.CharField(_("event"), max_length=24, choices=EventType.choices)
    event_time = models.DateTimeField(_("event time"))
    site_branch = models.ForeignKey(Branch, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
                                    related_name="+", verbose_name=_("site"))
    site_code = models.CharField(_("site code"), max_length=20, blank=True)
    operator = models.CharField(_("operator"), max_length=60, blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        ordering = ["event_time", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "source_event_id", "event_time"], name="trackingevent_source"),
        ]
        indexes = [models.Index(fields=["tenant", "waybill", "event_time"], name="trackingevent_timeline")]

    def __str__(self) -> str:
        return f"{self.source_event_id} {self.event_type}"


class ConsentMethod(models.TextChoices):
    LOCKER = "locker", _("Locker or pick-up station")
    NEIGHBOUR = "neighbour", _("Neighbour or reception")


class ConsentSource(models.TextChoices):
    PHONE = "phone", _("Phone call")
    APP = "app", _("App / mini-program")
    SMS = "sms", _("SMS reply")
    ORDER = "order", _("Standing instruction on the order")


class DeliveryConsent(TenantScopedModel):
    """The receiver agreed to a delivery other than in person (快递市场管理办法 Art. 28)."""

    append_only = True
    redactable_fields = ("note",)

    waybill = models.ForeignKey(Waybill, on_delete=models.CASCADE, related_name="consents", verbose_name=_("waybill"))
    method = models.CharField(_("delivery"), max_length=10, choices=ConsentMethod.choices)
    source = models.CharField(_("how the receiver agreed"), max_length=10, choices=ConsentSource.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name=_("recorded by"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("delivery consent")
        verbose_name_plural = _("delivery consents")
        ordering = ["recorded_at", "id"]
        indexes = [models.Index(fields=["tenant", "waybill", "method"], name="consent_waybill")]

    def __str__(self) -> str:
        return f"{self.waybill_id} {self.method}"


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
