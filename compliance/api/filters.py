import django_filters

from compliance.models import AccessAction
from tenancy.api.filters import UtcIsoDateTimeFilter


class AccessLogFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=AccessAction.choices)
    actor = django_filters.NumberFilter(field_name="actor_id")
    target_type = django_filters.CharFilter()
    target_id = django_filters.NumberFilter()
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
