"""HTML pages of the shipments app: the agents' waybill search, the waybill page (details,
sender and receiver masked, tracking timeline, tickets, delivery consents) and the timeline
fragment other pages expand inline (customer 360, exception queue).
Thin: parse → service/selector → render."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers.selectors import customer_get
from tenancy.forms import apply_service_errors
from tenancy.views import perm_required
from tickets.selectors import tickets_of_waybill
from tickets.selectors.claims import claims_of_waybill

from . import selectors, services
from .forms import DeliveryConsentForm, WaybillSearchForm
from .models import WaybillStatus

PAGE_SIZE = 50


@perm_required("shipments.view_waybill")
def waybill_list(request):
    """Search by waybill number, phone or customer number; newest first, paged by id (keyset).
    One exact waybill-number match opens that waybill."""
    form = WaybillSearchForm(request.GET or None)
    filters = form.selector_filters()
    qs = selectors.waybill_search(**filters)
    after = form.cleaned_data.get("after") if form.is_valid() else None
    if after:
        qs = qs.filter(pk__lt=after)
    rows = list(qs[:PAGE_SIZE + 1])
    query = filters["q"]
    if query and not after and len(rows) == 1 and rows[0].number.upper() == query.upper():
        return redirect("shipments:detail", rows[0].pk)
    has_next = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    params = request.GET.copy()
    params.pop("after", None)
    return render(request, "shipments/waybill_list.html", {
        "form": form, "rows": rows, "has_next": has_next, "next_after": rows[-1].pk if has_next else None,
        "query": params.urlencode(), "is_first_page": not after, "statuses": WaybillStatus.choices,
        "searched": bool(query),
    })


def _detail_context(request, waybill, consent_form=None) -> dict:
    return {
        "waybill": waybill, "overdue": selectors.waybill_is_overdue(waybill),
        "events": selectors.waybill_timeline(waybill_id=waybill.pk),
        "tickets": tickets_of_waybill(waybill_id=waybill.pk) if request.user.has_perm("tickets.view_ticket") else None,
        "claims": claims_of_waybill(membership=request.membership, waybill_id=waybill.pk)
        if request.user.has_perm("tickets.view_claim") else None,
        "consents": selectors.waybill_consents(waybill_id=waybill.pk),
        "consent_form": consent_form or (DeliveryConsentForm() if request.user.has_perm(
            "shipments.add_deliveryconsent") else None),
    }


@perm_required("shipments.view_waybill")
def waybill_detail(request, pk: int):
    waybill = selectors.waybill_get(pk=pk)
    return render(request, "shipments/waybill_detail.html", _detail_context(request, waybill))


@perm_required("shipments.add_deliveryconsent")
@require_POST
def consent_add(request, pk: int):
    """Record the receiver's consent to a locker / neighbour delivery; errors keep what was typed."""
    waybill = selectors.waybill_get(pk=pk)
    form = DeliveryConsentForm(request.POST)
    if form.is_valid():
        try:
            services.delivery_consent_record(actor=request.user, membership=request.membership, waybill=waybill,
                                             **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The receiver's consent is recorded."))
            return redirect("shipments:detail", waybill.pk)
    return render(request, "shipments/waybill_detail.html", _detail_context(request, waybill, form), status=400)


@perm_required("shipments.view_trackingevent")
def waybill_timeline(request, pk: int):
    """A waybill's tracking timeline as a fragment (htmx expands it inline in other pages)."""
    waybill = selectors.waybill_get(pk=pk)
    if not request.htmx:
        return redirect("shipments:detail", waybill.pk)
    return render(request, "shipments/_timeline.html", {
        "waybill": waybill, "events": selectors.waybill_timeline(waybill_id=waybill.pk), "fragment": True})


@perm_required("shipments.view_waybill")
def customer_waybills(request, customer_id: int):
    """The customer 360's "recent waybills" rows (htmx, loaded after the page so the 360 stays
    within its query budget): the last 10 the customer sent or receives."""
    customer = customer_get(pk=customer_id)
    if not request.htmx:
        return redirect(f"{reverse('shipments:list')}?{urlencode({'q': customer.number})}")
    return render(request, "shipments/_customer_waybills.html", {
        "customer": customer, "waybills": selectors.customer_recent_waybills(customer_id=customer.pk, limit=10)})
