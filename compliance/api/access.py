from rest_framework import mixins, serializers

from compliance.models import AccessLog
from compliance.selectors import access_log_list
from tenancy.api.base import TenantScopedViewSet

from .filters import AccessLogFilter


class AccessLogSerializer(serializers.ModelSerializer):
    actor_username = serializers.CharField(source="actor.username", read_only=True)

    class Meta:
        model = AccessLog
        fields = ["id", "action", "actor", "actor_username", "actor_role", "target_type", "target_id",
                  "target_label", "fields", "reason", "request_id", "ip_address", "export_row_count",
                  "export_file_sha256", "created_at"]
        read_only_fields = fields


class AccessLogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """The personal-data access log (read-only; auditors and tenant admins)."""

    serializer_class = AccessLogSerializer
    read_perm = "compliance.view_access_log"
    write_perm = "compliance.view_access_log"
    filterset_class = AccessLogFilter

    model = AccessLog

    def scoped_queryset(self):
        return access_log_list()


ROUTES = [("access-log", AccessLogViewSet, "access-log")]
