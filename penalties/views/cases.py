"""The fines pages: the list (tabs, filters — each person sees what their role reaches, everyone
their own fines), proposing a fine, the case page (what happened, evidence, the appeal, the ledger
entries, the timeline, and the actions the person may take: confirm, appeal, decide the appeal,
void, record a payment) and the appeals list. Every action on the case page is a POST with
`action=<name>`; an error re-renders the page with what was typed kept (400, or 403 when the
service refuses the person — four-eyes). Thin: parse → service/selector → redirect."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenancy.forms import apply_service_errors
from tenancy.views import perm_required, run_page_action

from .. import rules, selectors, services
from ..forms import (
    AppealForm,
    CaseFilterForm,
    ConfirmForm,
    DecideForm,
    EvidenceForm,
    NoteForm,
    PaymentForm,
    ProposeForm,
    VoidForm,
)
from ..models import PAYABLE, AppealStatus, CaseStatus, SubjectKind

MAX_UPLOAD_READ = 60 * 1024 * 1024
PAGE_SIZE = 50
TABS = [("open", gettext_lazy("Open")), ("proposed", gettext_lazy("To confirm")),
        ("appealed", gettext_lazy("Appealed")), ("mine", gettext_lazy("My fines")), ("all", gettext_lazy("All"))]


@perm_required("penalties.view_own_fines")
def case_list(request):
    user = request.user
    manager = user.has_perm("penalties.view_violationcase")
    default_tab = "open" if manager else "mine"
    tab = request.GET.get("tab", default_tab)
    if tab not in dict(TABS):
        tab = default_tab
    form = CaseFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.case_list(actor=user, membership=request.membership, tab=tab,
                             status=filters.get("status") or None, tier=filters.get("tier") or None,
                             category=filters.get("category") or None, detector=filters.get("detector") or None,
                             date_from=filters.get("date_from"), date_to=filters.get("date_to"),
                             q=filters.get("q") or "")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    tab_query = query.copy()
    tab_query.pop("tab", None)
    counts = selectors.case_tab_counts(actor=user, membership=request.membership)
    tabs = [(key, label, counts.get(key, 0)) for key, label in TABS if manager or key == "mine"]
    return render(request, "penalties/case_list.html", {
        "form": form, "page": page, "tab": tab, "tabs": tabs, "query": query.urlencode(),
        "tab_query": tab_query.urlencode(), "manager": manager,
    })


def _propose_form(request, data=None):
    membership = request.membership
    return ProposeForm(data, types=selectors.catalogue_list(include_inactive=False),
                       members=selectors.subject_choices(membership=membership),
                       branches=selectors.branch_choices(membership=membership),
                       initial={"occurred_on": timezone.localdate()})


def _linked(model_label: str, number: str):
    """A ticket or waybill by its number (within this company), or a field error."""
    number = (number or "").strip()
    if not number:
        return None
    if model_label == "ticket":
        from tickets.models import Ticket

        found = Ticket.objects.filter(number=number).first()
    else:
        from shipments.models import Waybill

        found = Waybill.objects.filter(number=number).first()
    if found is None:
        raise ValidationError({f"{model_label}_number": _("No such number here.")})
    return found


@perm_required("penalties.add_violationcase")
def case_propose(request):
    form = _propose_form(request, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                case = services.case_propose(
                    actor=request.user, violation_type=data["violation_type"], subject_kind=data["subject_kind"],
                    subject_membership=data["subject_membership"], branch=data["branch"],
                    amount=data["amount"] or None, description=data["description"],
                    occurred_on=data["occurred_on"], out_of_range_reason=data["out_of_range_reason"],
                    ticket=_linked("ticket", data["ticket_number"]),
                    waybill=_linked("waybill", data["waybill_number"]))
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc) or _("You do not have permission to do this."))
                status = 403
            else:
                messages.success(request, _("Fine %(number)s proposed; someone else confirms it.") % {
                    "number": case.number})
                return redirect("penalties:case", case.pk)
        status = status if status == 403 else 400
    return render(request, "penalties/propose.html", {
        "form": form, "general_from": rules.GENERAL_FROM.value(), "serious_above": rules.SERIOUS_ABOVE.value(),
    }, status=status)


ACTIONS = {"confirm": ConfirmForm, "appeal": AppealForm, "decide": DecideForm, "void": VoidForm,
           "pay": PaymentForm, "evidence": EvidenceForm, "note": NoteForm}


def _act(request, case, action, form) -> str | None:
    if not form.is_valid():
        return None
    user = request.user
    data = form.cleaned_data
    if action == "confirm":
        services.case_confirm(actor=user, case=case, note=data["note"])
        return _("Fine confirmed and entered in the ledger.")
    if action == "appeal":
        services.case_appeal(actor=user, case=case, grounds=data["grounds"],
                             requested_amount=data["requested_amount"] or None)
        return _("Appeal filed.")
    if action == "decide":
        services.appeal_decide(actor=user, case=case, outcome=data["outcome"], reason=data["reason"],
                               reduced_to=data["reduced_to"] or None)
        return _("Appeal decided.")
    if action == "void":
        services.case_void(actor=user, case=case, reason=data["reason"])
        return _("Fine voided.")
    if action == "pay":
        services.case_payment_record(actor=user, case=case, amount=data["amount"], method=data["method"],
                                     paid_on=data["paid_on"], reference=data["reference"])
        return _("Payment recorded in the ledger.")
    if action == "evidence":
        upload = data["file"]
        services.case_evidence_add(actor=user, case=case, name=upload.name, content=upload.read(MAX_UPLOAD_READ),
                                   description=data["description"])
        return _("Evidence added.")
    services.case_note(actor=user, case=case, body=data["body"])
    return _("Note added.")


def _capabilities(user, case) -> dict:
    is_subject = bool(case.subject_membership_id and case.subject_membership.user_id == user.pk)
    appeal_open = (case.status == CaseStatus.CONFIRMED and case.outstanding == case.amount
                   and (case.appeal_due_at is None or timezone.now() <= case.appeal_due_at))
    return {
        "is_subject": is_subject,
        "can_confirm": (user.has_perm("penalties.confirm_violation") and case.status == CaseStatus.PROPOSED
                        and case.proposed_by_id != user.pk and not is_subject),
        "four_eyes_blocked": case.status == CaseStatus.PROPOSED and case.proposed_by_id == user.pk,
        "can_appeal": appeal_open and user.has_perm("penalties.appeal_violation") and (
            is_subject or user.has_perm("penalties.confirm_violation")),
        "can_decide": (user.has_perm("penalties.decide_appeal") and case.status == CaseStatus.APPEALED
                       and case.confirmed_by_id != user.pk and not is_subject),
        "can_void": (user.has_perm("penalties.void_violation") and not is_subject
                     and (case.status == CaseStatus.PROPOSED or (case.status in PAYABLE
                                                                  and case.outstanding == case.amount))),
        "can_pay": user.has_perm("penalties.record_fine_payment") and case.status in PAYABLE and not is_subject,
        "can_add_evidence": user.has_perm("penalties.add_violationevidence") and case.is_open,
        "can_note": user.has_perm("penalties.add_violationcase"),
    }


@perm_required("penalties.view_own_fines")
def case_page(request, pk: int):
    user = request.user
    case = selectors.case_get(actor=user, membership=request.membership, pk=pk)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    forms = {}
    for name, form_class in ACTIONS.items():
        bound = action == name
        kwargs = {"prefix": name}
        if name == "pay":
            kwargs["initial"] = {"amount": case.outstanding, "paid_on": timezone.localdate()}
        if name == "evidence":
            forms[name] = form_class(request.POST if bound else None, request.FILES if bound else None, **kwargs)
        else:
            forms[name] = form_class(request.POST if bound else None, **kwargs)
    status = 200
    if request.method == "POST":
        if action not in ACTIONS:
            raise Http404
        form = forms[action]
        outcome = run_page_action(request, form, lambda: _act(request, case, action, form),
                                  reverse("penalties:case", args=[case.pk]))
        if not isinstance(outcome, int):
            return outcome
        status = outcome
        case = selectors.case_get(actor=user, membership=request.membership, pk=pk)
    context = {"case": case, "forms": forms, "action": action, **selectors.case_detail(case),
               **_capabilities(user, case), "SubjectKind": SubjectKind}
    return render(request, "penalties/case_page.html", context, status=status)


@perm_required("penalties.view_own_fines")
def evidence_file(request, pk: int, evidence_id: int):
    """One evidence file of a fine this person may see; pictures inline, PDFs as a download."""
    case = selectors.case_get(actor=request.user, membership=request.membership, pk=pk)
    item = case.evidence.filter(pk=evidence_id).first()
    if item is None:
        raise Http404
    inline = item.content_type.startswith("image/")
    response = FileResponse(item.file.open("rb"), content_type=item.content_type, as_attachment=not inline,
                            filename=item.name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@perm_required("penalties.view_appeal")
def appeal_list(request):
    status = request.GET.get("status", AppealStatus.PENDING)
    if status not in AppealStatus.values and status != "all":
        status = AppealStatus.PENDING
    qs = selectors.appeal_list(actor=request.user, membership=request.membership,
                               status=None if status == "all" else status)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "penalties/appeal_list.html", {
        "page": page, "status": status, "statuses": [*AppealStatus.choices, ("all", _("All"))]})


urlpatterns = [
    path("fines/", case_list, name="cases"),
    path("fines/new/", case_propose, name="propose"),
    path("fines/appeals/", appeal_list, name="appeals"),
    path("fines/<int:pk>/", case_page, name="case"),
    path("fines/<int:pk>/evidence/<int:evidence_id>/", evidence_file, name="evidence"),
]
