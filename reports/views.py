"""The dashboards page (/reports/): the filter and one section per chart this member may see.
The numbers are not rendered here: each section's chart and fallback table are filled by
static/js/reports.js from the chart's JSON endpoint, and its CSV link is the same endpoint's
export with the same filter."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from .forms import DashboardFilterForm
from .permissions import can_view_any
from .selectors import charts_for


@login_required
def dashboards(request):
    if not can_view_any(request.user):
        raise PermissionDenied
    form = DashboardFilterForm(request.GET or None, membership=request.membership)
    status = 200
    sections = []
    if request.GET and not form.is_valid():
        status = 400
    else:
        if not request.GET:
            form = DashboardFilterForm({}, membership=request.membership)
            form.is_valid()
        filters = form.filters()
        query = "?" + urlencode({key: value for key, value in filters.as_dict().items() if value is not None})
        for chart in charts_for(request.user):
            sections.append({"chart": chart, "data_url": reverse("api-reports-chart", args=[chart.key]) + query,
                             "csv_url": reverse("api-reports-chart-csv", args=[chart.key]) + query})
    return render(request, "reports/dashboards.html", {"form": form, "sections": sections}, status=status)
