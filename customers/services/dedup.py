"""Duplicate detection and merging of customer records."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.models import User
from tenancy.scoping import current_tenant_id
from tenancy.services import require_perm

from .. import rules
from ..merge_handlers import MERGE_HANDLERS, MERGE_SKIP
from ..models import (
    Contact,
    Customer,
    CustomerKind,
    CustomerPhone,
    CustomerStatus,
    DuplicateCandidate,
    DuplicateReason,
    DuplicateStatus,
    MergeRecord,
)
from ..search import similarity

# Fields the survivor takes from the merged record when its own are empty.
FILLABLE_FIELDS = ("province", "city", "district", "owner", "credit_code", "industry", "credit_rating", "email",
                   "id_number", "delivery_window", "delivery_notes")


@dataclass
class MergePlan:
    survivor: Customer
    merged: Customer
    moves: list[tuple[str, str, int]] = field(default_factory=list)   # (model label, verbose name, rows)
    filled: list[tuple[str, str]] = field(default_factory=list)        # (field name, verbose name)
    kept: list[tuple[str, str]] = field(default_factory=list)          # fields where both differ: survivor wins
    problems: list[str] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(n for _label, _name, n in self.moves)


def _references():
    """Every (model, field) that points at a customer, from the app registry: tables added by
    later apps are included automatically."""
    for rel in Customer._meta.related_objects:
        if not (rel.one_to_many or rel.one_to_one):
            continue
        if rel.related_model is Customer and rel.field.name == "merged_into":
            continue
        model = rel.related_model
        if (model._meta.label_lower, rel.field.name) in MERGE_SKIP:
            continue
        yield model, rel.field.name


def _check_pair(survivor: Customer, merged: Customer) -> list[str]:
    problems = []
    if survivor.pk == merged.pk:
        problems.append(_("Choose two different records."))
    if survivor.kind != merged.kind:
        problems.append(_("An account and a person cannot be merged."))
    if CustomerStatus.MERGED in (survivor.status, merged.status):
        problems.append(_("One of the records was already merged."))
    return problems


def merge_preview(*, actor: User, survivor: Customer, merged: Customer) -> MergePlan:
    """What a merge would do, without changing anything."""
    require_perm(actor, "customers.merge_customer")
    plan = MergePlan(survivor=survivor, merged=merged, problems=_check_pair(survivor, merged))
    for model, fname in _references():
        count = model._default_manager.filter(**{fname: merged}).count()
        if count:
            plan.moves.append((model._meta.label_lower, str(model._meta.verbose_name_plural), count))
    for fname in FILLABLE_FIELDS:
        mine, theirs = getattr(survivor, fname), getattr(merged, fname)
        label = str(Customer._meta.get_field(fname).verbose_name)
        if theirs and not mine:
            plan.filled.append((fname, label))
        elif theirs and mine and theirs != mine:
            plan.kept.append((fname, label))
    return plan


def customer_merge(*, actor: User, survivor: Customer, merged: Customer, reason: str = "") -> MergeRecord:
    """Move everything of `merged` to `survivor`, fill the survivor's empty fields, and keep the
    merged record (status merged, pointing at the survivor) with an audit row."""
    require_perm(actor, "customers.merge_customer")
    with transaction.atomic():
        first, second = sorted([survivor.pk, merged.pk])
        locked = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[first, second]).order_by("pk")}
        if len(locked) != 2 and survivor.pk != merged.pk:
            raise ValidationError(_("One of the records no longer exists."))
        survivor, merged = locked.get(survivor.pk, survivor), locked.get(merged.pk, merged)
        problems = _check_pair(survivor, merged)
        if problems:
            raise ValidationError(problems)
        moved: dict[str, int] = {}
        for model, fname in _references():
            handler = MERGE_HANDLERS.get((model._meta.label_lower, fname))
            if handler is not None:
                count = handler(model, fname, merged, survivor)
            else:
                count = model._default_manager.filter(**{fname: merged}).update(**{fname: survivor})
            if count:
                moved[model._meta.label_lower] = moved.get(model._meta.label_lower, 0) + count
        filled = []
        for fname in FILLABLE_FIELDS:
            if getattr(merged, fname) and not getattr(survivor, fname):
                setattr(survivor, fname, getattr(merged, fname))
                filled.append(fname)
        if merged.notes and merged.notes not in survivor.notes:
            survivor.notes = (survivor.notes + "\n" if survivor.notes else "") + merged.notes
        # Records merged into `merged` earlier now point at the survivor.
        Customer.objects.filter(merged_into=merged).update(merged_into=survivor)
        merged.status = CustomerStatus.MERGED
        merged.merged_into = survivor
        merged.save(update_fields=["status", "merged_into", "updated_at"])
        survivor.save()
        now = timezone.now()
        DuplicateCandidate.objects.filter(customer_a_id=first, customer_b_id=second).update(
            status=DuplicateStatus.MERGED, resolved_by=actor, resolved_at=now)
        (DuplicateCandidate.objects.filter(status=DuplicateStatus.OPEN)
         .filter(customer_a=merged) | DuplicateCandidate.objects.filter(status=DuplicateStatus.OPEN,
                                                                         customer_b=merged)).delete()
        return MergeRecord.objects.create(
            survivor=survivor, merged=merged, merged_number=merged.number, merged_name=merged.name,
            moved=moved, filled_fields=filled, reason=(reason or "").strip()[:300], actor=actor)


def duplicate_dismiss(*, actor: User, candidate: DuplicateCandidate) -> DuplicateCandidate:
    require_perm(actor, "customers.merge_customer")
    if candidate.status != DuplicateStatus.OPEN:
        raise ValidationError(_("This pair was already resolved."))
    candidate.status = DuplicateStatus.DISMISSED
    candidate.resolved_by = actor
    candidate.resolved_at = timezone.now()
    candidate.save(update_fields=["status", "resolved_by", "resolved_at"])
    return candidate


_SHARED_VALUE_PAIRS = """
    WITH v AS ({values}),
    g AS (SELECT key FROM v GROUP BY key HAVING count(DISTINCT customer_id) BETWEEN 2 AND 20)
    SELECT DISTINCT LEAST(a.customer_id, b.customer_id), GREATEST(a.customer_id, b.customer_id)
    FROM v a JOIN v b ON a.key = b.key AND a.customer_id < b.customer_id
    WHERE a.key IN (SELECT key FROM g)
"""


def _pairs_sharing(values_sql: str) -> set[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(_SHARED_VALUE_PAIRS.format(values=values_sql))
        return {(a, b) for a, b in cursor.fetchall()}


def duplicates_scan() -> int:
    """Find pairs that may be one customer (same phone, ID number or email blind index; accounts
    with similar names in one city) and record them as open candidates. Set-based for the
    shared-value rules; safe to run twice (pairs are upserted, dismissed ones stay dismissed).
    Groups of more than 20 records sharing one value (a courier station's phone…) are skipped:
    they are not duplicates of each other."""
    tenant_id = current_tenant_id()
    live = f"c.tenant_id = {int(tenant_id)} AND c.status <> 'merged'"
    found: dict[tuple[int, int], tuple[set[str], Decimal]] = defaultdict(lambda: (set(), Decimal("0")))

    def add(pairs, reason, score):
        for pair in pairs:
            reasons, best = found[pair]
            reasons.add(reason)
            found[pair] = (reasons, max(best, score))

    phone_t, contact_t, cust_t = CustomerPhone._meta.db_table, Contact._meta.db_table, Customer._meta.db_table
    add(_pairs_sharing(
        f"SELECT p.customer_id, p.phone_bidx AS key FROM {phone_t} p JOIN {cust_t} c ON c.id = p.customer_id "
        f"WHERE {live} AND p.phone_bidx IS NOT NULL UNION "
        f"SELECT k.customer_id, k.phone_bidx FROM {contact_t} k JOIN {cust_t} c ON c.id = k.customer_id "
        f"WHERE {live} AND k.phone_bidx IS NOT NULL"), DuplicateReason.PHONE, Decimal("0.95"))
    add(_pairs_sharing(f"SELECT c.id AS customer_id, c.id_number_bidx AS key FROM {cust_t} c "
                       f"WHERE {live} AND c.id_number_bidx IS NOT NULL"), DuplicateReason.ID_NUMBER, Decimal("1"))
    add(_pairs_sharing(f"SELECT c.id AS customer_id, c.email_bidx AS key FROM {cust_t} c "
                       f"WHERE {live} AND c.email_bidx IS NOT NULL"), DuplicateReason.EMAIL, Decimal("0.9"))
    threshold = float(rules.NAME_SIMILARITY_MIN.value())
    by_city = defaultdict(list)
    for pk, name, city in (Customer.objects.filter(kind=CustomerKind.ACCOUNT).exclude(status=CustomerStatus.MERGED)
                           .exclude(city="").values_list("pk", "name", "city")):
        by_city[city].append((pk, name))
    name_pairs = []
    for members in by_city.values():
        for i, (pk_a, name_a) in enumerate(members):
            for pk_b, name_b in members[i + 1:]:
                score = similarity(name_a, name_b)
                if score >= threshold:
                    name_pairs.append(((min(pk_a, pk_b), max(pk_a, pk_b)), Decimal(f"{score:.3f}")))
    for pair, score in name_pairs:
        add([pair], DuplicateReason.NAME_CITY, score)
    if not found:
        return 0
    table = DuplicateCandidate._meta.db_table
    rows = [(tenant_id, a, b, sorted(reasons), score) for (a, b), (reasons, score) in found.items()]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 1000):
            chunk = rows[start:start + 1000]
            cursor.executemany(
                f"""INSERT INTO {table} (tenant_id, customer_a_id, customer_b_id, reasons, score, status, detected_at)
                    VALUES (%s, %s, %s, %s, %s, 'open', now())
                    ON CONFLICT (tenant_id, customer_a_id, customer_b_id) DO UPDATE
                    SET reasons = EXCLUDED.reasons, score = EXCLUDED.score
                    WHERE {table}.status = 'open'""", chunk)
    return len(rows)
