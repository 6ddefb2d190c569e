"""A chart's rows as a CSV file: the chart's column labels as the header, the same numbers as the
JSON (aggregates only — no personal data, so no access-log row is written)."""
from __future__ import annotations

from decimal import Decimal

from django.http import HttpResponse

from tenancy.spreadsheets import csv_bytes


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def chart_csv_response(data: dict) -> HttpResponse:
    keys = [column["key"] for column in data["columns"]]
    content = csv_bytes([column["label"] for column in data["columns"]],
                        ([_cell(row.get(key)) for key in keys] for row in data["rows"]))
    filters = data["filters"]
    name = f"{data['chart']}_{filters['start']}_{filters['end']}.csv"
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
