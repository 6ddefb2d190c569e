"""HTML pages of customer records: list and lookup, create/edit, the customer 360 page with its
phones, addresses, contacts, tags and follow-ups, duplicates and merge, tags, contracts.
Thin: parse → service/selector → render. Sales pages are in views_sales.py, import/export in
views_io.py."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from compliance.selectors import access_log_for_records
from tenancy.forms import apply_service_errors
from tenancy.views import perm_required

from . import regions, selectors, services
from .forms import (
    ActivityForm,
    AddressForm,
    ContactForm,
    ContractForm,
    CustomerFilterForm,
    CustomerForm,
    LaneForm,
    MergeForm,
    PhoneForm,
    PriceQuoteForm,
    TagAssignForm,
    TagForm,
    TerminateForm,
)
from .models import Address, Contact, ContractLane, ContractStatus, CustomerKind, CustomerPhone, CustomerStatus, Tag
from .rules import SEGMENT_LABELS
from .selectors.records import with_list_extras
from .selectors.retention import churn_reasons, reason_sentences

PAGE_SIZE = 50


# --- list and lookup ---------------------------------------------------------------------------

@perm_required("customers.view_customer")
def customer_list(request):
    """Filtered list, newest first, paged by id (keyset: no COUNT over a million rows)."""
    form = CustomerFilterForm(request.GET or None)
    filters = form.selector_filters()
    qs = selectors.customer_list(**filters)
    after = form.cleaned_data.get("after") if form.is_valid() else None
    if after:
        qs = qs.filter(pk__lt=after)
    rows = with_list_extras(list(qs[:PAGE_SIZE + 1]))
    has_next = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    query = request.GET.copy()
    query.pop("after", None)
    return render(request, "customers/customer_list.html", {
        "form": form, "rows": rows, "has_next": has_next, "next_after": rows[-1].pk if has_next else None,
        "query": query.urlencode(), "is_first_page": not after, "segments": SEGMENT_LABELS,
        "tags": Tag.objects.order_by("name"), "kinds": CustomerKind.choices,
    })


@perm_required("customers.view_customer")
def lookup(request):
    """The agent's lookup box (htmx): phone number, customer number, name or waybill number."""
    query = request.GET.get("q", "").strip()
    results = selectors.customer_lookup(query) if len(query) >= 1 else []
    template = "customers/_lookup_results.html" if request.htmx else "customers/lookup.html"
    return render(request, template, {"q": query, "results": with_list_extras(results)})


# --- create / edit -----------------------------------------------------------------------------

@perm_required("customers.add_customer")
def customer_create(request):
    kind = request.GET.get("kind") or request.POST.get("kind") or CustomerKind.PERSON
    if kind not in CustomerKind.values:
        raise Http404
    form = CustomerForm(request.POST or None, kind=kind)
    duplicates = []
    if request.method == "POST" and form.is_valid():
        customer, duplicates = _create_from_form(request, form, kind)
        if customer is not None:
            messages.success(request, _("Customer %(number)s created.") % {"number": customer.number})
            return redirect("customers:detail", customer.pk)
    return render(request, "customers/customer_form.html", {
        "form": form, "kind": kind, "duplicates": with_list_extras(duplicates),
        "city_options": regions.city_names(form["province"].value() or ""),
        "title": _("New B-end account") if kind == CustomerKind.ACCOUNT else _("New C-end person"),
    })


def _create_from_form(request, form, kind):
    """Validate first, then look for duplicates of the valid entry; create only when there are
    none or the user confirmed. Returns (customer or None, possible duplicates)."""
    data = form.service_fields()
    try:
        cleaned = services.records.customer_validate(kind=kind, phones=form.phone_list(), **data)
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return None, []
    duplicates = selectors.possible_duplicates(kind=kind, name=cleaned["name"], city=cleaned.get("city", ""),
                                               phones=cleaned["phones"], credit_code=cleaned.get("credit_code", ""))
    if duplicates and not form.cleaned_data.get("confirm_not_duplicate"):
        form.add_error(None, _("This looks like a customer we already have. Open the existing record, or "
                               "tick the box below to create a new one anyway."))
        return None, duplicates
    try:
        return services.customer_create(actor=request.user, kind=kind, phones=form.phone_list(), **data), duplicates
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return None, duplicates


@perm_required("customers.change_customer")
def customer_edit(request, pk: int):
    customer = selectors.customer_get(pk=pk)
    if customer.status == CustomerStatus.MERGED:
        messages.info(request, _("This record was merged; you are looking at the record it was merged into."))
        return redirect("customers:detail", customer.merged_into_id)
    initial = {f: getattr(customer, f) for f in services.records.EDITABLE_FIELDS
               if f not in ("email", "id_number") and hasattr(customer, f)}
    form = CustomerForm(request.POST or None, kind=customer.kind, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = form.service_fields()
        for personal in ("email", "id_number"):
            if personal in changes and not changes[personal]:
                changes.pop(personal)  # empty = keep the sealed value
        try:
            services.customer_update(actor=request.user, customer=customer, **changes)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("customers:detail", customer.pk)
    return render(request, "customers/customer_form.html", {
        "form": form, "kind": customer.kind, "customer": customer, "editing": True,
        "city_options": regions.city_names(form["province"].value() or ""),
        "title": _("Edit %(name)s") % {"name": customer.display_name},
    })


# --- customer 360 ------------------------------------------------------------------------------

# Sections other apps add to the customer 360 page: (template, context builder(view) → dict).
# Each builder makes at most one query (customer 360 has a budget of 8 queries in all).
CUSTOMER_360_SECTIONS: list[tuple[str, callable]] = []


def _volume_section(view) -> dict:
    from shipments.selectors import customer_volume_summary

    return {"volume": customer_volume_summary(customer_id=view.customer.pk, days=90)}


CUSTOMER_360_SECTIONS.append(("customers/_360_volume.html", _volume_section))


def _rows_loaded_later(view) -> dict:
    """Cards whose rows load with htmx right after the page, so the 360 stays within its query
    budget: recent waybills (shipments.views.customer_waybills, one query) and service tickets
    (tickets.views.tickets.customer_tickets, two queries) and claims (tickets.views.claims.customer_claims)."""
    return {}


CUSTOMER_360_SECTIONS.append(("shipments/_360_waybills.html", _rows_loaded_later))
CUSTOMER_360_SECTIONS.append(("tickets/_360_tickets.html", _rows_loaded_later))
CUSTOMER_360_SECTIONS.append(("tickets/claims/_360_claims.html", _rows_loaded_later))


@perm_required("customers.view_customer")
def customer_detail(request, pk: int):
    view = selectors.customer_360(pk=pk)
    customer = view.customer
    if customer.status == CustomerStatus.MERGED and customer.merged_into_id:
        messages.info(request, _("%(number)s was merged into this record.") % {"number": customer.number})
        return redirect("customers:detail", customer.merged_into_id)
    sections = [(template, builder(view)) for template, builder in CUSTOMER_360_SECTIONS]
    records = ([("customers.customer", customer.pk)] + [("customers.customerphone", p.pk) for p in view.phones]
               + [("customers.address", a.pk) for a in view.addresses]
               + [("customers.contact", c.pk) for c in view.contacts])
    return render(request, "customers/customer_detail.html", {
        "view": view, "customer": customer, "sections": sections,
        "segment_labels": [SEGMENT_LABELS.get(s, s) for s in customer.segments],
        "access_log": access_log_for_records(records, limit=10),
        "phone_form": PhoneForm(), "address_form": AddressForm(), "contact_form": ContactForm(),
        "activity_form": ActivityForm(), "tag_form": TagAssignForm() if request.user.has_perm(
            "customers.change_customer") else None,
        # The churn card's reasons in words (no query: the churn row comes with the customer); its
        # open task and past alerts load with htmx (views_retention.customer_churn_history).
        "churn_reasons": reason_sentences(churn_reasons(customer)),
    })


def _post_form_on_customer(request, pk, form_class, call, success):
    customer = selectors.customer_get(pk=pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            call(customer, form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, success)
            return redirect("customers:detail", customer.pk)
    return render(request, "customers/customer_subform.html", {
        "customer": customer, "form": form, "action": request.path,
        "city_options": regions.city_names(form["province"].value() or "") if "province" in form.fields else [],
    }, status=400)


@perm_required("customers.change_customer")
@require_POST
def phone_add(request, pk: int):
    return _post_form_on_customer(request, pk, PhoneForm, lambda c, d: services.customer_phone_add(
        actor=request.user, customer=c, phone=d["phone"], label=d["label"], primary=d["primary"]),
        _("Phone number added."))


@perm_required("customers.change_customer")
@require_POST
def phone_remove(request, pk: int):
    phone = get_object_or_404(CustomerPhone.objects.all(), pk=pk)
    services.customer_phone_remove(actor=request.user, phone=phone)
    messages.success(request, _("Phone number removed."))
    return redirect("customers:detail", phone.customer_id)


@perm_required("customers.change_customer")
@require_POST
def address_add(request, pk: int):
    return _post_form_on_customer(request, pk, AddressForm, lambda c, d: services.address_add(
        actor=request.user, customer=c, **d), _("Address added."))


@perm_required("customers.change_customer")
@require_POST
def address_remove(request, pk: int):
    address = get_object_or_404(Address.objects.all(), pk=pk)
    services.address_remove(actor=request.user, address=address)
    messages.success(request, _("Address removed."))
    return redirect("customers:detail", address.customer_id)


@perm_required("customers.change_customer")
@require_POST
def contact_add(request, pk: int):
    return _post_form_on_customer(request, pk, ContactForm, lambda c, d: services.contact_create(
        actor=request.user, customer=c, **d), _("Contact added."))


@perm_required("customers.change_customer")
def contact_edit(request, pk: int):
    contact = get_object_or_404(Contact.objects.select_related("customer"), pk=pk)
    form = ContactForm(request.POST or None, initial={"name": contact.name, "title": contact.title,
                                                      "notes": contact.notes, "is_primary": contact.is_primary})
    if request.method == "POST" and request.POST.get("delete"):
        services.contact_remove(actor=request.user, contact=contact)
        messages.success(request, _("Contact removed."))
        return redirect("customers:detail", contact.customer_id)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.contact_update(actor=request.user, contact=contact, name=data["name"], title=data["title"],
                                    phone=data["phone"] or (contact.phone or ""),
                                    email=data["email"] or (contact.email or ""), notes=data["notes"],
                                    is_primary=data["is_primary"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("customers:detail", contact.customer_id)
    return render(request, "customers/contact_form.html", {"form": form, "contact": contact})


@perm_required("customers.change_customer")
@require_POST
def tag_assign(request, pk: int):
    customer = selectors.customer_get(pk=pk)
    remove = request.POST.get("remove")
    if remove:
        tag = get_object_or_404(Tag.objects.all(), pk=remove if remove.isdigit() else 0)
        services.customer_tag_remove(actor=request.user, customer=customer, tag=tag)
        messages.success(request, _("Tag removed."))
    else:
        form = TagAssignForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose a tag."))
        else:
            services.customer_tag_add(actor=request.user, customer=customer, tag=form.cleaned_data["tag"])
            messages.success(request, _("Tag added."))
    return redirect("customers:detail", customer.pk)


@perm_required("customers.change_customer")
@require_POST
def customer_activity_add(request, pk: int):
    return _post_form_on_customer(request, pk, ActivityForm, lambda c, d: services.activity_log(
        actor=request.user, customer=c, **d), _("Follow-up recorded."))


# --- tags --------------------------------------------------------------------------------------

@perm_required("customers.view_customer")
def tag_list(request):
    form = TagForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("customers.manage_tags"):
            raise PermissionDenied
        if form.is_valid():
            try:
                services.tag_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Tag created."))
                return redirect("customers:tags")
    return render(request, "customers/tag_list.html", {"tags": selectors.tag_list(), "form": form,
                                                       "segments": SEGMENT_LABELS})


# --- duplicates and merge ----------------------------------------------------------------------

@perm_required("customers.merge_customer")
def duplicate_list(request):
    if request.method == "POST" and request.POST.get("scan"):
        found = services.duplicates_scan()
        messages.success(request, _("Scan finished: %(n)s possible duplicate pairs.") % {"n": found})
        return redirect("customers:duplicates")
    status = request.GET.get("status", "open")
    qs = selectors.duplicate_queue(status=status if status in ("open", "merged", "dismissed") else "open",
                                   reason=request.GET.get("reason", ""))
    pairs = list(qs[:100])
    return render(request, "customers/duplicate_list.html", {
        "pairs": pairs, "status": status, "history": selectors.merge_history()[:20],
    })


@perm_required("customers.merge_customer")
@require_POST
def duplicate_dismiss(request, pk: int):
    candidate = get_object_or_404(selectors.duplicate_queue(), pk=pk)
    services.duplicate_dismiss(actor=request.user, candidate=candidate)
    messages.success(request, _("Marked as not a duplicate."))
    return redirect("customers:duplicates")


@perm_required("customers.merge_customer")
def merge(request):
    """GET: preview of merging `merged` into `survivor` (nothing changes); POST: merge."""
    form = MergeForm(request.POST or request.GET or None)
    plan = None
    if form.is_valid():
        survivor = selectors.customer_get(pk=form.cleaned_data["survivor"])
        merged = selectors.customer_get(pk=form.cleaned_data["merged"])
        plan = services.merge_preview(actor=request.user, survivor=survivor, merged=merged)
        if request.method == "POST" and not plan.problems:
            try:
                record = services.customer_merge(actor=request.user, survivor=survivor, merged=merged,
                                                 reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("%(merged)s was merged into %(survivor)s.") % {
                    "merged": record.merged_number, "survivor": survivor.number})
                return redirect("customers:detail", survivor.pk)
    return render(request, "customers/merge.html", {"form": form, "plan": plan})


# --- contracts ---------------------------------------------------------------------------------

@perm_required("customers.view_contract")
def contract_list(request):
    status = request.GET.get("status", "")
    expiring = request.GET.get("expiring") == "1"
    if expiring:
        qs = selectors.contracts_expiring()
    else:
        qs = selectors.contract_list(status=status if status in (*ContractStatus.values, "expired") else "")
    after = request.GET.get("after", "")
    if after.isdigit():
        qs = qs.filter(pk__lt=int(after)).order_by("-id")
    rows = list(qs[:PAGE_SIZE + 1])
    return render(request, "customers/contract_list.html", {
        "rows": rows[:PAGE_SIZE], "has_next": len(rows) > PAGE_SIZE, "status": status, "expiring": expiring,
        "next_after": rows[PAGE_SIZE - 1].pk if len(rows) > PAGE_SIZE else None,
        "statuses": ContractStatus.choices,
    })


@perm_required("customers.add_contract")
def contract_create(request, pk: int):
    customer = selectors.customer_get(pk=pk)
    form = ContractForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contract = services.contract_create(actor=request.user, customer=customer, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Draft contract %(number)s created: add its prices, then activate it.")
                             % {"number": contract.number})
            return redirect("customers:contract_detail", contract.pk)
    return render(request, "customers/contract_form.html", {"form": form, "customer": customer})


@perm_required("customers.view_contract")
def contract_detail(request, pk: int):
    contract = selectors.contract_get(pk=pk)
    lane_form = LaneForm(prefix="lane")
    quote_form = PriceQuoteForm(request.GET or None, prefix="quote")
    terminate_form = TerminateForm(prefix="end")
    quote, quote_missing = None, False
    if quote_form.is_valid():
        data = quote_form.cleaned_data
        quote = selectors.price_quote(customer=contract.customer, origin_province=data["origin_province"],
                                      destination_province=data["destination_province"], weight_kg=data["weight_kg"],
                                      on=data["on"])
        quote_missing = quote is None
    if request.method == "POST":
        if not request.user.has_perm("customers.change_contract"):
            raise PermissionDenied
        action = request.POST.get("action")
        try:
            if action == "lane":
                lane_form = LaneForm(request.POST, prefix="lane")
                if lane_form.is_valid():
                    services.contract_lane_add(actor=request.user, contract=contract, **lane_form.cleaned_data)
                    messages.success(request, _("Price added."))
                    return redirect("customers:contract_detail", contract.pk)
            elif action == "remove_lane":
                lane = get_object_or_404(ContractLane.objects.filter(contract=contract),
                                         pk=int(request.POST.get("lane", "0") or 0))
                services.contract_lane_remove(actor=request.user, lane=lane)
                messages.success(request, _("Price removed."))
                return redirect("customers:contract_detail", contract.pk)
            elif action == "activate":
                services.contract_activate(actor=request.user, contract=contract)
                messages.success(request, _("The contract is in force."))
                return redirect("customers:contract_detail", contract.pk)
            elif action == "terminate":
                terminate_form = TerminateForm(request.POST, prefix="end")
                if terminate_form.is_valid():
                    services.contract_terminate(actor=request.user, contract=contract,
                                                on=terminate_form.cleaned_data["on"],
                                                reason=terminate_form.cleaned_data["reason"])
                    messages.success(request, _("The contract was terminated."))
                    return redirect("customers:contract_detail", contract.pk)
        except ValidationError as exc:
            target = terminate_form if action == "terminate" else lane_form
            apply_service_errors(target, exc)
        except ValueError as exc:
            raise Http404 from exc
    return render(request, "customers/contract_detail.html", {
        "contract": contract, "lane_form": lane_form, "quote_form": quote_form, "quote": quote,
        "quote_missing": quote_missing, "terminate_form": terminate_form,
    }, status=400 if request.method == "POST" else 200)
