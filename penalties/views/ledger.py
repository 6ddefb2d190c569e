"""The auditor's workspace: the fine ledger with filters and totals (by tier, branch, violation and
month), the chain's status badge with the last verification and a "verify now" button, signed
checkpoints to download with the public key, verification history, and the logged CSV/XLSX export.
Read-only for auditors (verification requests and exports are their only writes, and neither
touches business data). Thin: parse → selector/service → render."""
from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenancy.throttling import rate_exceeded
from tenancy.views import client_ip, perm_required

from .. import selectors, services, signing
from ..exporting import ledger_export
from ..forms import LedgerFilterForm

PAGE_SIZE = 100


def _filter_form(request):
    membership = request.membership
    return LedgerFilterForm(request.GET or None, branches=selectors.branch_choices(membership=membership),
                            members=selectors.subject_choices(membership=membership),
                            types=selectors.catalogue_list())


def _filters(form) -> dict:
    if not form.is_bound or not form.is_valid():
        return {}
    data = form.cleaned_data
    return {"date_from": data.get("date_from"), "date_to": data.get("date_to"), "branch": data.get("branch"),
            "subject_membership": data["subject"].pk if data.get("subject") else None,
            "violation_type": data["violation_type"].pk if data.get("violation_type") else None,
            "tier": data.get("tier") or None, "kind": data.get("kind") or None, "status": data.get("status") or None}


@perm_required("penalties.view_ledger")
def ledger(request):
    form = _filter_form(request)
    filters = _filters(form)
    qs = selectors.ledger_list(actor=request.user, membership=request.membership, **filters)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "penalties/ledger.html", {
        "form": form, "page": page, "query": query.urlencode(), "totals": selectors.ledger_totals(qs),
        "chain": selectors.chain_status(), "can_verify": request.user.has_perm("penalties.verify_ledger"),
        "can_export": request.user.has_perm("penalties.export_ledger"),
    })


@perm_required("penalties.view_ledger")
def chain_badge(request):
    """The badge alone (htmx polls it while a verification is queued)."""
    return render(request, "penalties/_chain_badge.html", {
        "chain": selectors.chain_status(), "can_verify": request.user.has_perm("penalties.verify_ledger")})


@perm_required("penalties.verify_ledger")
@require_POST
def verify(request):
    if rate_exceeded("ledger_verify", str(request.user.pk)):
        messages.error(request, _("A verification was requested a moment ago. Wait a minute and try again."))
    else:
        services.ledger_verification_request(actor=request.user)
        messages.success(request, _("Verification queued: the badge shows the result when it is done."))
    return redirect("penalties:ledger")


@perm_required("penalties.verify_ledger")
def verifications(request):
    page = Paginator(selectors.verification_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "penalties/verifications.html", {"page": page, "chain": selectors.chain_status()})


@perm_required("penalties.view_ledger")
def checkpoints(request):
    page = Paginator(selectors.checkpoint_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "penalties/checkpoints.html", {
        "page": page, "key_id": signing.current_key_id(), "public_key_pem": signing.public_key_pem()})


@perm_required("penalties.view_ledger")
def checkpoints_download(request):
    """Every checkpoint with its signature and the public key, as JSON to keep outside the system."""
    document = selectors.checkpoints_document(request.membership.tenant,
                                              selectors.checkpoint_list().order_by("sequence"))
    response = HttpResponse(json.dumps(document, ensure_ascii=False, indent=2), content_type="application/json")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="ledger-checkpoints-{stamp}.json"'
    return response


@perm_required("penalties.view_ledger")
def public_key(request):
    response = HttpResponse(signing.public_key_pem(), content_type="application/x-pem-file")
    response["Content-Disposition"] = f'attachment; filename="ledger-signing-key-{signing.current_key_id()}.pem"'
    return response


@perm_required("penalties.export_ledger")
def export(request):
    file_format = request.GET.get("format", "xlsx")
    form = _filter_form(request)
    if form.is_bound and not form.is_valid():
        messages.error(request, _("The filters are not valid: correct them and export again."))
        return redirect(f"{reverse('penalties:ledger')}?{request.GET.urlencode()}")
    if rate_exceeded("export", str(request.user.pk)):
        messages.error(request, _("Too many exports in a short time. Wait a minute and try again."))
        return redirect("penalties:ledger")
    try:
        result = ledger_export(actor=request.user, membership=request.membership, filters=_filters(form),
                               file_format=file_format, request_id=getattr(request, "request_id", ""),
                               ip_address=client_ip(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("penalties:ledger")
    response = HttpResponse(result.content, content_type=result.content_type)
    response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    response["Cache-Control"] = "no-store"
    return response


urlpatterns = [
    path("fines/ledger/", ledger, name="ledger"),
    path("fines/ledger/badge/", chain_badge, name="chain_badge"),
    path("fines/ledger/verify/", verify, name="verify"),
    path("fines/ledger/verifications/", verifications, name="verifications"),
    path("fines/ledger/checkpoints/", checkpoints, name="checkpoints"),
    path("fines/ledger/checkpoints.json", checkpoints_download, name="checkpoints_download"),
    path("fines/ledger/public-key.pem", public_key, name="public_key"),
    path("fines/ledger/export/", export, name="export"),
]
