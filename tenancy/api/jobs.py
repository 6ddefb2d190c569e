"""Background jobs API: each periodic job with this company's state of its tenant tasks
(`/jobs/`), and the company's failed tasks (`/dead-letters/`) with "retry" and "dismiss"."""
from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from tenancy.api.base import TenantScopedViewSet, parse
from tenancy.api.pagination import IdCursorPagination
from tenancy.api.permissions import RolePermission
from tenancy.jobs import DeadLetterResolution
from tenancy.models import DeadLetter, JobOutcome
from tenancy.selectors_jobs import dead_letter_list, job_rows
from tenancy.services import dead_letter_dismiss, dead_letter_retry


class TaskRunSerializer(serializers.Serializer):
    task = serializers.CharField()
    outcome = serializers.ChoiceField(choices=[("", "not run yet"), *JobOutcome.choices], allow_blank=True)
    last_started_at = serializers.DateTimeField(source="state.last_started_at", default=None, allow_null=True)
    last_finished_at = serializers.DateTimeField(source="state.last_finished_at", default=None, allow_null=True)
    last_duration_ms = serializers.IntegerField(source="state.last_duration_ms", default=None, allow_null=True)
    last_detail = serializers.CharField(source="state.last_detail", default="", allow_blank=True)
    last_success_at = serializers.DateTimeField(source="state.last_success_at", default=None, allow_null=True)
    last_failure_at = serializers.DateTimeField(source="state.last_failure_at", default=None, allow_null=True)
    runs = serializers.IntegerField(source="state.runs", default=0)
    failures = serializers.IntegerField(source="state.failures", default=0)


class JobRowSerializer(serializers.Serializer):
    key = serializers.CharField(source="job.key", help_text="The beat schedule entry.")
    label = serializers.CharField(source="job.label")
    description = serializers.CharField(source="job.description", allow_blank=True)
    schedule = serializers.CharField(source="job.schedule_text", help_text="The schedule in words.")
    next_run = serializers.DateTimeField()
    failures = serializers.IntegerField(help_text="Failed runs of the job's tasks in this company.")
    tasks = TaskRunSerializer(many=True)


class JobListView(APIView):
    """Every periodic job that works on this company's data, with the last run of each of its
    tasks here and the job's next run."""

    permission_classes = [RolePermission]
    read_perm = "tenancy.view_jobs"
    write_perm = "tenancy.change_deadletter"

    @extend_schema(responses=JobRowSerializer(many=True))
    def get(self, request, *args, **kwargs):
        return Response(JobRowSerializer(job_rows(), many=True).data)


class DeadLetterSerializer(serializers.ModelSerializer):
    resolution = serializers.ChoiceField(choices=DeadLetterResolution.choices, allow_blank=True, read_only=True)
    resolved_by_username = serializers.CharField(source="resolved_by.username", read_only=True,
                                                 default=None, allow_null=True)

    class Meta:
        model = DeadLetter
        fields = ["id", "task", "task_id", "args", "kwargs", "error_type", "error", "attempts", "created_at",
                  "resolved_at", "resolved_by", "resolved_by_username", "resolution"]
        read_only_fields = fields


class DeadLetterQuerySerializer(serializers.Serializer):
    open = serializers.BooleanField(required=False, allow_null=True, default=None,
                                    help_text="true: not yet handled only; false: handled only.")


class DeadLetterPagination(IdCursorPagination):
    ordering = ("-created_at", "-id")


@extend_schema_view(
    list=extend_schema(parameters=[OpenApiParameter("open", bool, description="true: open only; false: handled only")],
                       responses=DeadLetterSerializer(many=True)),
    retrieve=extend_schema(responses=DeadLetterSerializer))
class DeadLetterViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Tasks that failed on their last try, newest first. `retry` sends one again with its
    arguments (after the commit); `dismiss` closes it; either answers 400 on one already handled."""

    model = DeadLetter
    read_perm = "tenancy.view_jobs"
    write_perm = "tenancy.change_deadletter"
    serializer_class = DeadLetterSerializer
    pagination_class = DeadLetterPagination
    filter_backends: list = []

    def scoped_queryset(self):
        letters = dead_letter_list()
        if self.action == "list":
            is_open = parse(DeadLetterQuerySerializer, self.request.query_params)["open"]
            if is_open is not None:
                letters = letters.filter(resolved_at__isnull=is_open)
        return letters

    def _resolve(self, service):
        letter = service(actor=self.request.user, dead_letter=self.get_object())
        return Response(DeadLetterSerializer(dead_letter_list().get(pk=letter.pk)).data)

    @extend_schema(request=None, responses=DeadLetterSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, *args, **kwargs):
        return self._resolve(dead_letter_retry)

    @extend_schema(request=None, responses=DeadLetterSerializer)
    @action(detail=True, methods=["post"])
    def dismiss(self, request, *args, **kwargs):
        return self._resolve(dead_letter_dismiss)


ROUTES = [("dead-letters", DeadLetterViewSet, "dead-letter")]
PATHS = [path("jobs/", JobListView.as_view(), name="api-jobs")]
