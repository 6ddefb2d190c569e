"""Serializers of the customers API.

Payload serializers (…InputSerializer, …CreateSerializer, …UpdateSerializer) check types and
shapes only — lengths the columns can hold, enumerations, ids inside the tenant — and the view
hands the values to a service, which owns every business rule and names the field of each
error. Output serializers show personal values masked (phones, emails, ID numbers, streets,
persons' names); full values come only from POST /api/v1/pii/reveal/ with the record's type
(e.g. `customers.customerphone`) and id, which the output gives."""
from __future__ import annotations

import re
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tenancy.api.base import ScopedPrimaryKeyRelatedField
from tenancy.fields import masked
from tenancy.masking import mask_name
from tenancy.models import Membership

from .. import regions
from ..models import (
    ActivityKind,
    ChurnRisk,
    ContractStatus,
    CreditRating,
    Customer,
    CustomerKind,
    CustomerStatus,
    DeliveryWindow,
    DuplicateStatus,
    Industry,
    LeadSource,
    LeadStatus,
    LostReason,
    OpportunityStage,
    SettlementType,
    SourceChannel,
    Tag,
)

MAX_INT = 2_147_483_647  # PostgreSQL integer
MASKED = _("Masked; reveal through POST /api/v1/pii/reveal/")
EDITABLE_STATUSES = [(value, label) for value, label in CustomerStatus.choices if value != CustomerStatus.MERGED]
KIND_HELP = _("account (B-end) or person (C-end)")
STATUS_HELP = _("prospect, active, inactive or merged")
PHONE_LABELS = [("mobile", _("Mobile")), ("landline", _("Landline")), ("work", _("Work"))]


def choices_help(choices) -> str:
    return _("One of: %(values)s") % {"values": ", ".join(value for value, _label in choices)}


def pattern_choice_field(choices):
    """A choice field documented with a pattern instead of an enum: enum components are named
    after the property (`kind`, `status`), and another app's `kind` enum already has that name."""
    values = [value for value, _label in choices]
    schema = {"type": "string", "pattern": "^(" + "|".join(re.escape(v) for v in values) + ")$",
              "description": "One of: " + ", ".join(values)}

    @extend_schema_field(schema)
    class PatternChoiceField(serializers.ChoiceField):
        def __init__(self, **kwargs):
            super().__init__(choices=choices, **kwargs)

    return PatternChoiceField


def _masked_or_blank(obj, field: str) -> str:
    return masked(obj, field) if obj is not None else ""


# --- small shapes ----------------------------------------------------------------------------------

class MemberBriefSerializer(serializers.Serializer):
    """A membership (a person's role in this company)."""

    id = serializers.IntegerField()
    display_name = serializers.CharField(source="user.display_name")


class ActorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()


class TagBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    color = serializers.CharField()


class TeamBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CustomerBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    kind = serializers.CharField(help_text=KIND_HELP)
    name = serializers.CharField(source="display_name", help_text=_("A person's name is masked"))


class LaneFieldsSerializer(serializers.Serializer):
    """A price for parcels from one province to another within the weight band (min, max] kg."""

    origin_province = serializers.CharField(max_length=40)
    destination_province = serializers.CharField(max_length=40)
    min_weight_kg = serializers.DecimalField(max_digits=7, decimal_places=2, default=Decimal("0"))
    max_weight_kg = serializers.DecimalField(max_digits=7, decimal_places=2)
    first_weight_price = serializers.DecimalField(max_digits=10, decimal_places=2,
                                                  help_text=_("CNY for the first charged kilogram"))
    additional_kg_price = serializers.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"),
                                                   help_text=_("CNY per additional kilogram"))


class LaneInputSerializer(LaneFieldsSerializer):
    pass


class LaneSerializer(LaneFieldsSerializer):
    id = serializers.IntegerField()


# --- customers -------------------------------------------------------------------------------------


def _churn_row(customer):
    """The customer's churn row, or None: no row means low with no reasons (customers.CustomerChurn)."""
    try:
        return customer.churn
    except ObjectDoesNotExist:
        return None


class ChurnStateFields(serializers.Serializer):
    """`churn_risk` and `churn_score` of a customer, read from its churn row (select_related
    "churn" where a list shows them)."""

    churn_risk = serializers.SerializerMethodField(help_text=_("low, medium or high, from the last churn scan"))
    churn_score = serializers.SerializerMethodField(help_text=_("0–100, as of the last churn scan that changed it"))

    def get_churn_risk(self, obj) -> str:
        row = _churn_row(obj)
        return row.risk if row is not None and row.risk else ChurnRisk.LOW

    def get_churn_score(self, obj) -> int:
        row = _churn_row(obj)
        return row.score if row is not None and row.score is not None else 0


class CustomerSerializer(ChurnStateFields, serializers.Serializer):
    """A customer: B-end account or C-end person. `primary_phone` and `tags` come from
    `selectors.records.with_list_extras` (two queries per page)."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    kind = serializers.CharField(help_text=KIND_HELP)
    name = serializers.CharField(source="display_name", help_text=_("A person's name is masked"))
    status = serializers.CharField(help_text=STATUS_HELP)
    province = serializers.CharField()
    city = serializers.CharField()
    district = serializers.CharField()
    owner = MemberBriefSerializer(allow_null=True)
    source_channel = serializers.ChoiceField(choices=SourceChannel.choices)
    credit_code = serializers.CharField()
    industry = serializers.CharField()
    credit_rating = serializers.CharField()
    settlement_type = serializers.ChoiceField(choices=SettlementType.choices)
    primary_phone = serializers.SerializerMethodField(help_text=MASKED)
    primary_phone_id = serializers.SerializerMethodField(help_text=_("Reveal as customers.customerphone"))
    email = serializers.SerializerMethodField(help_text=MASKED)
    id_number = serializers.SerializerMethodField(help_text=MASKED)
    delivery_window = serializers.CharField()
    delivery_notes = serializers.CharField()
    notes = serializers.CharField()
    segments = serializers.ListField(child=serializers.CharField())
    tags = TagBriefSerializer(many=True, source="tag_list")
    churn_reasons = serializers.SerializerMethodField()
    merged_into = serializers.IntegerField(source="merged_into_id", allow_null=True)
    created_at = serializers.DateTimeField()

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_churn_reasons(self, obj) -> list:
        row = _churn_row(obj)
        return row.reasons if row is not None else []

    def get_primary_phone(self, obj) -> str:
        return _masked_or_blank(getattr(obj, "primary_phone", None), "phone")

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_primary_phone_id(self, obj):
        phone = getattr(obj, "primary_phone", None)
        return phone.pk if phone is not None else None

    def get_email(self, obj) -> str:
        return masked(obj, "email")

    def get_id_number(self, obj) -> str:
        return masked(obj, "id_number")


class CustomerLookupRowSerializer(serializers.Serializer):
    """One compact row of the lookup box (built as a plain dict in the view)."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    kind = serializers.CharField(help_text=KIND_HELP)
    name = serializers.CharField(help_text=_("A person's name is masked"))
    status = serializers.CharField(help_text=STATUS_HELP)
    province = serializers.CharField()
    city = serializers.CharField()
    primary_phone = serializers.CharField(help_text=MASKED)


class LookupQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=100, help_text=_("Exact phone number, customer number, or part of the name"))


class CustomerEditableFieldsSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=EDITABLE_STATUSES, required=False)
    province = serializers.CharField(max_length=40, allow_blank=True, required=False)
    city = serializers.CharField(max_length=40, allow_blank=True, required=False)
    district = serializers.CharField(max_length=40, allow_blank=True, required=False)
    owner = ScopedPrimaryKeyRelatedField(Membership, allow_null=True, required=False,
                                         help_text=_("Membership id of the account manager"))
    source_channel = serializers.ChoiceField(choices=SourceChannel.choices, required=False)
    credit_code = serializers.CharField(max_length=40, allow_blank=True, required=False)
    industry = serializers.ChoiceField(choices=Industry.choices, allow_blank=True, required=False)
    credit_rating = serializers.ChoiceField(choices=CreditRating.choices, allow_blank=True, required=False)
    settlement_type = serializers.ChoiceField(choices=SettlementType.choices, required=False)
    email = serializers.CharField(max_length=254, allow_blank=True, required=False)
    id_number = serializers.CharField(max_length=40, allow_blank=True, required=False)
    delivery_window = serializers.ChoiceField(choices=DeliveryWindow.choices, allow_blank=True, required=False)
    delivery_notes = serializers.CharField(max_length=300, allow_blank=True, required=False)
    notes = serializers.CharField(max_length=5000, allow_blank=True, required=False)


class CustomerCreateSerializer(CustomerEditableFieldsSerializer):
    kind = pattern_choice_field(CustomerKind.choices)()
    name = serializers.CharField(max_length=400)
    phones = serializers.ListField(child=serializers.CharField(max_length=40, allow_blank=True), max_length=10,
                                   required=False, help_text=_("The first becomes the primary number"))


class CustomerUpdateSerializer(CustomerEditableFieldsSerializer):
    name = serializers.CharField(max_length=400, required=False)


class CustomerPhoneSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    phone = serializers.SerializerMethodField(help_text=MASKED)
    label = serializers.CharField()
    is_primary = serializers.BooleanField()

    def get_phone(self, obj) -> str:
        return masked(obj, "phone")


class CustomerPhoneInputSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=40)
    label = serializers.ChoiceField(choices=PHONE_LABELS, allow_blank=True, default="mobile")
    primary = serializers.BooleanField(default=False)


class AddressSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    label = serializers.CharField()
    province = serializers.CharField()
    city = serializers.CharField()
    district = serializers.CharField()
    street = serializers.SerializerMethodField(help_text=MASKED)
    postal_code = serializers.CharField()
    is_default = serializers.BooleanField()

    def get_street(self, obj) -> str:
        return masked(obj, "street")


class AddressInputSerializer(serializers.Serializer):
    province = serializers.CharField(max_length=40)
    city = serializers.CharField(max_length=40)
    district = serializers.CharField(max_length=40, allow_blank=True, default="")
    street = serializers.CharField(max_length=300)
    label = serializers.CharField(max_length=40, allow_blank=True, default="")
    postal_code = serializers.CharField(max_length=20, allow_blank=True, default="")
    is_default = serializers.BooleanField(default=False)


class ContactSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    name = serializers.SerializerMethodField(help_text=_("Masked (a person's name)"))
    title = serializers.CharField()
    phone = serializers.SerializerMethodField(help_text=MASKED)
    email = serializers.SerializerMethodField(help_text=MASKED)
    is_primary = serializers.BooleanField()
    is_active = serializers.BooleanField()
    notes = serializers.CharField()

    def get_name(self, obj) -> str:
        return mask_name(obj.name)

    def get_phone(self, obj) -> str:
        return masked(obj, "phone")

    def get_email(self, obj) -> str:
        return masked(obj, "email")


class ContactCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    title = serializers.CharField(max_length=200, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40, allow_blank=True, default="")
    email = serializers.CharField(max_length=254, allow_blank=True, default="")
    notes = serializers.CharField(max_length=1000, allow_blank=True, default="")
    is_primary = serializers.BooleanField(default=False)


class ContactUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    title = serializers.CharField(max_length=200, allow_blank=True, required=False)
    phone = serializers.CharField(max_length=40, allow_blank=True, required=False)
    email = serializers.CharField(max_length=254, allow_blank=True, required=False)
    notes = serializers.CharField(max_length=1000, allow_blank=True, required=False)
    is_primary = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


class TagSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    color = serializers.CharField()
    description = serializers.CharField()
    customer_count = serializers.IntegerField(required=False)


class TagCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    color = serializers.ChoiceField(choices=Tag.COLORS, default="secondary")
    description = serializers.CharField(max_length=500, allow_blank=True, default="")


class CustomerTagInputSerializer(serializers.Serializer):
    tag = ScopedPrimaryKeyRelatedField(Tag)


# --- 360 -------------------------------------------------------------------------------------------

class ContractBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    status = serializers.CharField(help_text=choices_help(ContractStatus.choices))
    monthly_commitment = serializers.IntegerField()
    settlement_type = serializers.ChoiceField(choices=SettlementType.choices)


class ActivityBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text=choices_help(ActivityKind.choices))
    summary = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    next_action = serializers.CharField()
    next_action_date = serializers.DateField(allow_null=True)
    owner_name = serializers.CharField(allow_null=True)


class OpportunityBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    stage = serializers.ChoiceField(choices=OpportunityStage.choices)
    expected_monthly_revenue = serializers.DecimalField(max_digits=12, decimal_places=2)


class MergeBriefSerializer(serializers.Serializer):
    merged_number = serializers.CharField()
    merged_name = serializers.CharField(help_text=_("A person's name is masked"))
    created_at = serializers.DateTimeField()
    actor = serializers.CharField(allow_null=True)
    moved = serializers.DictField(child=serializers.IntegerField())


class Customer360Serializer(serializers.Serializer):
    customer = CustomerSerializer()
    phones = CustomerPhoneSerializer(many=True)
    addresses = AddressSerializer(many=True)
    contacts = ContactSerializer(many=True)
    tags = TagBriefSerializer(many=True)
    contracts = ContractBriefSerializer(many=True)
    activities = ActivityBriefSerializer(many=True)
    opportunities = OpportunityBriefSerializer(many=True)
    merges = MergeBriefSerializer(many=True)


# --- duplicates and merges -------------------------------------------------------------------------

class DuplicateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer_a = CustomerBriefSerializer()
    customer_b = CustomerBriefSerializer()
    reasons = serializers.ListField(child=serializers.CharField())
    score = serializers.DecimalField(max_digits=4, decimal_places=3)
    status = serializers.CharField(help_text=choices_help(DuplicateStatus.choices))
    detected_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)


class MergePairSerializer(serializers.Serializer):
    survivor = ScopedPrimaryKeyRelatedField(Customer, help_text=_("The record that stays"))
    merged = ScopedPrimaryKeyRelatedField(Customer, help_text=_("The record merged into the survivor"))


class MergeCreateSerializer(MergePairSerializer):
    reason = serializers.CharField(max_length=300, allow_blank=True, default="")


class MergeMoveSerializer(serializers.Serializer):
    model = serializers.CharField()
    name = serializers.CharField()
    rows = serializers.IntegerField()


class MergeFieldSerializer(serializers.Serializer):
    field = serializers.CharField()
    label = serializers.CharField()


class MergePlanSerializer(serializers.Serializer):
    """What a merge would do; `problems` not empty means it would be refused."""

    survivor = serializers.IntegerField()
    merged = serializers.IntegerField()
    moves = MergeMoveSerializer(many=True)
    filled = MergeFieldSerializer(many=True, help_text=_("Empty fields of the survivor taken from the other"))
    kept = MergeFieldSerializer(many=True, help_text=_("Fields where both differ: the survivor's value stays"))
    problems = serializers.ListField(child=serializers.CharField())
    total_rows = serializers.IntegerField()


class MergeRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    survivor = CustomerBriefSerializer()
    merged = serializers.IntegerField(source="merged_id")
    merged_number = serializers.CharField()
    merged_name = serializers.SerializerMethodField(help_text=_("A person's name is masked"))
    moved = serializers.DictField(child=serializers.IntegerField())
    filled_fields = serializers.ListField(child=serializers.CharField())
    reason = serializers.CharField()
    actor = ActorSerializer()
    created_at = serializers.DateTimeField()

    def get_merged_name(self, obj) -> str:
        return obj.merged_name if obj.survivor.kind == CustomerKind.ACCOUNT else mask_name(obj.merged_name)


# --- contracts -------------------------------------------------------------------------------------

class ContractSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    customer = CustomerBriefSerializer()
    owner = MemberBriefSerializer(source="customer.owner", allow_null=True)
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    monthly_commitment = serializers.IntegerField()
    settlement_type = serializers.ChoiceField(choices=SettlementType.choices)
    status = serializers.CharField(help_text=choices_help(ContractStatus.choices))
    notes = serializers.CharField()
    opportunity = serializers.IntegerField(source="opportunity_id", allow_null=True)
    signed_at = serializers.DateTimeField(allow_null=True)
    terminated_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    lane_count = serializers.IntegerField()


class ContractDetailSerializer(ContractSerializer):
    lanes = LaneSerializer(many=True, source="lanes.all")


class ContractCreateSerializer(serializers.Serializer):
    customer = ScopedPrimaryKeyRelatedField(Customer, help_text=_("A B-end account"))
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    monthly_commitment = serializers.IntegerField(max_value=MAX_INT, default=0)
    settlement_type = serializers.ChoiceField(choices=SettlementType.choices, default=SettlementType.MONTHLY)
    notes = serializers.CharField(max_length=5000, allow_blank=True, default="")
    lanes = LaneInputSerializer(many=True, required=False, max_length=200)
    activate = serializers.BooleanField(default=False, help_text=_("Put the contract in force at once"))


class ContractTerminateSerializer(serializers.Serializer):
    on = serializers.DateField(required=False, allow_null=True, help_text=_("Last day in force (default: today)"))
    reason = serializers.CharField(max_length=300, allow_blank=True, default="")


class PriceQuoteQuerySerializer(serializers.Serializer):
    customer = ScopedPrimaryKeyRelatedField(Customer)
    origin_province = serializers.CharField(max_length=40)
    destination_province = serializers.CharField(max_length=40)
    weight_kg = serializers.DecimalField(max_digits=8, decimal_places=3, min_value=Decimal("0.001"))
    on = serializers.DateField(required=False, help_text=_("The shipping day (default: today)"))

    def _province(self, value):
        # The fixed list of provinces is this parameter's enumeration (aliases accepted).
        try:
            return regions.normalize_province(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    def validate_origin_province(self, value):
        return self._province(value)

    def validate_destination_province(self, value):
        return self._province(value)


class ContractRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()


class PriceQuoteSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    weight_kg = serializers.DecimalField(max_digits=8, decimal_places=3)
    charged_weight_kg = serializers.DecimalField(max_digits=10, decimal_places=2)
    contract = ContractRefSerializer()
    lane = LaneSerializer()


# --- sales -----------------------------------------------------------------------------------------

class LeadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    company_name = serializers.CharField()
    contact_name = serializers.SerializerMethodField(help_text=_("Masked (a person's name)"))
    phone = serializers.SerializerMethodField(help_text=MASKED)
    email = serializers.SerializerMethodField(help_text=MASKED)
    province = serializers.CharField()
    city = serializers.CharField()
    industry = serializers.CharField()
    estimated_monthly_parcels = serializers.IntegerField(allow_null=True)
    message = serializers.CharField()
    source = serializers.ChoiceField(choices=LeadSource.choices)
    status = serializers.CharField(help_text=choices_help(LeadStatus.choices))
    team = TeamBriefSerializer(allow_null=True)
    owner = MemberBriefSerializer(allow_null=True)
    customer = serializers.IntegerField(source="customer_id", allow_null=True)
    disqualify_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    assigned_at = serializers.DateTimeField(allow_null=True)

    def get_contact_name(self, obj) -> str:
        return mask_name(obj.contact_name)

    def get_phone(self, obj) -> str:
        return masked(obj, "phone")

    def get_email(self, obj) -> str:
        return masked(obj, "email")


class LeadCreateSerializer(serializers.Serializer):
    company_name = serializers.CharField(max_length=400)
    contact_name = serializers.CharField(max_length=200)
    phone = serializers.CharField(max_length=40, allow_blank=True, required=False)
    email = serializers.CharField(max_length=254, allow_blank=True, required=False)
    province = serializers.CharField(max_length=40, allow_blank=True, required=False)
    city = serializers.CharField(max_length=40, allow_blank=True, required=False)
    industry = serializers.ChoiceField(choices=Industry.choices, allow_blank=True, required=False)
    estimated_monthly_parcels = serializers.IntegerField(max_value=MAX_INT, allow_null=True, required=False)
    message = serializers.CharField(max_length=2000, allow_blank=True, required=False)


class LeadAssignSerializer(serializers.Serializer):
    owner = ScopedPrimaryKeyRelatedField(Membership, allow_null=True, required=False,
                                         help_text=_("Membership id; omit to assign by the team rules"))
    reason = serializers.CharField(max_length=300, allow_blank=True, default="")


class LeadDisqualifySerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, allow_blank=True)


class LeadQualifySerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, allow_blank=True, default="")
    expected_monthly_revenue = serializers.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    expected_close_date = serializers.DateField(required=False, allow_null=True)


class QuoteLineSerializer(LaneSerializer):
    opportunity = serializers.IntegerField(source="opportunity_id")


class OpportunitySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    stage = serializers.ChoiceField(choices=OpportunityStage.choices)
    lead = serializers.IntegerField(source="lead_id", allow_null=True)
    customer = CustomerBriefSerializer(allow_null=True)
    owner = MemberBriefSerializer(allow_null=True)
    team = TeamBriefSerializer(allow_null=True)
    expected_monthly_parcels = serializers.IntegerField()
    expected_monthly_revenue = serializers.DecimalField(max_digits=12, decimal_places=2)
    expected_close_date = serializers.DateField(allow_null=True)
    lost_reason = serializers.CharField()
    lost_note = serializers.CharField()
    contract = serializers.IntegerField(source="contract_id", allow_null=True)
    stage_changed_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class OpportunityDetailSerializer(OpportunitySerializer):
    quote_lines = QuoteLineSerializer(many=True, source="quote_lines.all")


class OpportunityCreateSerializer(serializers.Serializer):
    customer = ScopedPrimaryKeyRelatedField(Customer, help_text=_("An existing B-end account"))
    name = serializers.CharField(max_length=200)
    expected_monthly_parcels = serializers.IntegerField(max_value=MAX_INT, default=0)
    expected_monthly_revenue = serializers.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    expected_close_date = serializers.DateField(required=False, allow_null=True)


class OpportunityMoveSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=OpportunityStage.choices)


class OpportunityWinSerializer(serializers.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    monthly_commitment = serializers.IntegerField(max_value=MAX_INT, default=0)
    settlement_type = serializers.ChoiceField(choices=SettlementType.choices, default=SettlementType.MONTHLY)
    credit_code = serializers.CharField(max_length=40, allow_blank=True, default="")
    industry = serializers.ChoiceField(choices=Industry.choices, allow_blank=True, default="")
    credit_rating = serializers.ChoiceField(choices=CreditRating.choices, allow_blank=True, default="")


class OpportunityLoseSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=LostReason.choices)
    note = serializers.CharField(max_length=300, allow_blank=True, default="")


class PipelineCardSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    customer = CustomerBriefSerializer(allow_null=True)
    owner = MemberBriefSerializer(allow_null=True)
    expected_monthly_revenue = serializers.DecimalField(max_digits=12, decimal_places=2)
    expected_close_date = serializers.DateField(allow_null=True)
    stage_changed_at = serializers.DateTimeField()


class PipelineColumnSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=OpportunityStage.choices)
    label = serializers.CharField()
    count = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=16, decimal_places=2, help_text=_("Expected monthly revenue, CNY"))
    cards = PipelineCardSerializer(many=True)


class PipelineQuerySerializer(serializers.Serializer):
    owner = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False,
                                     help_text=_("Only this membership's deals"))


class ActivitySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text=choices_help(ActivityKind.choices))
    summary = serializers.CharField()
    lead = serializers.IntegerField(source="lead_id", allow_null=True)
    opportunity = serializers.IntegerField(source="opportunity_id", allow_null=True)
    customer = serializers.IntegerField(source="customer_id", allow_null=True)
    owner = MemberBriefSerializer()
    occurred_at = serializers.DateTimeField()
    next_action = serializers.CharField()
    next_action_date = serializers.DateField(allow_null=True)
    next_action_done_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class ActivityInputSerializer(serializers.Serializer):
    kind = pattern_choice_field(ActivityKind.choices)()
    summary = serializers.CharField(max_length=5000)
    next_action = serializers.CharField(max_length=200, allow_blank=True, default="")
    next_action_date = serializers.DateField(required=False, allow_null=True)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, help_text=_("From 1970 on"))

    def validate_occurred_at(self, value):
        # Before 1901 the local zone has a seconds offset (LMT +08:05:43) that is no RFC 3339 date-time.
        if value is not None and value.year < 1970:
            raise serializers.ValidationError(_("Enter a date-time from 1970 on."))
        return value


class SalesTeamSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    provinces = serializers.ListField(child=serializers.CharField())
    industries = serializers.ListField(child=serializers.CharField())
    priority = serializers.IntegerField()
    is_active = serializers.BooleanField()
    leader = MemberBriefSerializer(allow_null=True)
    members = serializers.SerializerMethodField()
    open_leads = serializers.IntegerField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(MemberBriefSerializer(many=True))
    def get_members(self, obj):
        return MemberBriefSerializer([tm.membership for tm in obj.team_members.all()], many=True).data


class SalesTeamFieldsSerializer(serializers.Serializer):
    provinces = serializers.ListField(child=serializers.CharField(max_length=40), max_length=40, required=False,
                                      help_text=_("Empty: all provinces"))
    industries = serializers.ListField(child=serializers.CharField(max_length=20), max_length=20, required=False,
                                       help_text=_("Industry codes (as `industry` elsewhere); empty: all"))
    priority = serializers.IntegerField(max_value=MAX_INT, required=False, help_text=_("Lower is tried first"))
    leader = ScopedPrimaryKeyRelatedField(Membership, allow_null=True, required=False,
                                          help_text=_("Membership id; must be a member"))
    members = ScopedPrimaryKeyRelatedField(Membership, many=True, required=False,
                                           help_text=_("Membership ids of the team's sales managers"))


class SalesTeamCreateSerializer(SalesTeamFieldsSerializer):
    name = serializers.CharField(max_length=80)


class SalesTeamUpdateSerializer(SalesTeamFieldsSerializer):
    name = serializers.CharField(max_length=80, required=False)
    is_active = serializers.BooleanField(required=False)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class ErrorSerializer(serializers.Serializer):
    """The envelope of every API error."""

    error = ErrorDetailSerializer()
