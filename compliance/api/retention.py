"""Retention API: the runs of the retention job (POST = "run now": a queued run a worker picks up
after the commit) and the policy of each data class (read-only: periods are business rules)."""
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance.models import RetentionRun
from compliance.selectors.retention import (
    DATA_CLASS_KEYS,
    UNIT_LABELS,
    retention_policies,
    retention_runs,
    run_class_rows,
)
from compliance.services.retention import retention_request
from tenancy.api.base import TenantScopedViewSet
from tenancy.api.pagination import IdCursorPagination
from tenancy.api.permissions import RolePermission

CLASS_CHOICES = [(key, key) for key in DATA_CLASS_KEYS]
UNIT_CHOICES = [(unit, unit) for unit in UNIT_LABELS]


class RetentionClassResultSerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=CLASS_CHOICES)
    label = serializers.CharField()
    status = serializers.ChoiceField(choices=[(s, s) for s in ("running", "done", "failed", "off")])
    period = serializers.IntegerField(allow_null=True)
    unit = serializers.ChoiceField(choices=UNIT_CHOICES)
    applied_period = serializers.IntegerField(allow_null=True,
                                              help_text="The period applied (a floor may raise it).")
    floored = serializers.BooleanField(help_text="The period was below the legal minimum and applied as that.")
    version = serializers.CharField(help_text='The day the company\'s setting took effect, or "default".')
    cutoff = serializers.DateTimeField(allow_null=True)
    rows = serializers.IntegerField()
    batches = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True)


class RetentionRunSerializer(serializers.ModelSerializer):
    requested_by_username = serializers.CharField(source="requested_by.username", read_only=True,
                                                  default=None, allow_null=True)
    classes = serializers.SerializerMethodField()

    class Meta:
        model = RetentionRun
        fields = ["id", "status", "trigger", "requested_by", "requested_by_username", "rows_affected",
                  "started_at", "finished_at", "error", "classes"]
        read_only_fields = fields

    @extend_schema_field(RetentionClassResultSerializer(many=True))
    def get_classes(self, run) -> list:
        return RetentionClassResultSerializer(run_class_rows(run), many=True).data


class RetentionPolicySerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=CLASS_CHOICES)
    label = serializers.CharField()
    action = serializers.CharField()
    rule_key = serializers.CharField(help_text="The business rule that holds the period.")
    period = serializers.IntegerField(help_text="0 = switched off.")
    unit = serializers.ChoiceField(choices=UNIT_CHOICES)
    applied_period = serializers.IntegerField()
    floored = serializers.BooleanField()
    version = serializers.CharField(help_text='The day the company\'s setting took effect, or "default".')
    since = serializers.DateField(allow_null=True)
    cutoff = serializers.DateTimeField(allow_null=True, help_text="Rows older than this are due (null: off).")


class RetentionRunPagination(IdCursorPagination):
    ordering = ("-started_at", "-id")


@extend_schema_view(list=extend_schema(responses=RetentionRunSerializer(many=True)),
                    retrieve=extend_schema(responses=RetentionRunSerializer))
class RetentionRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Runs of the retention job and what each did per data class, newest first. POST queues a run
    ("run now"); refused with 400 on `run` while another run is queued or running."""

    model = RetentionRun
    read_perm = "compliance.view_compliance"
    write_perm = "compliance.run_retention"
    serializer_class = RetentionRunSerializer
    pagination_class = RetentionRunPagination
    filter_backends: list = []

    def scoped_queryset(self):
        return retention_runs()

    @extend_schema(request=None, responses={201: RetentionRunSerializer})
    def create(self, request, *args, **kwargs):
        run = retention_request(actor=request.user)
        return Response(RetentionRunSerializer(retention_runs().get(pk=run.pk)).data, status=status.HTTP_201_CREATED)


class RetentionPolicyListView(APIView):
    """Each data class's retention policy in force today. Periods are business rules: change them
    through the rules (tenant admin)."""

    permission_classes = [RolePermission]
    read_perm = "compliance.view_compliance"
    write_perm = "compliance.run_retention"

    @extend_schema(responses=RetentionPolicySerializer(many=True))
    def get(self, request, *args, **kwargs):
        return Response(RetentionPolicySerializer(retention_policies(), many=True).data)


ROUTES = [("compliance/retention-runs", RetentionRunViewSet, "compliance-retention-runs")]
PATHS = [path("compliance/retention-policies/", RetentionPolicyListView.as_view(),
              name="compliance-retention-policies")]
