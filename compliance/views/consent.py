"""The consent page: look a person up by phone number or customer number, see their current answer
per purpose and the history, and (manage_consent) record a grant or a withdrawal.

A phone number is looked up by POST and never written back into the page or a URL: the record
form carries it sealed under the company's data key, bound to the person using the page."""
from __future__ import annotations

import base64

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _

from tenancy import crypto
from tenancy.forms import apply_service_errors
from tenancy.masking import mask_phone
from tenancy.normalize import normalize_phone
from tenancy.scoping import current_tenant_id
from tenancy.selectors import blind_indexes_for
from tenancy.views import perm_required

from ..forms.consent import ConsentLookupForm, ConsentRecordForm
from ..selectors.consent import consent_history, consent_state
from ..services.consent import consent_record

HISTORY_ROWS = 100
TOKEN_TABLE, TOKEN_COLUMN = "consent_lookup", "phone"


def phone_token(phone: str, user) -> str:
    blob = crypto.seal(phone, tenant_id=current_tenant_id(), table=TOKEN_TABLE, column=TOKEN_COLUMN, row_id=user.pk)
    return base64.urlsafe_b64encode(blob).decode()


def phone_from_token(token: str, user) -> str | None:
    try:
        blob = base64.urlsafe_b64decode(token.encode())
        return crypto.unseal(blob, tenant_id=current_tenant_id(), table=TOKEN_TABLE, column=TOKEN_COLUMN,
                             row_id=user.pk)
    except (ValueError, TypeError):  # DecryptionError is a ValueError; a mangled token is no lookup
        return None


def customer_subject(customer) -> dict:
    from customers.models import CustomerPhone

    bidxs = list(CustomerPhone.objects.filter(customer=customer).values_list("phone_bidx", flat=True))
    return {"customer": customer, "phone": None, "bidxs": [b for b in bidxs if b], "token": ""}


def phone_subject(phone: str, user) -> dict:
    from customers.models import Customer, CustomerPhone

    bidxs = blind_indexes_for("phone", phone)
    holders = list(Customer.objects.filter(pk__in=CustomerPhone.objects.filter(phone_bidx__in=bidxs)
                                           .values("customer_id"))[:10]) if bidxs else []
    return {"customer": None, "phone": phone, "masked_phone": mask_phone(phone), "bidxs": bidxs,
            "token": phone_token(phone, user), "holders": holders}


def lookup_subject(value: str, user) -> dict:
    """A customer number or a phone number typed into the lookup box → the person, or a field error."""
    from customers.selectors.records import NUMBER_RE

    from .requests import customer_by_number

    value = (value or "").strip()
    if NUMBER_RE.match(value):
        return customer_subject(customer_by_number(value, field="lookup"))
    try:
        return phone_subject(normalize_phone(value), user)
    except Exception as exc:  # noqa: BLE001 — anything that does not parse is the user's typo
        raise ValidationError({"lookup": _("Enter a phone number or a customer number.")}) from exc


def _context(subject: dict | None) -> dict:
    if subject is None:
        return {"subject": None}
    customer = subject["customer"]
    customer_id = customer.pk if customer else None
    state = consent_state(customer_id=customer_id, phone_bidxs=subject["bidxs"])
    history = list(consent_history(customer_id=customer_id, phone_bidxs=subject["bidxs"])[:HISTORY_ROWS])
    return {"subject": subject, "state": list(state.values()), "history": history}


@perm_required("compliance.view_consent")
def consent_page(request):
    user = request.user
    action = request.POST.get("action", "") if request.method == "POST" else ""
    lookup_form = ConsentLookupForm(request.POST if action == "lookup" else None)
    record_form = ConsentRecordForm(request.POST if action == "record" else None)
    subject, status = None, 200
    if request.GET.get("customer", "").isdecimal():
        from customers.models import Customer

        subject = customer_subject(get_object_or_404(Customer.objects.all(), pk=int(request.GET["customer"])))
    if action == "lookup":
        if lookup_form.is_valid():
            try:
                subject = lookup_subject(lookup_form.cleaned_data["lookup"], user)
            except ValidationError as exc:
                apply_service_errors(lookup_form, exc)
                status = 400
            else:
                if subject["customer"] is not None:
                    return redirect(f"{reverse('compliance:consent')}?customer={subject['customer'].pk}")
                lookup_form = ConsentLookupForm()  # the number typed is not written back into the page
        else:
            status = 400
    elif action == "record":
        if not user.has_perm("compliance.manage_consent"):
            raise PermissionDenied
        if subject is None:
            phone = phone_from_token(request.POST.get("subject_token", ""), user)
            if phone is None:
                return render(request, "compliance/consent.html", {"lookup_form": lookup_form, "subject": None},
                              status=400)
            subject = phone_subject(phone, user)
        if record_form.is_valid():
            data = record_form.cleaned_data
            try:
                consent_record(actor=user, purpose=data["purpose"], granted=data["granted"], source=data["source"],
                               note=data["note"], customer=subject["customer"], phone=subject["phone"])
            except ValidationError as exc:
                apply_service_errors(record_form, exc)
                status = 400
            else:
                messages.success(request, _("Answer recorded."))
                if subject["customer"] is not None:
                    return redirect(f"{reverse('compliance:consent')}?customer={subject['customer'].pk}")
                record_form = ConsentRecordForm()
        else:
            status = 400
    elif action:
        status = 400
    return render(request, "compliance/consent.html", {
        "lookup_form": lookup_form, "record_form": record_form, **_context(subject)}, status=status)


@perm_required("compliance.view_consent")
def consent_panel(request, pk: int):
    """The customer 360 page's consent card (loaded with htmx after the page, which keeps the 360
    within its query budget): the state per purpose and a link to the consent page."""
    from customers.models import Customer

    subject = customer_subject(get_object_or_404(Customer.objects.all(), pk=pk))
    return render(request, "compliance/consent_panel.html", {"customer": subject["customer"],
                                                             **_context(subject)})


urlpatterns = [
    path("consent/", consent_page, name="consent"),
    path("consent/customers/<int:pk>/panel/", consent_panel, name="consent_panel"),
]
