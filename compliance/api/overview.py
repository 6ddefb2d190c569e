"""The compliance overview API (/api/v1/compliance/overview/): the same summary as the page —
open requests by clock, retention's last run per data class, key ages, incidents, and reveal /
export volumes per person over the last 30 days."""
from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance.selectors.overview import compliance_overview
from tenancy.api.permissions import RolePermission


class NextDueSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    kind = serializers.CharField()
    clock = serializers.CharField()
    due_at = serializers.DateTimeField()
    owner = serializers.IntegerField(source="owner_id", allow_null=True)


class RequestsSummarySerializer(serializers.Serializer):
    open = serializers.IntegerField()
    overdue = serializers.IntegerField()
    at_risk = serializers.IntegerField()
    on_track = serializers.IntegerField()
    by_kind = serializers.DictField(child=serializers.IntegerField())
    next_due = NextDueSerializer(many=True)


class RetentionClassSummarySerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    last_run_at = serializers.DateTimeField(allow_null=True)
    last_run_rows = serializers.IntegerField(allow_null=True)
    last_run_status = serializers.CharField(allow_null=True)


class KeySummarySerializer(serializers.Serializer):
    purpose = serializers.CharField()
    label = serializers.CharField()
    version = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField(allow_null=True)
    age_days = serializers.IntegerField(allow_null=True)
    due = serializers.BooleanField()
    rotation_age_days = serializers.IntegerField()
    master_is_current = serializers.BooleanField()


class IncidentSummarySerializer(serializers.Serializer):
    open_total = serializers.IntegerField()
    open_by_severity = serializers.DictField(child=serializers.IntegerField())
    authority_overdue = serializers.IntegerField()


class AccessVolumeSerializer(serializers.Serializer):
    actor = serializers.IntegerField(source="actor_id")
    username = serializers.CharField(source="actor__username")
    display_name = serializers.CharField(source="actor__display_name")
    reveals = serializers.IntegerField()
    exports = serializers.IntegerField()
    total = serializers.IntegerField()


class OverviewSerializer(serializers.Serializer):
    requests = RequestsSummarySerializer()
    retention = RetentionClassSummarySerializer(many=True)
    keys = KeySummarySerializer(many=True)
    incidents = IncidentSummarySerializer()
    access_days = serializers.IntegerField()
    access = AccessVolumeSerializer(many=True)


class OverviewView(APIView):
    """The compliance overview (auditors and tenant admins)."""

    permission_classes = [RolePermission]
    read_perm = "compliance.view_compliance"
    write_perm = "compliance.view_compliance"

    @extend_schema(responses=OverviewSerializer)
    def get(self, request, *args, **kwargs):
        summary = compliance_overview()
        retention = []
        for item in summary["retention"]["classes"]:
            last = item["last"] or {}
            retention.append({"key": item["key"], "label": str(item["label"]), "last_run_at": last.get("at"),
                              "last_run_rows": last.get("rows"), "last_run_status": last.get("status")})
        return Response(OverviewSerializer({**summary, "retention": retention}).data)


ROUTES = []
PATHS = [path("compliance/overview/", OverviewView.as_view(), name="compliance-overview")]
