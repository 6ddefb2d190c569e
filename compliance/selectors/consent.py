"""Reads of consent: a person's current answer per purpose, their history, and the set-based
question the survey and marketing jobs ask before contacting anyone."""
from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from ..models import ConsentPurpose, ConsentRecord
from ..rules import CONSENT_DEFAULT


def _subject_match(customer_id: int | None, phone_bidxs: Iterable[str]) -> Q:
    match = Q(pk__in=[])
    if customer_id:
        match |= Q(customer_id=customer_id)
    phone_bidxs = [b for b in phone_bidxs if b]
    if phone_bidxs:
        match |= Q(phone_bidx__in=phone_bidxs)
    return match


def consent_history(*, customer_id: int | None = None, phone_bidxs: Iterable[str] = ()) -> QuerySet[ConsentRecord]:
    return (ConsentRecord.objects.filter(_subject_match(customer_id, phone_bidxs)).select_related("recorded_by")
            .order_by("-recorded_at", "-id"))


def consent_state(*, customer_id: int | None = None, phone_bidxs: Iterable[str] = ()) -> dict[str, dict]:
    """Per purpose: whether contact is allowed now, and the record that decided it (None = the
    default of DOMAIN.md §6: service notifications yes, surveys and marketing no). The newest
    answer wins, whether it was given for the customer record or for the phone number."""
    latest = {}
    for record in (ConsentRecord.objects.filter(_subject_match(customer_id, phone_bidxs))
                   .order_by("purpose", "-recorded_at", "-id").distinct("purpose")):
        latest[record.purpose] = record
    return {
        purpose: {"purpose": purpose, "label": label, "allowed": latest[purpose].granted if purpose in latest
                  else CONSENT_DEFAULT[purpose], "record": latest.get(purpose)}
        for purpose, label in ConsentPurpose.choices
    }


def consent_allows(purpose: str, *, customer_id: int | None = None, phone_bidx: str | None = None) -> bool:
    """May this person be contacted for `purpose` now? (One query.)"""
    record = (ConsentRecord.objects.filter(_subject_match(customer_id, [phone_bidx] if phone_bidx else []),
                                           purpose=purpose)
              .order_by("-recorded_at", "-id").values_list("granted", flat=True).first())
    return CONSENT_DEFAULT[purpose] if record is None else record


Person = tuple[int | None, str | None]  # (customer id, phone blind index)


def consent_allowed(purpose: str, people: Iterable[Person]) -> set[Person]:
    """Of many (customer id, phone blind index) pairs, those that may be contacted for `purpose` —
    for the jobs: two queries whatever the number of people. A pair is allowed when the newest
    answer given for its customer or its phone says yes (or, with no answer, the default does)."""
    people = list(dict.fromkeys(people))
    customer_ids = {c for c, _ in people if c}
    bidxs = {b for _, b in people if b}
    newest_by_customer = {
        c: (t, g) for c, t, g in ConsentRecord.objects.filter(purpose=purpose, customer_id__in=customer_ids)
        .order_by("customer_id", "-recorded_at", "-id").distinct("customer_id")
        .values_list("customer_id", "recorded_at", "granted")
    } if customer_ids else {}
    newest_by_phone = {
        b: (t, g) for b, t, g in ConsentRecord.objects.filter(purpose=purpose, phone_bidx__in=bidxs)
        .order_by("phone_bidx", "-recorded_at", "-id").distinct("phone_bidx")
        .values_list("phone_bidx", "recorded_at", "granted")
    } if bidxs else {}
    allowed = set()
    for customer_id, bidx in people:
        answers = [a for a in (newest_by_customer.get(customer_id), newest_by_phone.get(bidx)) if a]
        decision = max(answers, key=lambda a: a[0])[1] if answers else CONSENT_DEFAULT[purpose]
        if decision:
            allowed.add((customer_id, bidx))
    return allowed
