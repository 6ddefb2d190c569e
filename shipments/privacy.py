"""What the shipments app holds about a person (compliance.subject), and the anonymisation of
waybills shared by deletion requests and the retention job.

A waybill names two people: the sender and the receiver. Anonymising a party blanks its name,
phone, blind index (and, for the receiver, the street address); the parcel's route, dates,
weights, fees and customer links stay, so volumes, SLA figures and claims add up as before."""
from __future__ import annotations

from django.db.models import Q

from compliance.subject import Subject, collect_sources, count_sources

from .models import DeliveryConsent, Waybill

PARTIES = ("sender", "receiver")
WAYBILL_FIELDS = ("number", "status", "product", "shipped_at", "delivered_at", "sender", "sender_name",
                  "sender_phone", "receiver", "receiver_name", "receiver_phone", "receiver_address",
                  "receiver_province", "receiver_city", "weight_kg", "declared_value", "insured_amount",
                  "service_fee")


def _party_match(subject: Subject, party: str) -> Q:
    match = Q(**{f"{party}_id__in": subject.customer_ids})
    if subject.phone_bidxs:
        match |= Q(**{f"{party}_phone_bidx__in": subject.phone_bidxs})
    return match


def waybills_of(subject: Subject):
    return Waybill.objects.filter(_party_match(subject, "sender") | _party_match(subject, "receiver"))


def sources(subject: Subject) -> dict:
    waybills = waybills_of(subject)
    return {
        "waybills": (waybills.order_by("pk"), WAYBILL_FIELDS),
        "delivery_consents": (DeliveryConsent.objects.filter(waybill__in=waybills.values("pk")).order_by("pk"),
                              ("waybill", "method", "source", "note", "recorded_at")),
    }


def collect(subject: Subject) -> dict[str, list[dict]]:
    return collect_sources(sources(subject))


def count(subject: Subject) -> dict[str, int]:
    return count_sources(sources(subject))


def erase_waybills(*, waybill_ids, now, parties=PARTIES) -> int:
    """Anonymise the given parties of the given waybills and redact the receivers' delivery-consent
    notes. With both parties, the waybill is marked `personal_data_erased_at` (the retention job
    skips it from then on). Returns the waybills changed. Safe to repeat."""
    from tenancy.privileged import redact_rows

    waybill_ids = list(waybill_ids)
    if not waybill_ids:
        return 0
    changes = {}
    if "sender" in parties:
        changes.update(sender_name="", sender_phone=None, sender_phone_bidx=None)
    if "receiver" in parties:
        changes.update(receiver_name="", receiver_phone=None, receiver_phone_bidx=None, receiver_address=None)
        notes = list(DeliveryConsent.objects.filter(waybill_id__in=waybill_ids).exclude(note="")
                     .values_list("pk", flat=True))
        redact_rows(DeliveryConsent, ["note"], notes)
    if set(parties) >= set(PARTIES):
        changes["personal_data_erased_at"] = now
    return Waybill.objects.filter(pk__in=waybill_ids).update(**changes)


def erase(subject: Subject, now) -> dict[str, int]:
    counts = {}
    for party in PARTIES:
        ids = list(Waybill.objects.filter(_party_match(subject, party)).values_list("pk", flat=True))
        counts[f"waybills_{party}"] = erase_waybills(waybill_ids=ids, now=now, parties=(party,))
    return counts
