"""What the compliance app itself holds about a person (compliance.subject): their consent
history, who looked at their records, and their other requests."""
from __future__ import annotations

from django.db.models import Q

from .models import AccessLog, ConsentRecord, DataSubjectRequest, DsrExport
from .subject import Subject, collect_sources, count_sources


def record_targets(subject: Subject) -> dict[str, set[int]]:
    """The person's records by type, as the access log names them."""
    from customers.models import Address, CustomerPhone
    from shipments.privacy import waybills_of
    from tickets.privacy import claims_of, tickets_of

    tickets = set(tickets_of(subject).values_list("pk", flat=True))
    return {
        "customers.customer": set(subject.customer_ids),
        "customers.contact": set(subject.contact_ids),
        "customers.lead": set(subject.lead_ids),
        "customers.customerphone": set(CustomerPhone.objects.filter(customer_id__in=subject.customer_ids)
                                       .values_list("pk", flat=True)),
        "customers.address": set(Address.objects.filter(customer_id__in=subject.customer_ids)
                                 .values_list("pk", flat=True)),
        "shipments.waybill": set(waybills_of(subject).values_list("pk", flat=True)),
        "tickets.ticket": tickets,
        "tickets.claim": set(claims_of(subject, tickets).values_list("pk", flat=True)),
    }


def _access_rows(subject: Subject):
    condition = Q(pk__in=[])
    for target_type, ids in record_targets(subject).items():
        if ids:
            condition |= Q(target_type=target_type, target_id__in=ids)
    return AccessLog.objects.filter(condition)


def _consents(subject: Subject):
    match = Q(customer_id__in=subject.customer_ids)
    if subject.phone_bidxs:
        match |= Q(phone_bidx__in=subject.phone_bidxs)
    return ConsentRecord.objects.filter(match)


def _requests(subject: Subject):
    match = Q(customer_id__in=subject.customer_ids)
    for field, values in (("subject_phone_bidx", subject.phone_bidxs), ("subject_email_bidx", subject.email_bidxs),
                          ("subject_id_number_bidx", subject.id_number_bidxs)):
        if values:
            match |= Q(**{f"{field}__in": values})
    if subject.request_id:
        match |= Q(pk=subject.request_id)
    return DataSubjectRequest.objects.filter(match)


def sources(subject: Subject) -> dict:
    return {
        "consents": (_consents(subject).order_by("pk"),
                     ("customer", "phone", "purpose", "granted", "source", "note", "recorded_at")),
        # Who looked at the person's data and why (the recipients of their data inside the company).
        "access_log": (_access_rows(subject).order_by("pk"),
                       ("action", "actor_role", "target_type", "target_id", "target_label", "fields", "reason",
                        "created_at")),
        "requests": (_requests(subject).order_by("pk"),
                     ("number", "kind", "status", "subject_name", "subject_phone", "subject_email",
                      "subject_id_number", "details", "received_at", "due_at", "completed_at")),
    }


def collect(subject: Subject) -> dict[str, list[dict]]:
    return collect_sources(sources(subject))


def count(subject: Subject) -> dict[str, int]:
    return count_sources(sources(subject))


def erase(subject: Subject, now) -> dict[str, int]:
    """Consent rows lose the phone and its index (the customer link stays: it is anonymised), the
    access log keeps who/when/why but not the record's label, and the person's requests — this one
    included — lose their copy of the person's details (their numbers and outcomes stay)."""
    from tenancy.privileged import redact_rows

    consent_ids = list(_consents(subject).values_list("pk", flat=True))
    access_ids = list(_access_rows(subject).exclude(target_label="").values_list("pk", flat=True))
    requests = list(_requests(subject).values_list("pk", flat=True))
    counts = {
        "consents": redact_rows(ConsentRecord, ["phone", "phone_bidx", "note"], consent_ids),
        "access_log": redact_rows(AccessLog, ["target_label"], access_ids),
        "exports": DsrExport.objects.filter(request_id__in=requests, content__isnull=False).update(content=None),
    }
    from .models import DsrEvent

    events = list(DsrEvent.objects.filter(request_id__in=requests).exclude(body="").values_list("pk", flat=True))
    redact_rows(DsrEvent, ["body"], events)
    counts["requests"] = DataSubjectRequest.objects.filter(pk__in=requests).update(
        subject_name=None, subject_phone=None, subject_phone_bidx=None, subject_email=None, subject_email_bidx=None,
        subject_id_number=None, subject_id_number_bidx=None, details=None, subject_erased_at=now)
    return counts
