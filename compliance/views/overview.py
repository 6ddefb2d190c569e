"""The compliance overview (auditors and tenant admins): open data-subject requests by clock,
retention's last run per data class, key ages, incidents, and reveal / export volumes by person
over the last 30 days, with links to each area's page."""
from django.shortcuts import render
from django.urls import path

from tenancy.views import perm_required

from ..models import IncidentSeverity
from ..selectors.overview import compliance_overview


@perm_required("compliance.view_compliance")
def overview(request):
    summary = compliance_overview()
    incidents = summary["incidents"]
    severities = [(value, label, incidents["open_by_severity"].get(value, 0))
                  for value, label in IncidentSeverity.choices]
    return render(request, "compliance/overview.html", {**summary, "severities": severities})


urlpatterns = [
    path("", overview, name="overview"),
]
