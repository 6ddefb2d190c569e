"""Query filters of the tenancy API. Filters are declared explicitly (not generated from
Meta.fields), because generation reads the model's default manager at import time — outside
any tenant scope, where tenant managers refuse to run."""
from datetime import UTC

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from tenancy.models import BranchKind, Role


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date-time converted to UTC before it reaches SQL: PostgreSQL refuses odd
    offsets (e.g. -23:09) that Python accepts."""

    def clean(self, value):
        value = super().clean(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise forms.ValidationError(_("Enter a date-time between the years 1 and 9999.")) from exc


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class BranchFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=BranchKind.choices)
    is_active = django_filters.BooleanFilter()
    parent = django_filters.NumberFilter(field_name="parent_id")


class MembershipFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=Role.choices)
    branch = django_filters.NumberFilter(field_name="branch_id")
    is_active = django_filters.BooleanFilter()
    is_away = django_filters.BooleanFilter()
