"""Shapes of the shipments API. Personal values are masked; money is a decimal string (CNY)."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tenancy.fields import masked

from ..models import ConsentMethod, ConsentSource, DeliveryConsent, TrackingEvent, Waybill


@extend_schema_field({"type": "string", "nullable": True, "readOnly": True})
class MaskedField(serializers.Field):
    """A personal field shown masked (reveal through POST /api/v1/pii/reveal/)."""

    def __init__(self, field_name: str, **kwargs):
        self.field_name_on_model = field_name
        kwargs["source"] = "*"
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, obj):
        return masked(obj, self.field_name_on_model) or None


class TrackingEventSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site_code", read_only=True)

    class Meta:
        model = TrackingEvent
        fields = ["source_event_id", "event_type", "event_time", "site", "site_branch", "operator", "attributes",
                  "received_at"]
        read_only_fields = fields


class WaybillTicketSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    category = serializers.CharField()
    exception_kind = serializers.CharField()
    status = serializers.CharField()
    branch = serializers.IntegerField(source="branch_id", allow_null=True)
    resolution_due = serializers.DateTimeField(allow_null=True)


_WAYBILL_FIELDS = ["id", "number", "status", "status_at", "exception_kind", "sender", "sender_name", "sender_phone",
                   "receiver", "receiver_name", "receiver_phone", "receiver_address", "receiver_province",
                   "receiver_city", "origin_branch", "destination_branch", "responsible_branch", "product",
                   "weight_kg", "declared_value", "insured_amount", "service_fee", "promised_date", "shipped_at",
                   "delivered_at", "returned_at", "last_scan_at", "updated_at"]


class WaybillSerializer(serializers.ModelSerializer):
    sender_phone = MaskedField("sender_phone")
    receiver_phone = MaskedField("receiver_phone")
    receiver_address = MaskedField("receiver_address")

    class Meta:
        model = Waybill
        fields = _WAYBILL_FIELDS
        read_only_fields = fields


class WaybillDetailSerializer(WaybillSerializer):
    timeline = TrackingEventSerializer(many=True, read_only=True)
    tickets = WaybillTicketSerializer(source="ticket_list", many=True, read_only=True)
    consents = serializers.SerializerMethodField()

    class Meta(WaybillSerializer.Meta):
        fields = [*_WAYBILL_FIELDS, "timeline", "tickets", "consents"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_consents(self, obj):
        return DeliveryConsentSerializer(obj.consent_list, many=True).data


class DeliveryConsentSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryConsent
        fields = ["id", "method", "source", "note", "recorded_by", "recorded_at"]
        read_only_fields = ["id", "recorded_by", "recorded_at"]


class DeliveryConsentCreateSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=ConsentMethod.choices)
    source = serializers.ChoiceField(choices=ConsentSource.choices)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class RawEventSerializer(serializers.Serializer):
    """Documentation of one event of a batch (the batch is validated by plain code, not by this)."""

    event_id = serializers.CharField(max_length=64, help_text=_("Source event id: the event's identity"))
    waybill_number = serializers.CharField(max_length=40)
    event_type = serializers.ChoiceField(choices=TrackingEvent._meta.get_field("event_type").choices)
    event_time = serializers.DateTimeField(help_text=_("ISO 8601 with UTC offset"))
    site = serializers.CharField(required=False, help_text=_("Branch code of the scanning site"))
    operator = serializers.CharField(required=False, max_length=60)
    attributes = serializers.DictField(required=False)
    waybill = serializers.DictField(required=False, help_text=_(
        "Created events only: sender_customer, sender_name, sender_phone, receiver_name, receiver_phone, "
        "receiver_address, receiver_province, receiver_city, origin, destination (branch codes), product, "
        "weight_kg, declared_value, insured_amount, service_fee, promised_date"))


class EventBatchSerializer(serializers.Serializer):
    events = RawEventSerializer(many=True)


class RejectedEventSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    event_id = serializers.CharField(allow_null=True)
    field = serializers.CharField()
    reason = serializers.CharField()


class IngestResultSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    stored = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = RejectedEventSerializer(many=True)
    waybills_created = serializers.IntegerField()
    waybills_updated = serializers.IntegerField()
    tickets_opened = serializers.IntegerField()


class IngestErrorSerializer(serializers.Serializer):
    """400: the usual error envelope; when the batch was read but no event was valid, the counts
    and every rejection come along."""

    error = serializers.DictField()
    received = serializers.IntegerField(required=False)
    stored = serializers.IntegerField(required=False)
    duplicates = serializers.IntegerField(required=False)
    rejected = RejectedEventSerializer(many=True, required=False)
    waybills_created = serializers.IntegerField(required=False)
    waybills_updated = serializers.IntegerField(required=False)
    tickets_opened = serializers.IntegerField(required=False)
