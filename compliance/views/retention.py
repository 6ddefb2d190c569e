"""Retention: the policy of each data class (changed on the business-rules page), the runs of the
daily job with what each did per class, and the tenant admin's "run now"."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenancy.views import perm_required

from ..models import RetentionRun
from ..selectors.retention import (
    retention_open_run,
    retention_policies,
    retention_run_get,
    retention_runs,
    run_class_rows,
)
from ..services.retention import retention_request

PAGE_SIZE = 20


def _run_or_404(pk: int) -> RetentionRun:
    try:
        return retention_run_get(pk=pk)
    except RetentionRun.DoesNotExist as exc:
        raise Http404 from exc


@perm_required("compliance.view_compliance")
def retention(request):
    page = Paginator(retention_runs(), PAGE_SIZE).get_page(request.GET.get("page"))
    runs = [{"run": run, "classes": run_class_rows(run)} for run in page.object_list]
    return render(request, "compliance/retention.html", {
        "policies": retention_policies(), "page": page, "runs": runs, "open_run": retention_open_run(),
        "can_run": request.user.has_perm("compliance.run_retention"),
        "can_change_rules": request.user.has_perm("tenancy.manage_rules"),
    })


@perm_required("compliance.run_retention")
@require_POST
def retention_start(request):
    try:
        run = retention_request(actor=request.user)
    except ValidationError as exc:
        for text in exc.message_dict.get("run", []) or exc.messages:
            messages.error(request, text)
        return redirect("compliance:retention")
    messages.success(request, _("Retention run queued: this page shows its progress."))
    return redirect("compliance:retention_run", pk=run.pk)


@perm_required("compliance.view_compliance")
def retention_run_detail(request, pk: int):
    run = _run_or_404(pk)
    return render(request, "compliance/retention_run.html", {"run": run, "classes": run_class_rows(run)})


@perm_required("compliance.view_compliance")
def retention_run_panel(request, pk: int):
    """The run's status and per-class results alone (htmx polls it while the run is open)."""
    run = _run_or_404(pk)
    return render(request, "compliance/retention_run_panel.html", {"run": run, "classes": run_class_rows(run)})


urlpatterns = [
    path("retention/", retention, name="retention"),
    path("retention/run/", retention_start, name="retention_start"),
    path("retention/runs/<int:pk>/", retention_run_detail, name="retention_run"),
    path("retention/runs/<int:pk>/panel/", retention_run_panel, name="retention_run_panel"),
]
