"""Retention tasks API: the work lists (tabs and filters like the page), one task, and recording a
task's outcome. Thin: parse → selector / service → serialize; tasks are opened by the churn scan
only, so there is no create."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from tenancy.api.base import TenantScopedViewSet, parse

from ..models import RetentionAction, RetentionOutcome, RetentionStatus, RetentionTask
from ..selectors import retention as selectors
from ..selectors.retention import RETENTION_TABS
from ..services import retention as services
from .filters import SelectorFilterSet
from .serializers import ChurnStateFields, MemberBriefSerializer

# --- serializers ------------------------------------------------------------------------------


class RetentionCustomerSerializer(ChurnStateFields, serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    name = serializers.CharField(source="display_name")
    kind = serializers.CharField()


class RetentionTeamSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class RetentionTaskSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer = RetentionCustomerSerializer()
    alert_id = serializers.IntegerField()
    raised_on = serializers.DateField(source="alert.raised_on")
    score = serializers.IntegerField(source="alert.score", help_text=_("The risk score when the alert was raised"))
    reasons = serializers.JSONField(source="alert.reasons",
                                    help_text=_('The scan\'s reasons then: [{"code": "volume_drop", …}]'))
    reason_texts = serializers.SerializerMethodField(help_text=_("The reasons said in the reader's language"))
    assignee = MemberBriefSerializer(allow_null=True)
    team = RetentionTeamSerializer(allow_null=True)
    due_date = serializers.DateField()
    suggested_actions = serializers.ListField(child=serializers.ChoiceField(choices=RetentionAction.choices))
    status = serializers.ChoiceField(choices=RetentionStatus.choices)
    outcome = serializers.CharField(allow_blank=True)
    outcome_note = serializers.CharField(allow_blank=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_reason_texts(self, obj) -> list[str]:
        return selectors.reason_sentences(obj.alert.reasons)


class RetentionCloseSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=RetentionOutcome.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, trim_whitespace=True,
                                 help_text=_("Required for lost and no_action"))


# --- filters ----------------------------------------------------------------------------------


class RetentionTaskFilter(SelectorFilterSet):
    tab = filters.ChoiceFilter(choices=[(tab, tab) for tab in RETENTION_TABS],
                               help_text=_("mine (default), team (my teams' queues), open, closed"))
    risk = filters.ChoiceFilter(choices=[("low", "low"), ("medium", "medium"), ("high", "high")],
                                help_text=_("The customer's current churn risk"))
    overdue = filters.BooleanFilter(help_text=_("Only open tasks past their due date"))

    def selector_queryset(self, data):
        return selectors.retention_task_list(
            membership=self.request._request.membership if self.request is not None else None,
            tab=data.get("tab") or "mine", risk=data.get("risk") or "", overdue=bool(data.get("overdue")))


# --- viewset ----------------------------------------------------------------------------------


class RetentionTaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Retention tasks opened by the churn scan for customers newly at high risk."""

    model = RetentionTask
    read_perm = "customers.view_retentiontask"
    write_perm = "customers.work_retention_task"
    serializer_class = RetentionTaskSerializer
    filterset_class = RetentionTaskFilter

    def scoped_queryset(self):
        return selectors.retention_task_list(membership=self.membership, tab="open") if not self.detail else (
            RetentionTask.objects.select_related("customer__churn", "alert", "assignee__user", "team"))

    def filter_queryset(self, queryset):
        if self.detail:
            return queryset
        return super().filter_queryset(queryset)

    @extend_schema(request=RetentionCloseSerializer, responses=RetentionTaskSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None, **kwargs):
        task = self.get_object()
        data = parse(RetentionCloseSerializer, request.data)
        services.retention_task_close(actor=request.user, task=task, outcome=data["outcome"],
                                      note=data.get("note", ""))
        return Response(RetentionTaskSerializer(selectors.retention_task_get(pk=task.pk)).data)
