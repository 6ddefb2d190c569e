"""Reads of customer records: lists with filters, lookup, the 360 view, duplicates."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Count, OuterRef, Q, QuerySet
from django.db.models.functions import JSONObject
from django.shortcuts import get_object_or_404

from tenancy.fields import Sealed
from tenancy.selectors import blind_indexes_for

from ..models import (
    Activity,
    Address,
    ChurnRisk,
    Contact,
    Contract,
    Customer,
    CustomerKind,
    CustomerNameGram,
    CustomerPhone,
    CustomerStatus,
    CustomerTag,
    DuplicateCandidate,
    DuplicateStatus,
    MergeRecord,
    Tag,
)
from ..search import normalize_for_search, query_grams

NUMBER_RE = re.compile(r"^[BC]\d{8}$", re.IGNORECASE)
PHONE_LIKE = re.compile(r"^\+?[\d\s\-()]{7,20}$")


def _phone_customer_ids(phone: str) -> list[int]:
    bidxs = blind_indexes_for("phone", phone)  # every unretired index key: lookups work mid-rotation
    if not bidxs:
        return []
    ids = list(CustomerPhone.objects.filter(phone_bidx__in=bidxs).values_list("customer_id", flat=True)[:50])
    ids += list(Contact.objects.filter(phone_bidx__in=bidxs).values_list("customer_id", flat=True)[:50])
    return ids


def customer_list(*, search: str = "", kind: str = "", status: str = "", segment: str = "", tag_id: int | None = None,
                  owner_id: int | None = None, province: str = "", city: str = "", churn_risk: str = "",
                  include_merged: bool = False) -> QuerySet[Customer]:
    """Customers newest first, filtered. `search` is a phone number (exact, by blind index), a
    customer number, or part of a name (Chinese or Latin)."""
    qs = Customer.objects.select_related("owner__user", "churn").order_by("-id")
    if not include_merged and status != CustomerStatus.MERGED:
        qs = qs.exclude(status=CustomerStatus.MERGED)
    search = (search or "").strip()
    if search:
        if NUMBER_RE.match(search):
            qs = qs.filter(number=search.upper())
        elif PHONE_LIKE.match(search) and sum(ch.isdigit() for ch in search) >= 7:
            qs = qs.filter(pk__in=_phone_customer_ids(search))
        else:
            grams = query_grams(search)
            if not grams:
                return qs.none()
            for gram in grams:
                qs = qs.filter(pk__in=CustomerNameGram.objects.filter(gram=gram).values("customer_id"))
            if normalize_for_search(search) == search.lower():
                qs = qs.filter(name__icontains=search)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if segment:
        qs = qs.filter(segments__contains=[segment])
    if tag_id:
        qs = qs.filter(pk__in=CustomerTag.objects.filter(tag_id=tag_id).values("customer_id"))
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if province:
        qs = qs.filter(province=province)
    if city:
        qs = qs.filter(city=city)
    if churn_risk:
        # no churn row means low (never a signal)
        qs = qs.filter(Q(churn__risk=churn_risk) | Q(churn__isnull=True)) if churn_risk == ChurnRisk.LOW \
            else qs.filter(churn__risk=churn_risk)
    return qs


def with_list_extras(customers: list[Customer]) -> list[Customer]:
    """Attach primary phones and tags to one page of customers: two queries for the page."""
    ids = [c.pk for c in customers]
    phones = {}
    for phone in CustomerPhone.objects.filter(customer_id__in=ids).order_by("-is_primary", "id"):
        phones.setdefault(phone.customer_id, phone)
    tags: dict[int, list[Tag]] = {}
    for ct in CustomerTag.objects.filter(customer_id__in=ids).select_related("tag").order_by("tag__name"):
        tags.setdefault(ct.customer_id, []).append(ct.tag)
    for customer in customers:
        customer.primary_phone = phones.get(customer.pk)
        customer.tag_list = tags.get(customer.pk, [])
    return customers


def customer_get(*, pk: int) -> Customer:
    return get_object_or_404(Customer.objects.select_related("owner__user", "merged_into", "churn"), pk=pk)


def customer_lookup(query: str, *, limit: int = 20) -> list[Customer]:
    """The agent's lookup box: exact phone, customer number, name, or a waybill number (its sender
    and receiver come first). Merged records lead to their survivor."""
    from shipments.selectors import waybill_parties

    parties = waybill_parties(query)
    customers = list(Customer.objects.filter(pk__in=parties)) if parties else []
    customers += [c for c in customer_list(search=query, include_merged=True)[:limit] if c.pk not in parties]
    survivors = {c.merged_into_id for c in customers if c.merged_into_id}
    if survivors:
        have = {c.pk for c in customers}
        customers = [c for c in customers if not c.merged_into_id]
        customers += [c for c in Customer.objects.filter(pk__in=survivors - have)]
    return customers


def tag_list() -> QuerySet[Tag]:
    return Tag.objects.annotate(customer_count=Count("customer_tags")).order_by("name")


# --- customer 360 --------------------------------------------------------------------------------

def _rows(model, rows, parent_id_field="customer_id", **extra) -> list:
    """Model instances from JSON rows built in SQL; sealed columns arrive as hex strings."""
    sealed = {f.attname for f in model._meta.concrete_fields if f.get_internal_type() == "BinaryField"}
    objs = []
    for row in rows or ():
        values = {}
        for key, value in row.items():
            if key in sealed and isinstance(value, str):
                value = Sealed(bytes.fromhex(value[2:])) if value.startswith("\\x") else None
            values[key] = value
        obj = model(**values, **extra)
        obj._state.adding = False
        objs.append(obj)
    return objs


@dataclass
class Customer360:
    customer: Customer
    phones: list = field(default_factory=list)
    addresses: list = field(default_factory=list)
    contacts: list = field(default_factory=list)
    tags: list = field(default_factory=list)
    contracts: list = field(default_factory=list)
    activities: list = field(default_factory=list)
    opportunities: list = field(default_factory=list)
    merges: list = field(default_factory=list)
    sections: dict = field(default_factory=dict)


def customer_360(*, pk: int) -> Customer360:
    """A customer and everything of this app about them in ONE query (JSON sub-arrays), so the
    360 page stays within its query budget however long the history is. Other apps add their
    sections through their own selectors (see customers.views.CUSTOMER_360_SECTIONS)."""
    from ..models import Opportunity

    def arr(qs, **fields):
        return ArraySubquery(qs.values(j=JSONObject(**fields)))

    per_customer = OuterRef("pk")
    qs = Customer.objects.select_related("owner__user", "merged_into", "churn").annotate(
        phones_j=arr(CustomerPhone.objects.filter(customer=per_customer).order_by("-is_primary", "id"),
                     id="id", tenant_id="tenant_id", phone="phone", label="label", is_primary="is_primary"),
        addresses_j=arr(Address.objects.filter(customer=per_customer).order_by("-is_default", "id")[:20],
                        id="id", tenant_id="tenant_id", label="label", province="province", city="city",
                        district="district", street="street", postal_code="postal_code", is_default="is_default"),
        contacts_j=arr(Contact.objects.filter(customer=per_customer).order_by("-is_primary", "id")[:50],
                       id="id", tenant_id="tenant_id", name="name", title="title", phone="phone", email="email",
                       is_primary="is_primary", is_active="is_active", notes="notes"),
        tags_j=arr(CustomerTag.objects.filter(customer=per_customer).order_by("tag__name"),
                   id="tag__id", name="tag__name", color="tag__color"),
        contracts_j=arr(Contract.objects.filter(customer=per_customer).order_by("-start_date", "-id")[:10],
                        id="id", number="number", start_date="start_date", end_date="end_date", status="status",
                        monthly_commitment="monthly_commitment", settlement_type="settlement_type"),
        activities_j=arr(Activity.objects.filter(customer=per_customer).order_by("-occurred_at", "-id")[:10],
                         id="id", kind="kind", summary="summary", occurred_at="occurred_at",
                         next_action="next_action", next_action_date="next_action_date",
                         owner_name="owner__user__display_name"),
        opportunities_j=arr(Opportunity.objects.filter(customer=per_customer).order_by("-id")[:10],
                            id="id", name="name", stage="stage", expected_monthly_revenue="expected_monthly_revenue"),
        merges_j=arr(MergeRecord.objects.filter(survivor=per_customer).order_by("-created_at")[:10],
                     merged_number="merged_number", merged_name="merged_name", created_at="created_at",
                     actor="actor__display_name", moved="moved"),
    )
    customer = get_object_or_404(qs, pk=pk)
    view = Customer360(customer=customer)
    view.phones = _rows(CustomerPhone, customer.phones_j, customer_id=customer.pk)
    view.addresses = _rows(Address, customer.addresses_j, customer_id=customer.pk)
    view.contacts = _rows(Contact, customer.contacts_j, customer_id=customer.pk)
    view.tags = customer.tags_j or []
    view.contracts = _rows(Contract, customer.contracts_j, customer_id=customer.pk)
    from ..models import ActivityKind, OpportunityStage

    view.activities = [dict(a, kind_label=ActivityKind(a["kind"]).label) for a in customer.activities_j or []]
    view.opportunities = [dict(o, stage_label=OpportunityStage(o["stage"]).label)
                          for o in customer.opportunities_j or []]
    from tenancy.masking import mask_name

    view.merges = [dict(m, merged_display=m["merged_name"] if customer.is_account else mask_name(m["merged_name"]))
                   for m in customer.merges_j or []]
    return view


# --- duplicates ------------------------------------------------------------------------------------

def possible_duplicates(*, kind: str, name: str = "", city: str = "", phones=(), credit_code: str = "",
                        exclude_pk: int | None = None, limit: int = 10) -> list[Customer]:
    """Existing records a new entry may duplicate: same phone, same credit code, or (accounts)
    a similar name in the same city. Used before creating, so the user can pick the existing one."""
    from .. import rules
    from ..search import similarity

    ids: list[int] = []
    for phone in phones or ():
        if phone:
            ids += _phone_customer_ids(phone)
    qs = Customer.objects.exclude(status=CustomerStatus.MERGED)
    if credit_code:
        ids += list(qs.filter(credit_code=credit_code.strip().upper()).values_list("pk", flat=True)[:5])
    if kind == CustomerKind.ACCOUNT and name and city:
        grams = query_grams(name)[:6]
        threshold = float(rules.NAME_SIMILARITY_MIN.value())
        candidates = qs.filter(kind=kind, city=city).filter(
            Q(search_grams__overlap=grams) if grams else Q(pk__in=[])).values_list("pk", "name")[:200]
        ids += [pk for pk, other in candidates if similarity(name, other) >= threshold]
    found = qs.filter(pk__in=set(ids))
    if exclude_pk:
        found = found.exclude(pk=exclude_pk)
    return list(found.order_by("-id")[:limit])


def duplicate_queue(*, status: str = DuplicateStatus.OPEN, reason: str = "") -> QuerySet[DuplicateCandidate]:
    qs = DuplicateCandidate.objects.filter(status=status).select_related("customer_a", "customer_b")
    if reason:
        qs = qs.filter(reasons__contains=[reason])
    return qs.order_by("-score", "-id")


def merge_history(*, customer: Customer | None = None) -> QuerySet[MergeRecord]:
    qs = MergeRecord.objects.select_related("survivor", "actor").order_by("-created_at", "-id")
    if customer is not None:
        qs = qs.filter(survivor=customer)
    return qs


