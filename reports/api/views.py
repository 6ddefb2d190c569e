"""The dashboards API (/api/v1/reports/<chart>/ and /api/v1/reports/<chart>/csv/): each chart's
numbers under the date-range and branch filter, as JSON or as a CSV file. Thin: parse the filter
(the page's form) → reports.selectors.chart_data → serialize."""
from __future__ import annotations

from decimal import Decimal

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from tenancy.api.permissions import IsTenantMember

from ..exporting import chart_csv_response
from ..forms import DashboardFilterForm
from ..selectors import CHARTS, chart_data


class ColumnSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()


class FiltersSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    branch = serializers.IntegerField(allow_null=True)


class ChartSerializer(serializers.Serializer):
    chart = serializers.CharField()
    title = serializers.CharField()
    filters = FiltersSerializer()
    columns = ColumnSerializer(many=True)
    rows = serializers.ListField(child=serializers.DictField(allow_empty=True))
    plot = serializers.DictField()


FILTER_PARAMETERS = [
    OpenApiParameter("chart", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(CHARTS)),
    OpenApiParameter("start", OpenApiTypes.DATE, description="first day (default: six months back)"),
    OpenApiParameter("end", OpenApiTypes.DATE, description="last day, included (default: today)"),
    OpenApiParameter("branch", OpenApiTypes.INT, description="a branch id: its subtree only"),
]


class ChartView(APIView):
    """One dashboard chart. Executives: the company; branch managers: their subtree (asking for
    a branch outside it is a 400 on `branch`); auditors: the fines chart only."""

    permission_classes = [IsTenantMember]

    def chart_data(self, request, chart: str) -> dict:
        found = CHARTS.get(chart)
        if found is None:
            raise Http404
        if not request.user.has_perm(found.perm):
            raise PermissionDenied
        membership = request._request.membership
        form = DashboardFilterForm(request.query_params, membership=membership)
        if not form.is_valid():
            raise ValidationError({key: [str(e) for e in errors] for key, errors in form.errors.items()})
        return chart_data(found, form.filters(), actor=request.user, membership=membership)

    @extend_schema(parameters=FILTER_PARAMETERS, responses=ChartSerializer)
    def get(self, request, chart: str, *args, **kwargs):
        data = self.chart_data(request, chart)
        # Money and rates as exact decimal strings (the CSV's text), never binary floats.
        data["rows"] = [{key: format(value, "f") if isinstance(value, Decimal) else value
                         for key, value in row.items()} for row in data["rows"]]
        return Response(ChartSerializer(data).data)


class ChartCsvView(ChartView):
    """The same chart's rows as a CSV file (UTF-8 with BOM, the column labels as the header)."""

    @extend_schema(parameters=FILTER_PARAMETERS,
                   responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="CSV file")})
    def get(self, request, chart: str, *args, **kwargs):
        return chart_csv_response(self.chart_data(request, chart))
