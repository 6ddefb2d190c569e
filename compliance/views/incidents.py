"""The incident register pages: the list (filters, the authority clock), recording a new incident,
and the incident page — facts, authority clock, timeline, affected records (the query form and the
counts by record type), remedial actions, the reports to the authority and to the people, the
violation proposal and the status buttons. Auditors read everything and see no forms. Every
action on the incident page is a POST with `action=<name>`; an error re-renders the page with what
was typed kept (400, or 403 when the service refuses the person). Thin: parse → service → redirect."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.forms import apply_service_errors
from tenancy.views import perm_required, run_page_action

from ..forms.incidents import (
    ActionForm,
    AffectedQueryForm,
    AuthorityForm,
    ConfirmForm,
    IncidentFilterForm,
    IncidentForm,
    NoteForm,
    PeopleForm,
    ViolationForm,
)
from ..models import Incident, IncidentStatus, RemedialAction
from ..selectors import incidents as selectors
from ..services import incidents as services

PAGE_SIZE = 50
MANAGE = "compliance.manage_incidents"


@perm_required("compliance.view_compliance")
def incident_list(request):
    form = IncidentFilterForm(request.GET or None, branches=selectors.incident_branch_choices())
    filters = form.cleaned_data if form.is_valid() else {}
    overdue = {"yes": True, "no": False}.get(filters.get("overdue") or "")
    hours = selectors.authority_hours()
    now = timezone.now()
    qs = selectors.incident_list(status=filters.get("status") or None, severity=filters.get("severity") or None,
                                 branch=filters.get("branch"), overdue=overdue, q=filters.get("q") or "",
                                 now=now, hours=hours)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(incident, selectors.authority_clock(incident, now=now, hours=hours)) for incident in page]
    return render(request, "compliance/incident_list.html", {
        "form": form, "page": page, "rows": rows, "hours": hours, "overview": selectors.incident_overview(now=now)})


def _incident_form(data=None, **kwargs):
    return IncidentForm(data, branches=selectors.incident_branch_choices(),
                        members=selectors.incident_member_choices(), **kwargs)


@perm_required(MANAGE)
def incident_new(request):
    form = _incident_form(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                incident = services.incident_open(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc) or _("You do not have permission to do this."))
                status = 403
            else:
                messages.success(request, _("Incident %(number)s recorded.") % {"number": incident.number})
                return redirect("compliance:incident_page", incident.pk)
        status = status if status == 403 else 400
    return render(request, "compliance/incident_new.html", {"form": form, "hours": selectors.authority_hours()},
                  status=status)


def _forms(request, incident: Incident, action: str) -> dict:
    """Every form of the page; the one posted is bound to what was typed."""
    data = request.POST if request.method == "POST" else None
    members = selectors.incident_member_choices()
    branches = selectors.incident_branch_choices()

    def bound(name):
        return data if action == name else None

    return {
        "edit": IncidentForm(bound("edit"), prefix="edit", branches=branches, members=members, initial={
            "title": incident.title, "description": incident.description, "severity": incident.severity,
            "occurred_at": incident.occurred_at and timezone.localtime(incident.occurred_at),
            "detected_at": timezone.localtime(incident.detected_at), "branch": incident.branch_id,
            "owner": incident.owner_id}),
        "find_affected": AffectedQueryForm(bound("find_affected"), prefix="query", branches=branches,
                                           people=selectors.incident_actor_choices(), initial=_query_initial(incident)),
        "action_add": ActionForm(bound("action_add"), prefix="act", members=members),
        "authority": AuthorityForm(bound("authority"), prefix="authority", initial={
            "notified_at": timezone.localtime().replace(second=0, microsecond=0)}),
        "people": PeopleForm(bound("people"), prefix="people", initial={
            "count": incident.people_count or None,
            "notified_at": timezone.localtime().replace(second=0, microsecond=0)}),
        "violation": ViolationForm(bound("violation"), prefix="violation", members=members, branches=branches,
                                   initial={"branch": incident.branch_id}),
        "note": NoteForm(bound("note"), prefix="note"),
        # The status buttons and "done" carry no fields: their forms hold the service's message.
        "status": ConfirmForm(data if action in ("contain", "close") else None),
        "action_done": ConfirmForm(bound("action_complete")),
    }


def _query_initial(incident: Incident) -> dict:
    """The last query, to re-run or adjust."""
    query = dict(incident.affected_query or {})
    if isinstance(query.get("numbers"), list):
        query["numbers"] = "\n".join(query["numbers"])
    return query


def _act(request, incident: Incident, action: str, forms: dict) -> str | None:
    user = request.user
    if action == "action_complete":
        done = RemedialAction.objects.filter(incident=incident, pk=_int(request.POST.get("action_id"))).first()
        if done is None:
            raise Http404
        services.incident_action_complete(actor=user, incident=incident, action=done)
        return _("Remedial action done.")
    if action == "contain":
        services.incident_contain(actor=user, incident=incident)
        return _("Incident marked contained.")
    if action == "close":
        services.incident_close(actor=user, incident=incident)
        return _("Incident closed.")
    form = forms[action]
    if not form.is_valid():
        return None
    data = form.cleaned_data
    if action == "edit":
        services.incident_update(actor=user, incident=incident, **data)
        return _("Incident updated.")
    if action == "find_affected":
        incident = services.incident_find_affected(actor=user, incident=incident, query=form.query())
        return _("%(records)d records of %(people)d people found.") % {
            "records": incident.affected_count, "people": incident.people_count}
    if action == "action_add":
        services.incident_action_add(actor=user, incident=incident, **data)
        return _("Remedial action added.")
    if action == "authority":
        services.incident_notify_authority(actor=user, incident=incident, **data)
        return _("Report to the authority recorded.")
    if action == "people":
        services.incident_notify_people(actor=user, incident=incident, **data)
        return _("Notice to the people recorded.")
    if action == "violation":
        incident = services.incident_raise_violation(actor=user, incident=incident, description=data["description"],
                                                     **form.subject())
        return _("Violation %(number)s proposed; someone else confirms it.") % {
            "number": incident.violation_case.number}
    services.incident_add_note(actor=user, incident=incident, body=data["body"])
    return _("Note added.")


def _int(value) -> int:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else 0


ACTIONS = ("edit", "find_affected", "action_add", "action_complete", "authority", "people", "violation", "note",
           "contain", "close")
# Which form shows a status or an action-list error.
ERROR_FORM = {"action_complete": "action_done", "contain": "status", "close": "status"}


@perm_required("compliance.view_compliance")
def incident_page(request, pk: int):
    try:
        incident = selectors.incident_get(pk=pk)
    except Incident.DoesNotExist as exc:
        raise Http404 from exc
    can_manage = request.user.has_perm(MANAGE)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if action not in ACTIONS:
            raise Http404
    forms = _forms(request, incident, action)
    status = 200
    if request.method == "POST":
        form = forms[ERROR_FORM.get(action, action)]
        if action in ERROR_FORM:
            form.is_valid()  # no fields: always valid, and ready to take the service's message
        outcome = run_page_action(request, form, lambda: _act(request, incident, action, forms),
                                  reverse("compliance:incident_page", args=[incident.pk]))
        if not isinstance(outcome, int):
            return outcome
        status = outcome
        incident = selectors.incident_get(pk=pk)
    context = {
        "incident": incident, "forms": forms, "action": action, "can_manage": can_manage,
        "can_propose": can_manage and request.user.has_perm(services.PROPOSE_PERM),
        "is_closed": incident.status == IncidentStatus.CLOSED, **selectors.incident_detail(incident),
        "query_summary": selectors.affected_query_summary(incident.affected_query),
    }
    return render(request, "compliance/incident_page.html", context, status=status)


urlpatterns = [
    path("incidents/", incident_list, name="incident_list"),
    path("incidents/new/", incident_new, name="incident_new"),
    path("incidents/<int:pk>/", incident_page, name="incident_page"),
]
