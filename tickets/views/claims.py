"""The claims pages: the claims team's queue (by status tab, amount and clock), filing a claim from
a ticket, the claim page (evidence gallery and checklist, assessment with the rules' amount, the
decision at the right level, the payout, the timeline), the customer 360's claims card and the
claims report. Every action on the claim page is a POST with `action=<name>`; an error re-renders
the page with what was typed kept (400, or 403 when the service refuses the person — four-eyes,
approval level). Thin: parse → service/selector → redirect."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import CustomerKind
from tenancy.forms import apply_service_errors
from tenancy.selectors import branch_choices
from tenancy.views import perm_required

from .. import claim_rules
from ..forms.claims import (
    ApproveForm,
    AssessForm,
    ClaimEditForm,
    ClaimFileForm,
    ClaimNoteForm,
    ClaimQueueFilterForm,
    ClaimsReportForm,
    EvidenceForm,
    PayForm,
    ReasonForm,
    RejectForm,
)
from ..models import AWAITING_DECISION, AWAITING_PAYOUT, ClaimStatus, ClaimType
from ..permissions import claim_authority
from ..selectors import claims as claim_reads
from ..selectors import exceptions as ticket_reads
from ..services import claims as claim_services
from ..services import conversation

MAX_UPLOAD_READ = 60 * 1024 * 1024
PAGE_SIZE = 50
TABS = [("open", gettext_lazy("Waiting for a decision")), ("due", gettext_lazy("Clock running out")),
        ("decide", gettext_lazy("Assessed, to decide")), ("pay", gettext_lazy("Approved, to pay")),
        ("drafts", gettext_lazy("Drafts")), ("closed", gettext_lazy("Closed")), ("all", gettext_lazy("All"))]


def _branches(membership):
    reach = ticket_reads.reach_of(membership)
    qs = branch_choices()
    return qs.filter(path__startswith=reach.path) if reach is not None else qs


@perm_required("tickets.view_claim")
def claims_queue(request):
    """The claims team's queue: a tab per step, filters, the clock that runs out first on top."""
    membership = request.membership
    tab = request.GET.get("tab", "open")
    tab = tab if tab in claim_reads.CLAIM_TABS else "open"
    form = ClaimQueueFilterForm(request.GET or None, branches=_branches(membership))
    data = form.cleaned_data if form.is_valid() else {}
    filters = claim_reads.ClaimFilters(
        tab=tab, claim_type=data.get("claim_type") or "", status=data.get("status") or "",
        branch_id=data.get("branch"), min_amount=data.get("min_amount"), max_amount=data.get("max_amount"),
        search=data.get("search") or "", sort=data.get("sort") or "")
    page = Paginator(claim_reads.claims_queue(membership=membership, filters=filters), PAGE_SIZE).get_page(
        request.GET.get("page"))
    counts = claim_reads.claims_tab_counts(membership=membership)
    return render(request, "tickets/claims/queue.html", {
        "form": form, "page": page, "claims": page.object_list, "tab": tab,
        "tabs": [(key, label, counts.get(key)) for key, label in TABS], "now": timezone.now(),
    }, status=200 if form.is_bound is False or form.is_valid() else 400)


@perm_required("tickets.add_claim")
def claim_file(request, ticket_id: int):
    """File a claim from a ticket: the waybill's values are shown as they will be captured."""
    ticket = ticket_reads.ticket_get(membership=request.membership, pk=ticket_id)
    initial = {"claim_type": {"damage": ClaimType.DAMAGE, "loss": ClaimType.LOSS, "delay": ClaimType.DELAY}.get(
        ticket.category, "")}
    form = ClaimFileForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                claim = claim_services.claim_file(actor=request.user, ticket=ticket, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Claim %(number)s filed as a draft: add the evidence, then submit it.")
                                 % {"number": claim.number})
                return redirect("tickets:claim", claim.pk)
        status = 400
    return render(request, "tickets/claims/file.html", {
        "ticket": ticket, "waybill": ticket.waybill, "form": form,
        "existing": claim_reads.claims_of_ticket(ticket_id=ticket.pk),
        "declare_above": claim_rules.DECLARE_ABOVE.value(),
        "window_days": claim_rules.FILING_WINDOW_DAYS.value(),
    }, status=status)


# --- the claim page ------------------------------------------------------------------------------

ACTIONS = {
    "edit": ClaimEditForm, "evidence": EvidenceForm, "assess": AssessForm, "approve": ApproveForm,
    "reject": RejectForm, "pay": PayForm, "withdraw": ReasonForm, "note": ClaimNoteForm,
    "submit": None, "review": None,
}


def _initial(claim) -> dict:
    return {
        "edit": {"claimant_role": claim.claimant_role, "claimed_amount": claim.claimed_amount,
                 "description": claim.description},
        "assess": {"assessed_value": claim.assessed_value if claim.assessed_value is not None else (
            claim.declared_value or claim.claimed_amount), "damage_percent": claim.damage_percent,
            "cause": claim.cause, "note": claim.assessment_note},
        "approve": {"amount": claim.computed_amount},
        "pay": {"amount": claim.approved_amount},
    }


def _forms(claim, data=None, files=None, action=""):
    initial = _initial(claim)
    forms = {}
    for name, form_class in ACTIONS.items():
        if form_class is None:
            continue
        bound = action == name and data is not None
        kwargs = {"prefix": name, "initial": initial.get(name)}
        if name == "evidence":
            forms[name] = form_class(data if bound else None, files if bound else None, **kwargs)
        else:
            forms[name] = form_class(data if bound else None, **kwargs)
    return forms


def _act(request, claim, action, form):
    user = request.user
    if action == "submit":
        claim_services.claim_submit(actor=user, claim=claim)
        return _("Claim submitted for review.")
    if action == "review":
        claim_services.claim_review_start(actor=user, claim=claim)
        return _("Claim taken into review.")
    if not form.is_valid():
        return None
    data = form.cleaned_data
    if action == "edit":
        claim_services.claim_update(actor=user, claim=claim, **data)
        return _("Claim details saved.")
    if action == "evidence":
        upload = data["file"]
        claim_services.claim_evidence_add(actor=user, claim=claim, kind=data["kind"], name=upload.name,
                                          content=upload.read(MAX_UPLOAD_READ), note=data["note"])
        return _("Evidence added.")
    if action == "assess":
        claim = claim_services.claim_assess(actor=user, claim=claim, **data)
        return _("Assessment saved: %(amount)s CNY payable by the rules.") % {"amount": claim.computed_amount}
    if action == "approve":
        claim = claim_services.claim_approve(actor=user, claim=claim, amount=data["amount"], reason=data["reason"])
        return _("Approved: %(amount)s CNY.") % {"amount": claim.approved_amount}
    if action == "reject":
        claim_services.claim_reject(actor=user, claim=claim, reason=data["reason"])
        return _("Claim rejected; the customer is told the reason.")
    if action == "pay":
        paid_at = data["paid_at"]
        claim_services.claim_pay(actor=user, claim=claim, amount=data["amount"], method=data["method"],
                                 payee_name=data["payee_name"], payee_account=data["payee_account"],
                                 reference=data["reference"], paid_at=paid_at, note=data["note"])
        return _("Payout recorded; the ticket is resolved and the customer told.")
    if action == "withdraw":
        claim_services.claim_withdraw(actor=user, claim=claim, reason=data["reason"])
        return _("Claim withdrawn.")
    claim_services.claim_note(actor=user, claim=claim, body=data["body"])
    return _("Note added.")


@perm_required("tickets.view_claim")
def claim_page(request, pk: int):
    membership = request.membership
    claim = claim_reads.claim_get(membership=membership, pk=pk)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    forms = _forms(claim, request.POST if action else None, request.FILES if action else None, action)
    status = 200
    error = ""
    if request.method == "POST":
        if action not in ACTIONS:
            raise Http404
        form = forms.get(action)
        try:
            done = _act(request, claim, action, form)
        except ValidationError as exc:
            if form is None:
                error = " ".join(exc.messages)
            else:
                apply_service_errors(form, exc)
            status = 400
        except PermissionDenied as exc:
            message = str(exc) or _("You do not have permission to do this.")
            if form is None:
                error = message
            else:
                form.add_error(None, message)
            status = 403
        else:
            if done is not None:
                messages.success(request, done)
                return redirect("tickets:claim", claim.pk)
            status = 400
        claim = claim_reads.claim_get(membership=membership, pk=pk)
    evidence = claim_reads.claim_evidence(claim=claim)
    checklist = claim_reads.evidence_checklist(claim=claim, evidence=evidence)
    user = request.user
    authority = claim_authority(membership, claim) if user.has_perm("tickets.decide_claim") else None
    required_level = (claim_services.claim_required_level(claim, claim.computed_amount)
                      if claim.computed_amount is not None else "")
    payout = getattr(claim, "payout", None) if claim.status == ClaimStatus.PAID else None
    open_for_evidence = claim.status in (ClaimStatus.DRAFT, *AWAITING_DECISION)
    return render(request, "tickets/claims/claim_page.html", {
        "claim": claim, "forms": forms, "action": action, "error": error,
        "events": claim_reads.claim_timeline(claim=claim), "evidence": evidence, "checklist": checklist,
        "missing": [item for item in checklist if item.required and not item.done],
        "payout": payout, "authority": authority, "required_level": required_level,
        "can_change": user.has_perm("tickets.change_claim") and claim.is_open,
        "can_add_evidence": user.has_perm("tickets.change_claim") and open_for_evidence,
        "can_assess": user.has_perm("tickets.assess_claim") and claim.status in AWAITING_DECISION,
        "can_decide": (user.has_perm("tickets.decide_claim") and claim.status == ClaimStatus.UNDER_REVIEW
                       and claim.computed_amount is not None),
        "can_reject": user.has_perm("tickets.decide_claim") and claim.status == ClaimStatus.UNDER_REVIEW,
        "can_pay": user.has_perm("tickets.pay_claim") and claim.status in AWAITING_PAYOUT,
        "is_filer": claim.filed_by_id == user.pk,
        "awaiting_decision": claim.status in AWAITING_DECISION,
        "claimant_is_company": bool(claim.claimant_id and claim.claimant.kind == CustomerKind.ACCOUNT),
        "now": timezone.now(),
    }, status=status)


@perm_required("tickets.view_ticketattachment")
def evidence_file(request, pk: int):
    """One evidence file of a claim in this member's reach; pictures inline (the gallery), others
    as a download."""
    claim = claim_reads.claim_get(membership=request.membership, pk=pk)
    item = next((e for e in claim_reads.claim_evidence(claim=claim)
                 if str(e.pk) == request.GET.get("item", "")), None)
    if item is None:
        raise Http404
    attachment = item.attachment
    handle = conversation.attachment_open(actor=request.user, attachment=attachment)
    inline = attachment.content_type.startswith("image/") and attachment.content_type != "image/svg+xml"
    response = FileResponse(handle, content_type=attachment.content_type, as_attachment=not inline,
                            filename=attachment.name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@perm_required("tickets.view_claim")
def customer_claims(request, customer_id: int):
    """The customer 360's claims rows (htmx, loaded after the page)."""
    from customers.selectors import customer_get

    customer = customer_get(pk=customer_id)
    if not request.htmx:
        return redirect("customers:detail", customer.pk)
    return render(request, "tickets/claims/_customer_claims.html", {
        "customer": customer, **claim_reads.claims_of_customer(membership=request.membership,
                                                               customer_id=customer.pk)})


@perm_required("tickets.view_claim")
def claims_report(request):
    """Claims opened, approved and paid by type, branch and month; days to decision; top causes."""
    membership = request.membership
    form = ClaimsReportForm(request.GET or None, branches=_branches(membership))
    data = form.cleaned_data if form.is_valid() else {}
    report = claim_reads.claims_report(membership=membership, date_from=data.get("date_from"),
                                       date_to=data.get("date_to"), branch_id=data.get("branch"))
    return render(request, "tickets/claims/report.html", {"form": form, "report": report},
                  status=200 if not form.is_bound or form.is_valid() else 400)


urlpatterns = [
    path("claims/", claims_queue, name="claims"),
    path("claims/report/", claims_report, name="claims_report"),
    path("claims/<int:pk>/", claim_page, name="claim"),
    path("claims/<int:pk>/evidence/", evidence_file, name="claim_evidence"),
    path("tickets/<int:ticket_id>/claim/", claim_file, name="claim_file"),
    path("customers/<int:customer_id>/claims/", customer_claims, name="customer_claims"),
]
