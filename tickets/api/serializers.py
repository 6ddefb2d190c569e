"""Shapes of the tickets API. Personal values are masked (reveal through POST /api/v1/pii/reveal/)."""
from __future__ import annotations

from rest_framework import serializers

from shipments.api.serializers import MaskedField

from ..models import (
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
    counts = serializers.DictField(child=serializers.IntegerField())
    results = QueueRowSerializer(many=True)


class TicketSerializer(serializers.ModelSerializer):
    caller_phone = MaskedField("caller_phone")
    caller_email = MaskedField("caller_email")
    waybill_number = serializers.CharField(source="waybill.number", read_only=True, default="")
    assignee_name = serializers.CharField(source="assignee.user.display_name", read_only=True, default="")
    team_name = serializers.CharField(source="team.name", read_only=True, default="")

    class Meta:
        model = Ticket
        fields = ["id", "number", "subject", "description", "category", "channel", "priority", "status", "customer",
                  "contact", "caller_name", "caller_phone", "caller_email", "waybill", "waybill_number", "branch",
                  "team", "team_name", "assignee", "assignee_name", "tags", "exception_kind", "external_ref",
                  "first_response_due", "resolution_due", "first_response_breached", "resolution_breached",
                  "sla_paused_at", "escalation_level", "merged_into", "split_from", "created_at",
                  "first_responded_at", "resolved_at", "closed_at", "updated_at"]
        read_only_fields = fields


class TicketEventSerializer(serializers.ModelSerializer):
    actor_name = serializers.CharField(source="actor.display_name", read_only=True, default="")
    delivery = serializers.SerializerMethodField()

    class Meta:
        model = TicketEvent
        fields = ["id", "ticket", "kind", "actor", "actor_name", "from_status", "to_status", "body", "data",
                  "created_at", "delivery"]
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
    category = serializers.ChoiceField(choices=TicketCategory.choices)
    subject = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    priority = serializers.ChoiceField(choices=TicketPriority.choices, default=TicketPriority.NORMAL)
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
    category = serializers.ChoiceField(choices=TicketCategory.choices, required=False)
    priority = serializers.ChoiceField(choices=TicketPriority.choices, required=False)
    subject = serializers.CharField(max_length=200, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=30), required=False)
    team = serializers.IntegerField(required=False, allow_null=True, source="team_id")
    customer = serializers.IntegerField(required=False, source="customer_id")
    waybill_number = serializers.CharField(required=False, allow_blank=True, max_length=40)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class TransitionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=TicketStatus.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)


class AssignSerializer(serializers.Serializer):
    assignee = serializers.IntegerField()
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class ReplySerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20000)
    stage = serializers.ChoiceField(choices=ReplyStage.choices, default=ReplyStage.PROGRESS)
    then_status = serializers.ChoiceField(choices=TicketStatus.choices, required=False, allow_blank=True, default="")
    kb_articles = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)


class NoteSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20000)


class MergeSerializer(serializers.Serializer):
    duplicates = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=20)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class SplitSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    category = serializers.ChoiceField(choices=TicketCategory.choices, required=False, allow_blank=True, default="")


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
    category = serializers.ChoiceField(choices=TicketCategory.choices, default=TicketCategory.OTHER)


class InboundResultSerializer(serializers.Serializer):
    ticket = TicketSerializer()
    created = serializers.BooleanField()


class TeamSerializer(serializers.ModelSerializer):
    members = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = ["id", "code", "name", "assign_mode", "lead", "is_active", "members"]
        read_only_fields = fields

    def get_members(self, team) -> list[int]:
        return [m.membership_id for m in team.members.all()]


class TeamWriteSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=30)
    name = serializers.CharField(max_length=80)
    assign_mode = serializers.CharField(max_length=12)
    lead = serializers.IntegerField(required=False, allow_null=True, source="lead_id")
    is_active = serializers.BooleanField(default=True)
    members = serializers.ListField(child=serializers.IntegerField(), required=False, source="member_ids")


class RoutingRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = RoutingRule
        fields = ["id", "position", "name", "category", "priority", "branch", "customer_class", "team", "is_active"]
        read_only_fields = fields


class RoutingRuleWriteSerializer(serializers.Serializer):
    position = serializers.IntegerField(default=100)
    name = serializers.CharField(max_length=80)
    category = serializers.CharField(required=False, allow_blank=True, default="", max_length=20)
    priority = serializers.CharField(required=False, allow_blank=True, default="", max_length=10)
    branch = serializers.IntegerField(required=False, allow_null=True, source="branch_id")
    customer_class = serializers.CharField(required=False, allow_blank=True, default="", max_length=12)
    team = serializers.IntegerField(source="team_id")
    is_active = serializers.BooleanField(default=True)


class MacroSerializer(serializers.ModelSerializer):
    class Meta:
        model = Macro
        fields = ["id", "name", "action", "stage", "body", "set_status", "set_category", "set_priority", "team",
                  "usage_count", "is_active"]
        read_only_fields = fields


class MacroWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    action = serializers.ChoiceField(choices=MacroAction.choices, default=MacroAction.REPLY)
    stage = serializers.ChoiceField(choices=ReplyStage.choices, default=ReplyStage.PROGRESS)
    body = serializers.CharField(max_length=20000)
    set_status = serializers.CharField(required=False, allow_blank=True, default="", max_length=20)
    set_category = serializers.CharField(required=False, allow_blank=True, default="", max_length=20)
    set_priority = serializers.CharField(required=False, allow_blank=True, default="", max_length=10)
    team = serializers.IntegerField(required=False, allow_null=True, source="team_id")
    is_active = serializers.BooleanField(default=True)
