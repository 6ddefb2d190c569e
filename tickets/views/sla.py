"""SLA set-up pages (tenant admins, `tickets.manage_service_desk`): the policies, the business
calendars, and one calendar with its holidays and make-up working days. Thin: parse → service /
selector → render; a refused input comes back as form errors (400) with what was typed."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenancy.forms import apply_service_errors
from tenancy.views import perm_required

from ..forms.sla import WEEKDAYS, CalendarDayForm, CalendarForm, SlaPolicyForm
from ..selectors import sla as selectors
from ..services import sla as services

PERM = services.MANAGE_PERM


def _save(request, form, save) -> bool:
    """Run `save(cleaned_data)` for a valid form; a service refusal lands on the form's fields."""
    if not form.is_valid():
        return False
    try:
        save(form.cleaned_data)
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return False
    return True


def _status(request) -> int:
    return 400 if request.method == "POST" else 200


def minutes_text(minutes: int) -> str:
    """120 → "2 h", 10080 → "7 d", 90 → "1 h 30 min"."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [(days, _("%(n)d d")), (hours, _("%(n)d h")), (mins, _("%(n)d min"))]
    return " ".join(text % {"n": n} for n, text in parts if n) or "0"


# --- policies --------------------------------------------------------------------------------------

@perm_required(PERM)
def sla_policies(request):
    policies = list(selectors.sla_policy_list())
    for policy in policies:
        policy.first_text = minutes_text(policy.first_response_minutes)
        policy.resolution_text = minutes_text(policy.resolution_minutes)
    return render(request, "tickets/sla/policies.html", {
        "policies": policies,
        "has_default_calendar": selectors.calendar_list().filter(is_default=True).exists(),
    })


@perm_required(PERM)
def sla_policy_edit(request, pk: int | None = None):
    policy = selectors.sla_policy_get(pk=pk) if pk else None
    form = SlaPolicyForm(request.POST or None, initial=SlaPolicyForm.initial_of(policy) if policy else None)
    if request.method == "POST":
        def save(data):
            if policy is None:
                return services.sla_policy_create(actor=request.user, **data)
            return services.sla_policy_update(actor=request.user, policy=policy, **data)

        if _save(request, form, save):
            messages.success(request, _("SLA policy saved. New tickets use it; open tickets keep their clocks."))
            return redirect("tickets:sla_policies")
    return render(request, "tickets/sla/policy_form.html", {
        "form": form, "policy": policy, "title": policy.name if policy else _("New SLA policy"),
    }, status=_status(request))


@require_POST
@perm_required(PERM)
def sla_defaults(request):
    created = services.sla_defaults_ensure()
    if created["calendar"] or created["policies"]:
        messages.success(request, _("Added: %(calendar)s, %(policies)d default policies.") % {
            "calendar": _("the standard calendar") if created["calendar"] else _("no calendar"),
            "policies": created["policies"]})
    else:
        messages.info(request, _("The defaults exist already; nothing was changed."))
    return redirect("tickets:sla_policies")


# --- calendars -------------------------------------------------------------------------------------

@perm_required(PERM)
def calendars(request):
    return render(request, "tickets/sla/calendars.html", {"calendars": list(selectors.calendar_list())})


@perm_required(PERM)
def calendar_edit(request, pk: int | None = None):
    calendar = selectors.calendar_get(pk=pk) if pk else None
    form = CalendarForm(request.POST or None, initial=CalendarForm.initial_of(calendar) if calendar else None)
    if request.method == "POST":
        saved = {}

        def save(data):
            if calendar is None:
                saved["calendar"] = services.calendar_create(actor=request.user, **data)
            else:
                saved["calendar"] = services.calendar_update(actor=request.user, calendar=calendar, **data)

        if _save(request, form, save):
            messages.success(request, _("Calendar saved."))
            return redirect("tickets:calendar_detail", saved["calendar"].pk)
    return render(request, "tickets/sla/calendar_form.html", {
        "form": form, "calendar": calendar, "title": calendar.name if calendar else _("New business calendar"),
    }, status=_status(request))


@perm_required(PERM)
def calendar_detail(request, pk: int):
    """A calendar's settings and its dated days of one year; POST adds a day."""
    calendar = selectors.calendar_get(pk=pk)
    years = selectors.calendar_years(calendar_id=calendar.pk)
    try:
        year = int(request.GET.get("year") or 0)
    except ValueError:
        year = 0
    if not 2000 <= year <= 2100:
        year = timezone.localdate().year
    form = CalendarDayForm(request.POST or None)
    if request.method == "POST":
        if _save(request, form, lambda data: services.calendar_day_add(actor=request.user, calendar=calendar, **data)):
            messages.success(request, _("Day added."))
            return redirect(f"{request.path}?year={form.cleaned_data['date'].year}")
    return render(request, "tickets/sla/calendar_detail.html", {
        "calendar": calendar, "form": form, "year": year, "years": sorted(set(years) | {year}, reverse=True),
        "days": list(selectors.calendar_days(calendar_id=calendar.pk, year=year)),
        "workdays": [label for value, label in WEEKDAYS if value in (calendar.workdays or ())],
    }, status=_status(request))


@require_POST
@perm_required(PERM)
def calendar_day_remove(request, pk: int, day_pk: int):
    calendar = selectors.calendar_get(pk=pk)
    day = selectors.calendar_days(calendar_id=calendar.pk).filter(pk=day_pk).first()
    if day is None:
        raise Http404
    services.calendar_day_remove(actor=request.user, day=day)
    messages.success(request, _("%(date)s removed.") % {"date": day.date.isoformat()})
    return redirect(f"{reverse('tickets:calendar_detail', args=[calendar.pk])}?year={day.date.year}")


@require_POST
@perm_required(PERM)
def calendar_delete(request, pk: int):
    calendar = selectors.calendar_get(pk=pk)
    try:
        services.calendar_delete(actor=request.user, calendar=calendar)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("tickets:calendar_detail", calendar.pk)
    messages.success(request, _("Calendar %(name)s removed.") % {"name": calendar.name})
    return redirect("tickets:calendars")


urlpatterns = [
    path("desk/sla/", sla_policies, name="sla_policies"),
    path("desk/sla/new/", sla_policy_edit, name="sla_policy_new"),
    path("desk/sla/<int:pk>/", sla_policy_edit, name="sla_policy_edit"),
    path("desk/sla/defaults/", sla_defaults, name="sla_defaults"),
    path("desk/calendars/", calendars, name="calendars"),
    path("desk/calendars/new/", calendar_edit, name="calendar_new"),
    path("desk/calendars/<int:pk>/", calendar_detail, name="calendar_detail"),
    path("desk/calendars/<int:pk>/edit/", calendar_edit, name="calendar_edit"),
    path("desk/calendars/<int:pk>/delete/", calendar_delete, name="calendar_delete"),
    path("desk/calendars/<int:pk>/days/<int:day_pk>/remove/", calendar_day_remove, name="calendar_day_remove"),
]
