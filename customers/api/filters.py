"""Query filters of the customers API.

Declared explicitly (never generated from Meta.fields: generation reads the tenant manager at
import time, outside any scope). Each FilterSet validates and documents its parameters, then
hands the cleaned values to the app's selector, so the API filters exactly like the pages do:
`filter_queryset` returns the selector's queryset (the view's unfiltered queryset is that same
selector called without filters)."""
from __future__ import annotations

from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tenancy.api.base import MAX_ID

from .. import regions, selectors
from ..models import (
    ContractStatus,
    CustomerKind,
    CustomerStatus,
    DuplicateReason,
    DuplicateStatus,
    LeadStatus,
    OpportunityStage,
)
from ..rules import SEGMENT_CODES


@extend_schema_field(serializers.IntegerField(min_value=1, max_value=MAX_ID))
class IdFilter(filters.NumberFilter):
    """The id of a related row: a whole number in bigint range (anything else is a 400)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


@extend_schema_field(serializers.IntegerField(min_value=0, max_value=3650))
class DaysFilter(filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", 3650)
        super().__init__(*args, **kwargs)


def _canonical_province(value: str) -> str:
    try:
        return regions.normalize_province(value) or value
    except ValidationError:
        return value


def _canonical_city(province: str, value: str) -> str:
    if not province:
        return value
    try:
        return regions.normalize_city(province, value) or value
    except ValidationError:
        return value


class SelectorFilterSet(filters.FilterSet):
    """A FilterSet whose filtering is done by one selector call with all cleaned values."""

    def selector_queryset(self, data: dict):
        raise ImproperlyConfigured(f"{type(self).__name__} must define selector_queryset() with a selector")

    def filter_queryset(self, queryset):
        return self.selector_queryset(self.form.cleaned_data)


class CustomerFilter(SelectorFilterSet):
    q = filters.CharFilter(max_length=100, help_text=_("Exact phone number, customer number, or part of the name"))
    kind = filters.ChoiceFilter(choices=CustomerKind.choices)
    status = filters.ChoiceFilter(choices=CustomerStatus.choices)
    segment = filters.ChoiceFilter(choices=[(code, code) for code in SEGMENT_CODES])
    tag = IdFilter()
    owner = IdFilter(help_text=_("Membership id of the account manager"))
    province = filters.CharFilter(max_length=40)
    city = filters.CharFilter(max_length=40)
    churn_risk = filters.ChoiceFilter(choices=[("low", "low"), ("medium", "medium"), ("high", "high")])

    def selector_queryset(self, data):
        province = _canonical_province(data.get("province") or "")
        return selectors.customer_list(
            search=data.get("q") or "", kind=data.get("kind") or "", status=data.get("status") or "",
            segment=data.get("segment") or "", tag_id=data.get("tag"), owner_id=data.get("owner"),
            province=province, city=_canonical_city(province, data.get("city") or ""),
            churn_risk=data.get("churn_risk") or "")


class ContactFilter(SelectorFilterSet):
    customer = IdFilter()

    def selector_queryset(self, data):
        qs = self.queryset
        if data.get("customer"):
            qs = qs.filter(customer_id=data["customer"])
        return qs


class DuplicateFilter(SelectorFilterSet):
    status = filters.ChoiceFilter(choices=DuplicateStatus.choices, help_text=_("Default: open"))
    reason = filters.ChoiceFilter(choices=DuplicateReason.choices)

    def selector_queryset(self, data):
        return selectors.duplicate_queue(status=data.get("status") or DuplicateStatus.OPEN,
                                         reason=data.get("reason") or "")


class MergeFilter(SelectorFilterSet):
    customer = IdFilter(help_text=_("Merges into this surviving customer"))

    def selector_queryset(self, data):
        qs = selectors.merge_history()
        if data.get("customer"):
            qs = qs.filter(survivor_id=data["customer"])
        return qs


class ContractFilter(SelectorFilterSet):
    customer = IdFilter()
    status = filters.ChoiceFilter(choices=[*ContractStatus.choices, ("expired", _("Expired (active, past its end)"))])
    expiring_within_days = DaysFilter(help_text=_("Active contracts ending within this many days"))
    owner = IdFilter(help_text=_("Membership id of the account manager"))

    def selector_queryset(self, data):
        return selectors.contract_list(
            customer_id=data.get("customer"), status=data.get("status") or "", owner_id=data.get("owner"),
            expiring_within_days=data.get("expiring_within_days"))


class LeadFilter(SelectorFilterSet):
    status = filters.ChoiceFilter(choices=LeadStatus.choices)
    owner = IdFilter(help_text=_("Membership id of the owner"))
    unassigned = filters.BooleanFilter()
    open = filters.BooleanFilter(help_text=_("Only leads not yet qualified or disqualified"))
    q = filters.CharFilter(max_length=100, help_text=_("Part of the company name"))

    def selector_queryset(self, data):
        return selectors.lead_list(
            actor=self.request.user, status=data.get("status") or "", owner_id=data.get("owner"),
            search=data.get("q") or "", unassigned=bool(data.get("unassigned")), open_only=bool(data.get("open")))


class OpportunityFilter(SelectorFilterSet):
    stage = filters.ChoiceFilter(choices=OpportunityStage.choices)
    owner = IdFilter(help_text=_("Membership id of the owner"))
    customer = IdFilter()
    open = filters.BooleanFilter(help_text=_("Only deals in an open stage"))
    q = filters.CharFilter(max_length=100, help_text=_("Part of the deal's name"))

    def selector_queryset(self, data):
        return selectors.opportunity_list(
            actor=self.request.user, stage=data.get("stage") or "", owner_id=data.get("owner"),
            customer_id=data.get("customer"), open_only=bool(data.get("open")), search=data.get("q") or "")


class ActivityFilter(SelectorFilterSet):
    lead = IdFilter()
    opportunity = IdFilter()
    customer = IdFilter()
    due = filters.ChoiceFilter(
        choices=[("overdue", _("Overdue")), ("today", _("Due today")), ("upcoming", _("Due in the next 7 days"))],
        help_text=_("The caller's own open next actions"))

    def selector_queryset(self, data):
        # self.queryset is already restricted to what the caller may see (ActivityViewSet).
        qs = self.queryset
        for name in ("lead", "opportunity", "customer"):
            if data.get(name):
                qs = qs.filter(**{f"{name}_id": data[name]})
        if data.get("due"):
            due = selectors.followups_due(membership=self.request._request.membership)[data["due"]]
            qs = qs.filter(pk__in=[a.pk for a in due])
        return qs
