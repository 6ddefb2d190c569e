"""Survey API (read-only): the tenant's surveys with masked recipients, newest first, cursor
paginated, filterable by kind, status and score band. Answers come only from the public page."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers

from tenancy.api.base import TenantScopedViewSet, parse
from tenancy.api.pagination import IdCursorPagination
from tenancy.fields import masked

from ..models import Survey, SurveyChannel, SurveyKind, SurveyStatus
from ..selectors import surveys as selectors
from ..selectors.surveys import ScoreBand
from .serializers import named_choice

BANDS = [(ScoreBand.LOW, "low"), (ScoreBand.MIDDLE, "middle"), (ScoreBand.HIGH, "high"), (ScoreBand.NONE, "none")]


class SurveyPagination(IdCursorPagination):
    ordering = ("-created_at", "-id")


class SurveySerializer(serializers.ModelSerializer):
    kind = named_choice("SurveyKindEnum", SurveyKind.choices, read_only=True)
    channel = named_choice("SurveyChannelEnum", SurveyChannel.choices, read_only=True)
    status = named_choice("SurveyStatusEnum", SurveyStatus.choices, read_only=True)
    ticket = serializers.IntegerField(source="ticket_id", allow_null=True, read_only=True)
    ticket_number = serializers.SerializerMethodField()
    waybill = serializers.IntegerField(source="waybill_id", allow_null=True, read_only=True)
    waybill_number = serializers.SerializerMethodField()
    customer = serializers.IntegerField(source="customer_id", allow_null=True, read_only=True)
    branch = serializers.IntegerField(source="branch_id", allow_null=True, read_only=True)
    follow_up_ticket = serializers.IntegerField(source="follow_up_ticket_id", allow_null=True, read_only=True)
    phone = serializers.SerializerMethodField(help_text=_("Masked"))
    email = serializers.SerializerMethodField(help_text=_("Masked"))
    score = serializers.IntegerField(allow_null=True, read_only=True)

    class Meta:
        model = Survey
        fields = ["id", "kind", "channel", "status", "ticket", "ticket_number", "waybill", "waybill_number",
                  "customer", "branch", "phone", "email", "attempts", "last_error", "created_at", "sent_at",
                  "expires_at", "score", "comment", "answered_at", "follow_up_ticket"]
        read_only_fields = fields

    def get_phone(self, obj) -> str:
        return masked(obj, "phone")

    def get_email(self, obj) -> str:
        return masked(obj, "email")

    def get_ticket_number(self, obj) -> str:
        return obj.ticket.number if obj.ticket_id else ""

    def get_waybill_number(self, obj) -> str:
        return obj.waybill.number if obj.waybill_id else ""


class SurveyQuerySerializer(serializers.Serializer):
    kind = named_choice("SurveyKindEnum", SurveyKind.choices, blank=True, required=False, default="")
    status = named_choice("SurveyStatusEnum", SurveyStatus.choices, blank=True, required=False, default="")
    band = named_choice("SurveyScoreBandEnum", BANDS, blank=True, required=False, default="")


@extend_schema_view(
    list=extend_schema(parameters=[
        OpenApiParameter("kind", str, enum=SurveyKind.values),
        OpenApiParameter("status", str, enum=SurveyStatus.values),
        OpenApiParameter("band", str, enum=[b for b, _label in BANDS],
                         description="low: CSAT 1–2 / NPS 0–6; middle: CSAT 3 / NPS 7–8; high: CSAT 4–5 / "
                                     "NPS 9–10; none: not answered")]),
)
class SurveyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Satisfaction surveys (read-only). A branch manager sees their branch subtree's."""

    model = Survey
    read_perm = "tickets.view_survey"
    serializer_class = SurveySerializer
    pagination_class = SurveyPagination
    filter_backends: list = []

    def scoped_queryset(self):
        if self.action != "list":
            return selectors.survey_list(membership=self.membership)
        query = parse(SurveyQuerySerializer, self.request.query_params)
        return selectors.survey_list(membership=self.membership, kind=query["kind"] or None,
                                     status=query["status"] or None, band=query["band"] or None)


def register(router) -> None:
    router.register("surveys", SurveyViewSet, basename="survey")
