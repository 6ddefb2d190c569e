import django_filters

from compliance.models import AccessAction


class AccessLogFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=AccessAction.choices)
    actor = django_filters.NumberFilter(field_name="actor_id")
    target_type = django_filters.CharFilter()
    target_id = django_filters.NumberFilter()
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
