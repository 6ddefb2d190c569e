"""What the customers app holds about a person, for data-subject requests (compliance.subject).

A C-end customer record is the person; on a B-end account only the contact who is the person is
theirs (the company itself is not a data subject). Leads carry a contact person's details."""
from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _

from compliance.subject import Subject, add_value, collect_sources, count_sources

from .models import (
    Activity,
    Address,
    Contact,
    Customer,
    CustomerImport,
    CustomerKind,
    CustomerNameGram,
    CustomerPhone,
    Lead,
    MergeRecord,
)

CUSTOMER_FIELDS = ("number", "kind", "name", "status", "province", "city", "district", "source_channel",
                   "id_number", "email", "delivery_window", "delivery_notes", "notes", "segments", "created_at")
CONTACT_FIELDS = ("customer", "name", "title", "phone", "email", "notes", "is_primary", "is_active")
LEAD_FIELDS = ("company_name", "contact_name", "phone", "email", "province", "city", "message", "source",
               "status", "created_at")


def anonymised_name() -> str:
    return _("[anonymised]")


def resolve(subject: Subject) -> None:
    """Find the person's customer, contact and lead records by blind index, then widen the subject
    with those records' own phones and emails (their other numbers find their waybills too)."""
    if subject.phone_bidxs:
        subject.customer_ids |= set(
            CustomerPhone.objects.filter(phone_bidx__in=subject.phone_bidxs, customer__kind=CustomerKind.PERSON)
            .values_list("customer_id", flat=True))
    person_match = Q(pk__in=[])
    if subject.email_bidxs:
        person_match |= Q(email_bidx__in=subject.email_bidxs)
    if subject.id_number_bidxs:
        person_match |= Q(id_number_bidx__in=subject.id_number_bidxs)
    subject.customer_ids |= set(Customer.objects.filter(person_match, kind=CustomerKind.PERSON)
                                .values_list("pk", flat=True))
    contact_match = Q(pk__in=[])
    if subject.phone_bidxs:
        contact_match |= Q(phone_bidx__in=subject.phone_bidxs)
    if subject.email_bidxs:
        contact_match |= Q(email_bidx__in=subject.email_bidxs)
    subject.contact_ids |= set(Contact.objects.filter(contact_match).values_list("pk", flat=True))
    # Records merged into the person's own (kept as an audit trail) are the person's too.
    subject.customer_ids |= set(Customer.objects.filter(merged_into_id__in=subject.customer_ids)
                                .values_list("pk", flat=True))
    lead_match = Q(customer_id__in=subject.customer_ids)
    if subject.phone_bidxs:
        lead_match |= Q(phone_bidx__in=subject.phone_bidxs)
    if subject.email_bidxs:
        lead_match |= Q(email_bidx__in=subject.email_bidxs)
    subject.lead_ids |= set(Lead.objects.filter(lead_match).values_list("pk", flat=True))
    # Widen with the records' own values.
    for phone in CustomerPhone.objects.filter(customer_id__in=subject.customer_ids):
        add_value(subject, "phone", phone.phone)
    for customer in Customer.objects.filter(pk__in=subject.customer_ids):
        add_value(subject, "email", customer.email)
        add_value(subject, "id_number", customer.id_number)
        subject.raw_values.add(customer.name)
    for record in [*Contact.objects.filter(pk__in=subject.contact_ids), *Lead.objects.filter(pk__in=subject.lead_ids)]:
        add_value(subject, "phone", record.phone)
        add_value(subject, "email", record.email)


def _imports_mentioning(subject: Subject) -> list[CustomerImport]:
    """Uploaded import files that still hold one of the person's values (searched in the clear:
    the payload is one sealed file without an index)."""
    needles = [v for v in subject.raw_values if v and len(v) >= 4]
    found = []
    for upload in CustomerImport.objects.filter(payload__isnull=False).order_by("pk"):
        text = upload.payload or ""
        if any(needle in text for needle in needles):
            found.append(upload)
    return found


def sources(subject: Subject) -> dict:
    by_customer = Q(customer_id__in=subject.customer_ids)
    return {
        "customers": (Customer.objects.filter(pk__in=subject.customer_ids).order_by("pk"), CUSTOMER_FIELDS),
        "customer_phones": (CustomerPhone.objects.filter(by_customer).order_by("pk"), ("customer", "phone", "label")),
        "addresses": (Address.objects.filter(by_customer).order_by("pk"),
                      ("customer", "label", "province", "city", "district", "street", "postal_code")),
        "contacts": (Contact.objects.filter(pk__in=subject.contact_ids).order_by("pk"), CONTACT_FIELDS),
        "leads": (Lead.objects.filter(pk__in=subject.lead_ids).order_by("pk"), LEAD_FIELDS),
        "activities": (Activity.objects.filter(by_customer | Q(lead_id__in=subject.lead_ids)).order_by("pk"),
                       ("kind", "customer", "lead", "occurred_at", "summary", "next_action")),
        "merges": (MergeRecord.objects.filter(Q(survivor_id__in=subject.customer_ids)
                                              | Q(merged_id__in=subject.customer_ids)).order_by("pk"),
                   ("survivor", "merged", "merged_number", "merged_name", "created_at")),
        "import_files": (_imports_mentioning(subject), ("kind", "filename", "status", "created_at")),
    }


def collect(subject: Subject) -> dict[str, list[dict]]:
    return collect_sources(sources(subject))


def count(subject: Subject) -> dict[str, int]:
    return count_sources(sources(subject))


def erase(subject: Subject, now) -> dict[str, int]:
    from tenancy.privileged import redact_rows

    counts = {}
    name = anonymised_name()
    # Uploaded files first: finding the person in them needs the values about to be wiped.
    uploads = [u.pk for u in _imports_mentioning(subject)]
    counts["import_files"] = CustomerImport.objects.filter(pk__in=uploads).update(payload=None, errors=[])
    counts["customer_phones"] = CustomerPhone.objects.filter(customer_id__in=subject.customer_ids).delete()[0]
    counts["addresses"] = Address.objects.filter(customer_id__in=subject.customer_ids).delete()[0]
    CustomerNameGram.objects.filter(customer_id__in=subject.customer_ids).delete()
    counts["customers"] = Customer.objects.filter(pk__in=subject.customer_ids).update(
        name=name, id_number=None, id_number_bidx=None, email=None, email_bidx=None, notes="",
        delivery_notes="", search_grams=[], personal_data_erased_at=now)
    counts["contacts"] = Contact.objects.filter(pk__in=subject.contact_ids).update(
        name=name, title="", phone=None, phone_bidx=None, email=None, email_bidx=None, notes="", is_active=False)
    counts["leads"] = Lead.objects.filter(pk__in=subject.lead_ids).update(
        contact_name=name, phone=None, phone_bidx=None, email=None, email_bidx=None, message="")
    counts["activities"] = Activity.objects.filter(
        Q(customer_id__in=subject.customer_ids) | Q(lead_id__in=subject.lead_ids)).update(summary=name, next_action="")
    merge_ids = list(MergeRecord.objects.filter(Q(survivor_id__in=subject.customer_ids)
                                                | Q(merged_id__in=subject.customer_ids)).values_list("pk", flat=True))
    counts["merges"] = redact_rows(MergeRecord, ["merged_name"], merge_ids)
    return counts
