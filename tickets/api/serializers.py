"""Shapes of the tickets API. Personal values are masked (reveal through POST /api/v1/pii/reveal/)."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from shipments.api.serializers import MaskedField

from ..models import (
    AssignMode,
    CustomerClass,
    ExceptionKind,
    Macro,
    MacroAction,
    ReplyStage,
    RoutingRule,
    Team,
    Ticket,
    TicketAttachment,
    TicketCategory,
    TicketChannel,
    TicketEvent,
    TicketPriority,
    TicketStatus,
)

_NAMED_FIELDS: dict[str, type] = {}


def named_choice(component: str, choices, *, blank: bool = False, **kwargs) -> serializers.ChoiceField:
    """A choice field whose OpenAPI enum is the named component `component` (`…OrBlankEnum`
    with "" added when `blank`), so every use of one choice set shares one stable name."""
    name = component.replace("Enum", "OrBlankEnum") if blank else component
    if name not in _NAMED_FIELDS:
        values = [value for value, _label in choices] + ([""] if blank else [])
        field_class = type(f"{name}Field", (serializers.ChoiceField,), {})
        _NAMED_FIELDS[name] = extend_schema_field({"type": "string", "enum": values}, component_name=name)(field_class)
    return _NAMED_FIELDS[name](choices=choices, allow_blank=blank, **kwargs)


def status_field(**kwargs):
    return named_choice("TicketStatusEnum", TicketStatus.choices, **kwargs)


def category_field(**kwargs):
    return named_choice("TicketCategoryEnum", TicketCategory.choices, **kwargs)


def priority_field(**kwargs):
    return named_choice("TicketPriorityEnum", TicketPriority.choices, **kwargs)


def stage_field(**kwargs):
    return named_choice("ReplyStageEnum", ReplyStage.choices, **kwargs)


class QueueRowSerializer(serializers.Serializer):
    """Documentation of a queue row (the view returns the selector's dicts as they are)."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    subject = serializers.CharField()
    status = serializers.CharField()
    priority = serializers.CharField()
    category = serializers.CharField()
    channel = serializers.CharField()
    created_at = serializers.DateTimeField()
    first_response_due = serializers.DateTimeField(allow_null=True)
    resolution_due = serializers.DateTimeField(allow_null=True)
    next_due = serializers.DateTimeField(allow_null=True)
    first_responded_at = serializers.DateTimeField(allow_null=True)
    sla_paused_at = serializers.DateTimeField(allow_null=True)
    first_response_breached = serializers.BooleanField()
    resolution_breached = serializers.BooleanField()
    assignee_id = serializers.IntegerField(allow_null=True)
    team_id = serializers.IntegerField(allow_null=True)
    customer_id = serializers.IntegerField(allow_null=True)
    customer_name = serializers.CharField()
    waybill_number = serializers.CharField()


class QueueSerializer(serializers.Serializer):
    view = serializers.CharField()
    counts = serializers.DictField(child=serializers.IntegerField(), required=False,
                                   help_text="The tab counts, with counts=true")
    results = QueueRowSerializer(many=True)


class TicketSerializer(serializers.ModelSerializer):
    caller_phone = MaskedField("caller_phone")
    caller_email = MaskedField("caller_email")
    waybill_number = serializers.CharField(source="waybill.number", read_only=True, default="")
    assignee_name = serializers.CharField(source="assignee.user.display_name", read_only=True, default="")
    team_name = serializers.CharField(source="team.name", read_only=True, default="")
    category = category_field(read_only=True)
    channel = named_choice("TicketChannelEnum", TicketChannel.choices, read_only=True)
    priority = priority_field(read_only=True)
    status = status_field(read_only=True)
    exception_kind = named_choice("TicketExceptionKindEnum", ExceptionKind.choices, blank=True, read_only=True,
                                  help_text="Empty for tickets not opened by a shipment exception")

    class Meta:
        model = Ticket
        fields = ["id", "number", "subject", "description", "category", "channel", "priority", "status", "customer",
                  "contact", "caller_name", "caller_phone", "caller_email", "waybill", "waybill_number", "branch",
                  "team", "team_name", "assignee", "assignee_name", "tags", "exception_kind", "external_ref",
                  "sla_policy", "first_response_due", "resolution_due", "first_response_breached",
                  "resolution_breached", "sla_paused_at", "escalation_level", "merged_into", "split_from", "created_at",
                  "first_responded_at", "resolved_at", "closed_at", "updated_at"]
        read_only_fields = fields


class TicketEventSerializer(serializers.ModelSerializer):
    actor_name = serializers.CharField(source="actor.display_name", read_only=True, default="")
    delivery = serializers.SerializerMethodField()
    from_number = serializers.CharField(read_only=True, default="",
                                        help_text="Number of the merged ticket this event comes from; empty: this one")

    class Meta:
        model = TicketEvent
        fields = ["id", "ticket", "kind", "actor", "actor_name", "from_status", "to_status", "body", "data",
                  "created_at", "delivery", "from_number"]
        read_only_fields = fields

    def get_delivery(self, event) -> str | None:
        outbound = getattr(event, "outbound", None)
        return outbound.status if outbound is not None else None


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = TicketAttachment
        fields = ["id", "ticket", "name", "content_type", "size", "sha256", "uploaded_by", "created_at"]
        read_only_fields = fields


class TicketDetailSerializer(TicketSerializer):
    timeline = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField()

    class Meta(TicketSerializer.Meta):
        fields = [*TicketSerializer.Meta.fields, "timeline", "attachments"]
        read_only_fields = fields

    def get_timeline(self, ticket) -> list[dict]:
        from ..selectors.queues import ticket_full_timeline

        return TicketEventSerializer(ticket_full_timeline(ticket=ticket), many=True).data

    def get_attachments(self, ticket) -> list[dict]:
        from ..selectors.queues import ticket_attachments

        return AttachmentSerializer(ticket_attachments(ticket=ticket), many=True).data


class TicketCreateSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=[c for c in TicketChannel.choices if c[0] != "system"],
                                      default=TicketChannel.API)
    category = category_field()
    subject = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    priority = priority_field(default=TicketPriority.NORMAL)
    customer = serializers.IntegerField(required=False, allow_null=True, source="customer_id")
    contact = serializers.IntegerField(required=False, allow_null=True, source="contact_id")
    caller_phone = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    caller_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=80)
    caller_email = serializers.CharField(required=False, allow_blank=True, default="", max_length=254)
    waybill_number = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    branch = serializers.IntegerField(required=False, allow_null=True, source="branch_id")
    team = serializers.IntegerField(required=False, allow_null=True, source="team_id")
    assignee = serializers.IntegerField(required=False, allow_null=True, source="assignee_id")
    tags = serializers.ListField(child=serializers.CharField(max_length=30), required=False, default=list)
    external_ref = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)


class TicketUpdateSerializer(serializers.Serializer):
    category = category_field(required=False)
    priority = priority_field(required=False)
    subject = serializers.CharField(max_length=200, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=30), required=False)
    team = serializers.IntegerField(required=False, allow_null=True, source="team_id")
    customer = serializers.IntegerField(required=False, source="customer_id")
    waybill_number = serializers.CharField(required=False, allow_blank=True, max_length=40)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class TransitionSerializer(serializers.Serializer):
    status = status_field()
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)


class AssignSerializer(serializers.Serializer):
    assignee = serializers.IntegerField()
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class ReplySerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20000)
    stage = stage_field(default=ReplyStage.PROGRESS)
    then_status = status_field(blank=True, required=False, default="",
                               help_text="Move the ticket on after the reply (e.g. waiting_customer, resolved).")
    kb_articles = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)


class NoteSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20000)


class MergeSerializer(serializers.Serializer):
    duplicates = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=20)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class SplitSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    category = category_field(blank=True, required=False, default="")


class MacroApplySerializer(serializers.Serializer):
    macro = serializers.IntegerField()
    body = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)


class InboundSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=[(c, c) for c in ("email", "wechat", "app", "api", "web")])
    external_ref = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    subject = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    body = serializers.CharField(max_length=20000)
    sender_phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    sender_email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    sender_name = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    waybill_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    category = category_field(default=TicketCategory.OTHER)


class InboundResultSerializer(serializers.Serializer):
    ticket = TicketSerializer()
    created = serializers.BooleanField()


class TeamSerializer(serializers.ModelSerializer):
    members = serializers.SerializerMethodField()
    assign_mode = named_choice("AssignModeEnum", AssignMode.choices, read_only=True)

    class Meta:
        model = Team
        fields = ["id", "code", "name", "assign_mode", "lead", "is_active", "members"]
        read_only_fields = fields

    def get_members(self, team) -> list[int]:
        return [m.membership_id for m in team.members.all()]


class TeamWriteSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=30)
    name = serializers.CharField(max_length=80)
    assign_mode = named_choice("AssignModeEnum", AssignMode.choices)
    lead = serializers.IntegerField(required=False, allow_null=True, source="lead_id")
    is_active = serializers.BooleanField(default=True)
    members = serializers.ListField(child=serializers.IntegerField(), required=False, source="member_ids")


class RoutingRuleSerializer(serializers.ModelSerializer):
    category = category_field(blank=True, read_only=True)
    priority = priority_field(blank=True, read_only=True)
    customer_class = named_choice("CustomerClassEnum", CustomerClass.choices, blank=True, read_only=True)

    class Meta:
        model = RoutingRule
        fields = ["id", "position", "name", "category", "priority", "branch", "customer_class", "team", "is_active"]
        read_only_fields = fields


class RoutingRuleWriteSerializer(serializers.Serializer):
    position = serializers.IntegerField(default=100)
    name = serializers.CharField(max_length=80)
    category = category_field(blank=True, required=False, default="")
    priority = priority_field(blank=True, required=False, default="")
    branch = serializers.IntegerField(required=False, allow_null=True, source="branch_id")
    customer_class = named_choice("CustomerClassEnum", CustomerClass.choices, blank=True, required=False, default="")
    team = serializers.IntegerField(source="team_id")
    is_active = serializers.BooleanField(default=True)


class MacroSerializer(serializers.ModelSerializer):
    action = named_choice("MacroActionEnum", MacroAction.choices, read_only=True)
    stage = stage_field(read_only=True)
    set_status = status_field(blank=True, read_only=True)
    set_category = category_field(blank=True, read_only=True)
    set_priority = priority_field(blank=True, read_only=True)

    class Meta:
        model = Macro
        fields = ["id", "name", "action", "stage", "body", "set_status", "set_category", "set_priority", "team",
                  "usage_count", "is_active"]
        read_only_fields = fields


class MacroWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    action = named_choice("MacroActionEnum", MacroAction.choices, default=MacroAction.REPLY)
    stage = stage_field(default=ReplyStage.PROGRESS)
    body = serializers.CharField(max_length=20000)
    set_status = status_field(blank=True, required=False, default="")
    set_category = category_field(blank=True, required=False, default="")
    set_priority = priority_field(blank=True, required=False, default="")
    team = serializers.IntegerField(required=False, allow_null=True, source="team_id")
    is_active = serializers.BooleanField(default=True)


class AwaySerializer(serializers.Serializer):
    away = serializers.BooleanField(help_text="true: skipped by automatic assignment until set back to false")
