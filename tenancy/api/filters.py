"""Query filters of the tenancy API. Filters are declared explicitly (not generated from
Meta.fields), because generation reads the model's default manager at import time — outside
any tenant scope, where tenant managers refuse to run."""
import django_filters

from tenancy.models import BranchKind, Role


class BranchFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=BranchKind.choices)
    is_active = django_filters.BooleanFilter()
    parent = django_filters.NumberFilter(field_name="parent_id")


class MembershipFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=Role.choices)
    branch = django_filters.NumberFilter(field_name="branch_id")
    is_active = django_filters.BooleanFilter()
    is_away = django_filters.BooleanFilter()
