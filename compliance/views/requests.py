"""Data-subject request pages: the queue with its clocks, registering a request (front-line staff),
and the request page — the facts (personal values masked), clock, owner, identity check,
timeline and the handler's actions for the request's kind. Every action on the request page is
a POST with `action=<name>`; an error re-renders the page with what was typed kept (400, or 403
when the service refuses the person). Auditors see everything and no action forms.

The access export is built by a worker; its panel polls with htmx while the job runs and offers
the one download to the handler. Thin: parse → service / selector → redirect."""
from __future__ import annotations

import datetime as dt
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Q, Value, When
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenancy.forms import apply_service_errors
from tenancy.views import client_ip, perm_required, run_page_action

from ..forms.requests import (
    AssignForm,
    CloseForm,
    CorrectionForm,
    DsrFilterForm,
    DsrRegisterForm,
    EraseForm,
    LinkCustomerForm,
    NoteForm,
    ObjectionForm,
    VerifyIdentityForm,
)
from ..models import DsrExport, DsrKind, DsrStatus, JobStatus
from ..models.requests import DSR_OPEN_STATUSES
from ..rules import DSR_EXPORT_VALID_DAYS
from ..selectors.requests import Clock, dsr_events, dsr_exports, dsr_get, dsr_list
from ..services import requests as services
from ..subject import labelled_sections

PAGE_SIZE = 50
QUEUE_PERMS = ("compliance.view_compliance", "compliance.handle_dsr")

EVENT_LABELS = {
    "received": gettext_lazy("Request received"),
    "assigned": gettext_lazy("Owner assigned"),
    "customer_linked": gettext_lazy("Customer record linked"),
    "status": gettext_lazy("Status changed"),
    "note": gettext_lazy("Note"),
    "export_requested": gettext_lazy("Export requested"),
    "export_ready": gettext_lazy("Export ready"),
    "export_downloaded": gettext_lazy("Export downloaded"),
    "corrected": gettext_lazy("Record corrected"),
    "erased": gettext_lazy("Personal data anonymised"),
    "objection_applied": gettext_lazy("Objection applied"),
}


def can_see_queue(user) -> bool:
    return any(user.has_perm(perm) for perm in QUEUE_PERMS)


def queue_perm_required(view):
    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not can_see_queue(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)
    return wrapped


def visible_request(user, pk: int):
    """The request if this person may see it: compliance staff any, a front-line colleague the
    ones they registered (another's is 404, like another company's)."""
    if not (can_see_queue(user) or user.has_perm("compliance.register_dsr")):
        raise PermissionDenied
    dsr = dsr_get(pk=pk)
    if not can_see_queue(user) and dsr.created_by_id != user.pk:
        raise Http404
    return dsr


def customer_by_number(number: str, field: str = "customer_number"):
    """A customer of this company by its number (a merged record leads to its survivor), or a
    field error."""
    from customers.models import Customer

    number = (number or "").strip().upper()
    if not number:
        return None
    customer = Customer.objects.filter(number=number).select_related("merged_into").first()
    if customer is None:
        raise ValidationError({field: _("No customer with this number.")})
    return customer.merged_into or customer


def with_days_left(dsr):
    """Calendar days to the due date (negative when late), for the clock badge."""
    dsr.days_left = (timezone.localtime(dsr.due_at).date() - timezone.localdate()).days
    dsr.days_late = -dsr.days_left
    return dsr


# --- the queue -----------------------------------------------------------------------------------

@queue_perm_required
def dsr_queue(request):
    form = DsrFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    status = filters.get("status") or ""
    owner = filters.get("owner")
    qs = dsr_list(status="" if status in ("", "all") else status, kind=filters.get("kind") or "",
                  clock=filters.get("clock") or "", owner_id=owner.pk if owner else None,
                  number=filters.get("number") or "", open_only=status == "")
    # Open requests first, by due date; closed ones after them.
    qs = qs.alias(closed_last=Case(When(~Q(status__in=DSR_OPEN_STATUSES), then=Value(1)), default=Value(0),
                                   output_field=IntegerField())).order_by("closed_last", "due_at", "id")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page:
        with_days_left(row)
    return render(request, "compliance/dsr_list.html", {"form": form, "page": page, "Clock": Clock})


# --- registering ---------------------------------------------------------------------------------

@perm_required("compliance.register_dsr")
def dsr_new(request):
    form = DsrRegisterForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                dsr = services.dsr_register(
                    actor=request.user, kind=data["kind"], regime=data["regime"], channel=data["channel"],
                    subject_name=data["subject_name"], subject_phone=data["subject_phone"],
                    subject_email=data["subject_email"], subject_id_number=data["subject_id_number"],
                    details=data["details"], received_at=data["received_at"],
                    customer=customer_by_number(data["customer_number"]))
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc) or _("You do not have permission to do this."))
                status = 403
            else:
                messages.success(request, _("Request %(number)s registered; it is due %(due)s.") % {
                    "number": dsr.number, "due": timezone.localtime(dsr.due_at).strftime("%Y-%m-%d")})
                return redirect("compliance:dsr_page", dsr.pk)
        status = status if status == 403 else 400
    return render(request, "compliance/dsr_new.html", {"form": form}, status=status)


# --- the request page ------------------------------------------------------------------------------

ACTIONS = {"assign": AssignForm, "link": LinkCustomerForm, "verify": VerifyIdentityForm, "note": NoteForm,
           "export": None, "correct": CorrectionForm, "erase": EraseForm, "object": ObjectionForm,
           "close": CloseForm}


def export_handler_id(dsr, export: DsrExport) -> int:
    """Who may download an export (as the service decides): the request's owner, or whoever asked
    for the export when the request has no owner."""
    return dsr.owner.user_id if dsr.owner_id else export.requested_by_id


def exports_context(user, dsr) -> dict:
    exports = list(dsr_exports(dsr))
    valid_from = timezone.now() - dt.timedelta(days=DSR_EXPORT_VALID_DAYS.value())
    handler = user.has_perm("compliance.handle_dsr")
    for export in exports:
        export.is_running = export.status in (JobStatus.QUEUED, JobStatus.RUNNING)
        export.expired = bool(export.finished_at and export.finished_at < valid_from)
        export.can_download = (handler and export.status == JobStatus.DONE and export.downloaded_at is None
                               and not export.expired and export_handler_id(dsr, export) == user.pk)
        export.waits_for_handler = (export.status == JobStatus.DONE and export.downloaded_at is None
                                    and not export.expired and not export.can_download)
    return {"dsr": dsr, "exports": exports, "export_running": any(e.is_running for e in exports),
            "export_downloadable": any(e.can_download for e in exports)}


def capabilities(user, dsr, export_running: bool) -> dict:
    handler = user.has_perm("compliance.handle_dsr")
    is_open = dsr.status in DSR_OPEN_STATUSES
    verified = dsr.identity_verified_at is not None
    ready = handler and is_open and verified
    return {
        "handler": handler,
        "can_assign": handler and is_open,
        "can_link": handler and is_open,
        "can_verify": handler and is_open and not verified,
        "can_note": handler,
        "can_export": ready and dsr.kind == DsrKind.ACCESS and not export_running,
        "can_correct": ready and dsr.kind == DsrKind.CORRECTION,
        "can_erase": ready and dsr.kind == DsrKind.DELETION and dsr.subject_erased_at is None,
        "can_object": ready and dsr.kind == DsrKind.OBJECTION,
        "can_close": handler and is_open,
    }


def timeline(dsr) -> list:
    from tenancy.models import Membership

    events = list(dsr_events(dsr))
    owner_ids = {e.data.get("owner") for e in events if e.kind == "assigned" and e.data.get("owner")}
    owners = {m.pk: m for m in Membership.objects.filter(pk__in=owner_ids).select_related("user")} if owner_ids else {}
    statuses = dict(DsrStatus.choices)
    for event in events:
        event.label = EVENT_LABELS.get(event.kind, event.kind)
        event.to_status_label = statuses.get(event.to_status, event.to_status)
        owner = owners.get(event.data.get("owner")) if event.kind == "assigned" else None
        event.owner_name = (owner.user.display_name or owner.user.username) if owner else ""
    return events


def _act(request, dsr, action: str, form) -> str | None:
    user = request.user
    if action == "export":
        services.dsr_export_request(actor=user, dsr=dsr)
        return _("The export is being built; this page shows its progress.")
    if not form.is_valid():
        return None
    data = form.cleaned_data
    if action == "assign":
        services.dsr_assign(actor=user, dsr=dsr, owner=data["owner"])
        return _("Owner assigned.")
    if action == "link":
        services.dsr_link_customer(actor=user, dsr=dsr, customer=customer_by_number(data["customer_number"]))
        return _("Customer record linked.")
    if action == "verify":
        services.dsr_verify_identity(actor=user, dsr=dsr, method=data["identity_method"], note=data["identity_note"])
        return _("Identity check recorded.")
    if action == "note":
        services.dsr_add_note(actor=user, dsr=dsr, body=data["body"])
        return _("Note added.")
    if action == "correct":
        services.dsr_apply_correction(actor=user, dsr=dsr, changes=data)
        return _("The customer record was corrected.")
    if action == "erase":
        counts = services.dsr_erase(actor=user, dsr=dsr, confirm_number=data["confirm_number"])
        return _("The person's data was anonymised (%(n)s records).") % {"n": sum(counts.values())}
    if action == "object":
        purposes = form.purposes()
        if not purposes:
            form.add_error("marketing", _("Choose at least one purpose."))
            return None
        recorded = services.dsr_apply_objection(actor=user, dsr=dsr, purposes=purposes)
        return _("Objection applied: %(n)s withdrawals recorded.") % {"n": recorded}
    services.dsr_close(actor=user, dsr=dsr, status=data["status"], resolution=data["resolution"])
    return _("Request closed.")


def _page_context(request, dsr, forms: dict, action: str = "") -> dict:
    user = request.user
    with_days_left(dsr)
    exports = exports_context(user, dsr)
    caps = capabilities(user, dsr, exports["export_running"])
    preview = services.dsr_preview(dsr) if caps["can_erase"] else None
    timeline_events = timeline(dsr)
    erased = next((e for e in reversed(timeline_events) if e.kind == "erased"), None)
    return {"dsr": dsr, "forms": forms, "action": action, "events": timeline_events, **exports, **caps,
            "preview": labelled_sections(preview) if preview else [],
            "preview_total": sum(preview.values()) if preview else 0,
            "erased_counts": labelled_sections(erased.data.get("counts", {})) if erased else [],
            "Clock": Clock,
            "is_registrar_only": not can_see_queue(user)}


def _forms(request, action: str) -> dict:
    forms = {}
    for name, form_class in ACTIONS.items():
        if form_class is None:
            continue
        bound = action == name and request.method == "POST"
        forms[name] = form_class(request.POST if bound else None, prefix=name)
    return forms


@login_required
def dsr_page(request, pk: int):
    dsr = visible_request(request.user, pk)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    forms = _forms(request, action)
    status = 200
    if request.method == "POST":
        if action not in ACTIONS:
            raise Http404
        if not request.user.has_perm("compliance.handle_dsr"):
            raise PermissionDenied
        form = forms.get(action)
        outcome = run_page_action(request, form, lambda: _act(request, dsr, action, form),
                                  reverse("compliance:dsr_page", args=[dsr.pk]))
        if not isinstance(outcome, int):
            return outcome
        status = outcome
        dsr = dsr_get(pk=pk)
    return render(request, "compliance/dsr_page.html", _page_context(request, dsr, forms, action), status=status)


@queue_perm_required
def dsr_exports_panel(request, pk: int):
    """The export card alone (htmx polls it while a build runs, and reloads it after a download)."""
    dsr = dsr_get(pk=pk)
    context = exports_context(request.user, dsr)
    context.update(capabilities(request.user, dsr, context["export_running"]))
    return render(request, "compliance/dsr_exports_panel.html", context)


@perm_required("compliance.handle_dsr")
def dsr_export_download(request, pk: int, export_id: int):
    """The export file, once, to the request's handler (logged in the access log). A second try,
    an expired or unfinished export answers 410 with the page and no data."""
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    dsr = dsr_get(pk=pk)
    export = dsr_exports(dsr).filter(pk=export_id).first()
    if export is None:
        raise Http404
    try:
        filename, body = services.dsr_export_download(
            actor=request.user, membership=request.membership, export=export,
            request_id=getattr(request, "request_id", ""), ip_address=client_ip(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return render(request, "compliance/dsr_page.html", _page_context(request, dsr_get(pk=pk), _forms(request, "")),
                      status=410)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


urlpatterns = [
    path("requests/", dsr_queue, name="dsr_list"),
    path("requests/new/", dsr_new, name="dsr_new"),
    path("requests/<int:pk>/", dsr_page, name="dsr_page"),
    path("requests/<int:pk>/exports/", dsr_exports_panel, name="dsr_exports_panel"),
    path("requests/<int:pk>/exports/<int:export_id>/download/", dsr_export_download, name="dsr_export_download"),
]
