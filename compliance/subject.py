"""A data subject as the apps can find them, and the contract of each app's `privacy` module.

A person is known by what they gave us: phone numbers, email addresses and ID numbers (looked up
through blind indexes, never by plaintext) and the customer, contact and lead records that carry
them. `subject_resolve` turns a request into a `Subject`; every app in `PRIVACY_MODULES` then
answers two calls:

- `sources(subject) -> dict[section, (rows, field names)]` — everything the app holds about the
  person (querysets, evaluated only when read); `collect(subject)` turns them into the access
  export's plain rows (each naming its record type and id) and `count(subject)` counts them for
  the deletion preview;
- `erase(subject, now) -> dict[section, count]` — anonymise: personal fields wiped or replaced,
  blind indexes removed, money, dates and statistics kept (the fine ledger is never touched).

`collect` runs before `erase` in the same order, so an app may rely on earlier apps' results
being present in the subject (customers first: it widens the subject with the records' own
phones and emails).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module

from django.utils.translation import gettext_lazy as _

from tenancy.fields import EncryptedTextField

PRIVACY_MODULES = ("customers.privacy", "shipments.privacy", "tickets.privacy", "compliance.privacy")


@dataclass
class Subject:
    customer_ids: set[int] = field(default_factory=set)
    contact_ids: set[int] = field(default_factory=set)
    lead_ids: set[int] = field(default_factory=set)
    phone_bidxs: set[str] = field(default_factory=set)
    email_bidxs: set[str] = field(default_factory=set)
    id_number_bidxs: set[str] = field(default_factory=set)
    # Plain values the person gave or that their records hold: only to find them inside files
    # that have no index (import payloads); never stored.
    raw_values: set[str] = field(default_factory=set)
    request_id: int | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.customer_ids or self.contact_ids or self.lead_ids or self.phone_bidxs
                    or self.email_bidxs or self.id_number_bidxs)


def live_blind_indexes(kind: str, value: str | None) -> set[str]:
    """The blind indexes of a value under every index key still in use (a rotation may be under
    way), or none if the value does not parse."""
    from tenancy.selectors import blind_indexes_for

    return set(blind_indexes_for(kind, value)) if value else set()


def add_value(subject: Subject, kind: str, value: str | None) -> None:
    """Widen the subject with one more phone / email / ID number."""
    if not value:
        return
    target = {"phone": subject.phone_bidxs, "email": subject.email_bidxs,
              "id_number": subject.id_number_bidxs}[kind]
    target |= live_blind_indexes(kind, value)
    subject.raw_values.add(value)


def export_row(obj, field_names: list[str] | tuple[str, ...]) -> dict:
    """One record as the person receives it: its type and id, and the named fields in plain form
    (sealed values decrypted, dates ISO, choices with their stored code)."""
    row = {"record_type": obj._meta.label_lower, "id": obj.pk}
    for name in field_names:
        model_field = obj._meta.get_field(name)
        value = getattr(obj, model_field.attname if model_field.is_relation else name)
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif isinstance(value, bytes | memoryview) and not isinstance(model_field, EncryptedTextField):
            value = None
        elif value is not None and not isinstance(value, str | int | float | bool | list | dict):
            value = str(value)
        row[name] = value
    return row


def collect_sources(sources: dict) -> dict[str, list[dict]]:
    """The export sections from an app's `sources(subject)`: {section: (rows, field names)}."""
    return {name: [export_row(obj, fields) for obj in rows] for name, (rows, fields) in sources.items()}


def count_sources(sources: dict) -> dict[str, int]:
    """How many records each section holds, without reading or decrypting them (the preview)."""
    return {name: len(rows) if isinstance(rows, list) else rows.count() for name, (rows, _f) in sources.items()}


def privacy_modules():
    return [import_module(name) for name in PRIVACY_MODULES]


# What each export / erasure section is, for people (the handler's page, the preview).
SECTION_LABELS = {
    "customers.customers": _("Customer records"),
    "customers.customer_phones": _("Customer phone numbers"),
    "customers.addresses": _("Addresses"),
    "customers.contacts": _("Contact persons"),
    "customers.leads": _("Sales leads"),
    "customers.activities": _("Sales activities"),
    "customers.merges": _("Merge records"),
    "customers.import_files": _("Uploaded import files"),
    "shipments.waybills": _("Waybills"),
    "shipments.waybills_sender": _("Waybills (as sender)"),
    "shipments.waybills_receiver": _("Waybills (as receiver)"),
    "shipments.delivery_consents": _("Delivery consents"),
    "tickets.tickets": _("Service tickets"),
    "tickets.ticket_messages": _("Ticket messages"),
    "tickets.surveys": _("Satisfaction surveys"),
    "tickets.outbound_messages": _("Messages sent"),
    "tickets.attachments": _("Ticket attachments"),
    "tickets.claims": _("Claims"),
    "tickets.claim_messages": _("Claim notes"),
    "tickets.claim_payouts": _("Claim payouts"),
    "compliance.consents": _("Consent answers"),
    "compliance.access_log": _("Access-log entries"),
    "compliance.requests": _("Data-subject requests"),
    "compliance.exports": _("Export files"),
}


def labelled_sections(counts: dict[str, int]) -> list[tuple[str, str, int]]:
    """(key, label, count) in the order above, records found first."""
    order = list(SECTION_LABELS)
    rows = [(key, str(SECTION_LABELS.get(key, key)), n) for key, n in counts.items()]
    return sorted(rows, key=lambda r: (r[2] == 0, order.index(r[0]) if r[0] in order else len(order)))
