"""Consent API (/api/v1/compliance/consents/): a person's current answer per purpose and their
history — by customer id or by phone number — and recording a grant or a withdrawal. The newest
answer for the customer record or any of its numbers counts; phone numbers come back masked."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response

from compliance.models import ConsentPurpose, ConsentRecord, ConsentSource
from compliance.selectors.consent import consent_history, consent_state
from compliance.services.consent import consent_record
from customers.models import Customer, CustomerPhone
from tenancy.api.base import MAX_ID, ScopedPrimaryKeyRelatedField, TenantScopedViewSet, parse
from tenancy.api.schema import SingleObjectListSchema
from tenancy.selectors import blind_indexes_for

from .requests import MaskedField

HISTORY_ROWS = 200


class ConsentRecordSerializer(serializers.ModelSerializer):
    phone = MaskedField()
    recorded_by_username = serializers.CharField(source="recorded_by.username", read_only=True,
                                                 default=None, allow_null=True)

    class Meta:
        model = ConsentRecord
        fields = ["id", "customer", "phone", "purpose", "granted", "source", "note", "recorded_by",
                  "recorded_by_username", "recorded_at"]
        read_only_fields = fields


class ConsentStateSerializer(serializers.Serializer):
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    label = serializers.CharField()
    allowed = serializers.BooleanField()
    record = ConsentRecordSerializer(allow_null=True, help_text="The answer that decided it (null: the default).")


class ConsentLookupResultSerializer(serializers.Serializer):
    state = ConsentStateSerializer(many=True)
    results = ConsentRecordSerializer(many=True)


class ConsentQuerySerializer(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    phone = serializers.CharField(max_length=40, required=False)

    def validate(self, attrs):
        if not attrs.get("customer") and not attrs.get("phone"):
            raise serializers.ValidationError({"customer": "Give a customer id or a phone number."})
        return attrs


class ConsentCreateSerializer(serializers.Serializer):
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    granted = serializers.BooleanField()
    source = serializers.ChoiceField(choices=ConsentSource.choices)
    customer = ScopedPrimaryKeyRelatedField(Customer, required=False, allow_null=True, default=None)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    recorded_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                            help_text="When the person answered (default: now).")


@extend_schema_view(list=extend_schema(parameters=[ConsentQuerySerializer], responses=ConsentLookupResultSerializer))
class ConsentViewSet(TenantScopedViewSet):
    model = ConsentRecord
    read_perm = "compliance.view_consent"
    write_perm = "compliance.manage_consent"
    serializer_class = ConsentRecordSerializer
    pagination_class = None
    filter_backends: list = []
    schema = SingleObjectListSchema()  # `list` answers one lookup (state + history), not an array

    def scoped_queryset(self):
        return ConsentRecord.objects.none()

    def list(self, request, *args, **kwargs):
        """The person's current answer per purpose and their history (newest first, at most 200):
        by customer (answers for the record and its numbers) or by phone number."""
        query = parse(ConsentQuerySerializer, request.query_params)
        customer_id, bidxs = None, []
        if query.get("customer"):
            customer = Customer.objects.filter(pk=query["customer"]).first()
            if customer is None:
                raise serializers.ValidationError({"customer": "No such customer."})
            customer_id = customer.pk
            bidxs = [b for b in CustomerPhone.objects.filter(customer=customer).values_list("phone_bidx", flat=True)
                     if b]
        if query.get("phone"):
            bidxs += blind_indexes_for("phone", query["phone"])
            if not bidxs and customer_id is None:
                raise serializers.ValidationError({"phone": "Enter a valid phone number."})
        state = consent_state(customer_id=customer_id, phone_bidxs=bidxs)
        history = consent_history(customer_id=customer_id, phone_bidxs=bidxs)[:HISTORY_ROWS]
        return Response({"state": ConsentStateSerializer(state.values(), many=True).data,
                         "results": ConsentRecordSerializer(history, many=True).data})

    @extend_schema(request=ConsentCreateSerializer, responses={201: ConsentRecordSerializer})
    def create(self, request, *args, **kwargs):
        """Record a person's grant or withdrawal for one purpose, for a customer or a phone number."""
        data = parse(ConsentCreateSerializer, request.data)
        record = consent_record(actor=request.user, **data)
        return Response(ConsentRecordSerializer(record).data, status=status.HTTP_201_CREATED)


ROUTES = [("compliance/consents", ConsentViewSet, "compliance-consents")]
PATHS = []
