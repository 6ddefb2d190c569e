"""HTML pages of the tickets app: the branch manager's exception queue (filters, SLA clock,
bulk assign and bulk resolve, each waybill's timeline inline) and the ticket page (timeline,
the waybill's tracking, assign, change status). Thin: parse → service/selector → render."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tenancy.forms import apply_service_errors
from tenancy.views import perm_required

from .. import services
from ..forms.exceptions import (
    ExceptionBulkForm,
    ExceptionQueueFilterForm,
    queue_cursor,
)
from ..selectors import exceptions as selectors

PAGE_SIZE = 50
MAX_REFUSALS_LISTED = 20


# --- the exception queue -----------------------------------------------------------------------

@perm_required("tickets.resolve_exception")
def exception_queue(request):
    """Open exception tickets of the manager's subtree, oldest first, paged by (opened, id).
    POST: a bulk action on the ticked rows; afterwards the same filtered page again."""
    membership = request.membership
    members = list(selectors.assignable_members(membership=membership))
    branches = list(selectors.queue_branches(membership=membership))
    filter_form = ExceptionQueueFilterForm(request.GET or None, members=members, branches=branches)
    bulk_form = ExceptionBulkForm(members=members)
    status = 200
    if request.method == "POST":
        bulk_form = ExceptionBulkForm(request.POST, members=members)
        if bulk_form.is_valid():
            response = _bulk_action(request, bulk_form, members)
            if response is not None:
                return response
        status = 400
    qs = selectors.exception_queue(membership=membership, **filter_form.selector_filters())
    cursor = filter_form.cleaned_data.get("after") if filter_form.is_valid() else None
    rows = selectors.with_sla(list(selectors.after_cursor(qs, cursor)[:PAGE_SIZE + 1]))
    has_next = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    params = request.GET.copy()
    params.pop("after", None)
    ticked = set(request.POST.getlist("ticket")) if request.method == "POST" else set()
    return render(request, "tickets/exception_queue.html", {
        "filter_form": filter_form, "bulk_form": bulk_form, "rows": rows, "ticked": ticked,
        "has_next": has_next, "next_after": queue_cursor(rows[-1]) if has_next else None,
        "query": params.urlencode(), "is_first_page": cursor is None,
        "reach": selectors.reach_of(membership), "filtered": any(filter_form.selector_filters().values()),
    }, status=status)


def _bulk_action(request, form, members):
    """Run the bulk service; report what was done and each refusal with its reason. Returns the
    redirect, or None when the service refused the whole request (errors are on the form)."""
    data = form.cleaned_data
    tickets = selectors.exception_tickets_chosen(membership=request.membership, ids=data["ticket"])
    try:
        if data["action"] == "assign":
            assignee = next(m for m in members if m.pk == data["assignee"])
            done, refused = services.tickets_assign_bulk(actor=request.user, tickets=tickets, assignee=assignee,
                                                         note=data["note"])
            if done:
                messages.success(request, ngettext(
                    "%(n)d ticket assigned to %(name)s.", "%(n)d tickets assigned to %(name)s.", done) % {
                    "n": done, "name": assignee.user.display_name})
        else:
            done, refused = services.tickets_resolve_bulk(actor=request.user, tickets=tickets, note=data["note"])
            if done:
                messages.success(request, ngettext("%(n)d ticket resolved.", "%(n)d tickets resolved.", done) % {
                    "n": done})
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return None
    for ticket, reason in refused[:MAX_REFUSALS_LISTED]:
        messages.warning(request, _("%(number)s was not changed: %(reason)s") % {
            "number": ticket.number, "reason": reason})
    if len(refused) > MAX_REFUSALS_LISTED:
        messages.warning(request, _("… and %(n)d more not changed.") % {"n": len(refused) - MAX_REFUSALS_LISTED})
    missing = len(data["ticket"]) - len(tickets)
    if missing:
        messages.warning(request, ngettext("%(n)d chosen ticket is not in your queue any more.",
                                           "%(n)d chosen tickets are not in your queue any more.", missing)
                         % {"n": missing})
    return redirect(request.get_full_path())


urlpatterns = [
    path("exceptions/", exception_queue, name="exceptions"),
]
