"""The company's keys over the API: their status (versions, ages, wrapping master key id — never
key material) and key rotations (list, retrieve, start). Reading needs compliance.view_compliance,
starting a rotation compliance.manage_keys. Thin: parse → service / selector → serialize."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from tenancy.api.base import TenantScopedViewSet, parse
from tenancy.api.pagination import IdCursorPagination
from tenancy.models import KeyPurpose, TenantKey
from tickets.api.serializers import named_choice

from ..models import JobStatus, KeyRotation, RotationKind
from ..selectors.keys import key_status, rotation_list
from ..services.keys import key_rotation_start


class KeyStatusSerializer(serializers.Serializer):
    purpose = named_choice("KeyPurposeEnum", KeyPurpose.choices, read_only=True)
    label = serializers.CharField(read_only=True)
    version = serializers.IntegerField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True, allow_null=True)
    age_days = serializers.IntegerField(read_only=True, allow_null=True)
    due = serializers.BooleanField(read_only=True, help_text="older than the rotation age")
    rotation_age_days = serializers.IntegerField(read_only=True)
    master_key_id = serializers.CharField(read_only=True, help_text="id (digest prefix) of the wrapping master key")
    master_is_current = serializers.BooleanField(read_only=True)
    other_unretired_versions = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    wrapped_by_retired_master = serializers.IntegerField(read_only=True)


class KeyRotationSerializer(serializers.ModelSerializer):
    kind = named_choice("KeyRotationKindEnum", RotationKind.choices, read_only=True)
    status = named_choice("KeyRotationStatusEnum", JobStatus.choices, read_only=True)
    percent = serializers.IntegerField(read_only=True)
    requested_by_name = serializers.SerializerMethodField()

    class Meta:
        model = KeyRotation
        fields = ["id", "kind", "status", "from_version", "to_version", "rows_done", "rows_total", "percent",
                  "requested_by", "requested_by_name", "reason", "created_at", "started_at", "heartbeat_at",
                  "finished_at", "error"]
        read_only_fields = fields

    def get_requested_by_name(self, rotation) -> str:
        user = rotation.requested_by
        return (user.display_name or user.username) if user else ""


class KeyRotationStartSerializer(serializers.Serializer):
    kind = named_choice("KeyRotationKindEnum", RotationKind.choices)
    reason = serializers.CharField(max_length=300)


class RotationPagination(IdCursorPagination):
    ordering = ("-created_at", "-id")


@extend_schema_view(list=extend_schema(responses=KeyStatusSerializer(many=True)))
class KeyStatusViewSet(mixins.ListModelMixin, TenantScopedViewSet):
    """The company's data and index keys: active version, age, whether rotation is due, and the
    id of the master key wrapping it. Never any key material."""

    model = TenantKey
    read_perm = "compliance.view_compliance"
    write_perm = "compliance.manage_keys"
    serializer_class = KeyStatusSerializer
    pagination_class = None
    filter_backends: list = []

    def scoped_queryset(self):
        return TenantKey.objects.none()

    def list(self, request, *args, **kwargs):
        return Response(KeyStatusSerializer(key_status(), many=True).data)


@extend_schema_view(list=extend_schema(responses=KeyRotationSerializer(many=True)),
                    retrieve=extend_schema(responses=KeyRotationSerializer))
class KeyRotationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Rotations of the company's keys with their progress, newest first. POST starts one (a worker
    runs it after the commit); one open rotation per kind."""

    model = KeyRotation
    read_perm = "compliance.view_compliance"
    write_perm = "compliance.manage_keys"
    serializer_class = KeyRotationSerializer
    pagination_class = RotationPagination
    filter_backends: list = []

    def scoped_queryset(self):
        return rotation_list()

    @extend_schema(request=KeyRotationStartSerializer, responses={201: KeyRotationSerializer})
    def create(self, request, *args, **kwargs):
        data = parse(KeyRotationStartSerializer, request.data)
        rotation = key_rotation_start(actor=request.user, kind=data["kind"], reason=data["reason"])
        rotation = rotation_list().get(pk=rotation.pk)
        return Response(KeyRotationSerializer(rotation).data, status=status.HTTP_201_CREATED)


ROUTES = [
    ("compliance/keys", KeyStatusViewSet, "compliance-keys"),
    ("compliance/key-rotations", KeyRotationViewSet, "compliance-key-rotations"),
]
PATHS = []
