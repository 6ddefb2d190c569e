"""HTML pages of the customer import (upload → dry run → confirm → load, with a polled progress
fragment) and of the customer export. Thin: parse → service → render. Included into the
`customers` URL namespace through `urlpatterns`."""
from __future__ import annotations

import csv
import io

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tenancy.forms import apply_service_errors
from tenancy.throttling import rate_exceeded
from tenancy.views import client_ip, perm_required

from . import exporting, importing
from .forms import CustomerFilterForm
from .models import CustomerImport, ImportKind, ImportStatus
from .selectors import customer_list

IMPORT_PERM = "customers.import_customers"
EXPORT_PERM = "customers.export_customers"


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("The file contains"), choices=ImportKind.choices)
    file = forms.FileField(
        label=gettext_lazy("File"), widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
        help_text=gettext_lazy("CSV (UTF-8 or GB18030) or Excel .xlsx, at most 10 MB and 200,000 rows. The first "
                               "row names the columns, in English or Chinese: see the sample files."))


class ExportForm(forms.Form):
    format = forms.ChoiceField(label=gettext_lazy("Format"), initial="xlsx",
                               choices=[("xlsx", gettext_lazy("Excel (.xlsx)")), ("csv", gettext_lazy("CSV (UTF-8)"))])
    full_data = forms.BooleanField(
        label=gettext_lazy("Include full personal data (phone numbers, emails and names not masked)"),
        required=False)
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=300, required=False,
        help_text=gettext_lazy("Required for full personal data; recorded in the access log."))

    def __init__(self, *args, can_reveal: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_reveal:
            del self.fields["full_data"]

    def clean(self):
        data = super().clean()
        if data.get("full_data") and len((data.get("reason") or "").strip()) < exporting.MIN_REASON:
            self.add_error("reason", _("Say why you need the full personal data (at least %(n)s characters).")
                           % {"n": exporting.MIN_REASON})
        return data


def _import_or_404(pk: int) -> CustomerImport:
    try:
        return importing.customer_import_get(pk=pk)
    except CustomerImport.DoesNotExist as exc:
        raise Http404 from exc


def _error_rows(imp: CustomerImport) -> list[dict]:
    labels = importing.COLUMN_LABELS
    return [{**e, "column_label": labels.get(e.get("column", ""), e.get("column", ""))} for e in imp.errors or []]


STATUS_BADGE = {
    ImportStatus.UPLOADED: "secondary", ImportStatus.VALIDATING: "info", ImportStatus.VALID: "primary",
    ImportStatus.INVALID: "danger", ImportStatus.IMPORTING: "info", ImportStatus.DONE: "success",
    ImportStatus.FAILED: "danger",
}


def _detail_context(imp: CustomerImport) -> dict:
    progress = importing.import_progress(imp)
    progress["badge"] = STATUS_BADGE.get(progress["status"], "secondary")
    return {"imp": imp, "progress": progress, "error_rows": _error_rows(imp),
            "can_confirm": imp.status == ImportStatus.VALID,
            "can_cancel": imp.status in (ImportStatus.UPLOADED, ImportStatus.VALIDATING, ImportStatus.VALID),
            "errors_hidden": max(imp.error_count - len(imp.errors or []), 0)}


@perm_required(IMPORT_PERM)
def import_list(request):
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > importing.MAX_FILE_BYTES:
            form.add_error("file", _("The file is larger than %(mb)s MB: split it into several files.") % {
                "mb": importing.MAX_FILE_BYTES // (1024 * 1024)})
        else:
            try:
                imp = importing.import_create(actor=request.user, kind=form.cleaned_data["kind"],
                                              filename=upload.name, data=upload.read())
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("File received: the rows are being checked."))
                return redirect("customers:import_detail", pk=imp.pk)
    return render(request, "customers/import_list.html", {
        "form": form, "kinds": ImportKind.choices,
        "imports": [{"imp": imp, "badge": STATUS_BADGE.get(imp.status, "secondary")}
                    for imp in importing.customer_import_list()[:30]],
        "max_rows": importing.MAX_ROWS,
    })


@perm_required(IMPORT_PERM)
@require_GET
def import_detail(request, pk: int):
    imp = _import_or_404(pk)
    return render(request, "customers/import_detail.html", _detail_context(imp))


@perm_required(IMPORT_PERM)
@require_GET
def import_progress(request, pk: int):
    imp = _import_or_404(pk)
    return render(request, "customers/_import_progress.html", _detail_context(imp))


@perm_required(IMPORT_PERM)
@require_POST
def import_confirm(request, pk: int):
    imp = _import_or_404(pk)
    try:
        importing.import_confirm(actor=request.user, imp=imp)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Import started."))
    return redirect("customers:import_detail", pk=pk)


@perm_required(IMPORT_PERM)
@require_POST
def import_cancel(request, pk: int):
    imp = _import_or_404(pk)
    try:
        importing.import_cancel(actor=request.user, imp=imp)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Import cancelled; the file was deleted."))
    return redirect("customers:import_detail", pk=pk)


@perm_required(IMPORT_PERM)
@require_GET
def import_template(request, kind: str):
    file_format = request.GET.get("format", "csv")
    if kind not in ImportKind.values or file_format not in ("csv", "xlsx"):
        raise Http404
    rows = importing.template_rows(kind, chinese=(get_language() or "").startswith("zh"))
    if file_format == "csv":
        buffer = io.StringIO(newline="")
        csv.writer(buffer).writerows(rows)
        content = buffer.getvalue().encode("utf-8-sig")
        content_type = "text/csv; charset=utf-8"
    else:
        content = _xlsx(rows)
        content_type = exporting.FORMATS["xlsx"][0]
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="customer-import-{kind}.{file_format}"'
    return response


def _xlsx(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for cell in sheet[2]:
        cell.data_type = "s"  # keep phone numbers and codes as text
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


FILTER_LABELS = {
    "q": gettext_lazy("Search"), "kind": gettext_lazy("Type"), "status": gettext_lazy("Status"),
    "segment": gettext_lazy("Segment"), "tag": gettext_lazy("Tag"), "owner": gettext_lazy("Account manager"),
    "province": gettext_lazy("Province"), "city": gettext_lazy("City"), "churn_risk": gettext_lazy("Churn risk"),
}


def _filter_summary(filter_form: CustomerFilterForm) -> list[tuple[str, str]]:
    summary = []
    for name, label in FILTER_LABELS.items():
        value = filter_form.cleaned_data.get(name)
        if value in (None, ""):
            continue
        field = filter_form.fields[name]
        if isinstance(field, forms.ChoiceField):
            value = dict(field.choices).get(value, value)
        summary.append((label, str(value)))
    return summary


@perm_required(EXPORT_PERM)
def export(request):
    """GET: what will be exported (the list page's filters) and the options; POST: the file."""
    filter_form = CustomerFilterForm(request.GET)
    filters_ok = filter_form.is_valid()
    can_reveal = request.user.has_perm("tenancy.reveal_pii")
    form = ExportForm(request.POST or None, can_reveal=can_reveal)
    status = 200
    if request.method == "POST" and rate_exceeded("export", str(request.user.pk)):
        form.is_valid()
        form.add_error(None, _("Too many exports in a short time. Wait a minute and try again."))
        status = 429
    elif request.method == "POST" and not filters_ok:
        form.is_valid()
        form.add_error(None, _("The list filters are not valid: go back to the list and filter again."))
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = exporting.customer_export(
                actor=request.user, membership=request.membership, filters=filter_form.selector_filters(),
                file_format=data["format"], full_data=bool(data.get("full_data")), reason=data.get("reason", ""),
                request_id=request.request_id, ip_address=client_ip(request))
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            response = HttpResponse(result.content, content_type=result.content_type)
            response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
            response["Cache-Control"] = "no-store"
            return response
    count = customer_list(**filter_form.selector_filters()).count() if filters_ok else 0
    return render(request, "customers/export.html", {
        "form": form, "filters_ok": filters_ok, "summary": _filter_summary(filter_form) if filters_ok else [],
        "count": count, "too_many": count > exporting.EXPORT_MAX_ROWS, "max_rows": exporting.EXPORT_MAX_ROWS,
        "query": request.GET.urlencode(), "can_reveal": can_reveal,
    }, status=status)


urlpatterns = [
    path("customers/import/", import_list, name="import_list"),
    path("customers/import/<int:pk>/", import_detail, name="import_detail"),
    path("customers/import/<int:pk>/progress/", import_progress, name="import_progress"),
    path("customers/import/<int:pk>/confirm/", import_confirm, name="import_confirm"),
    path("customers/import/<int:pk>/cancel/", import_cancel, name="import_cancel"),
    path("customers/import/template/<str:kind>/", import_template, name="import_template"),
    path("customers/export/", export, name="export"),
]
