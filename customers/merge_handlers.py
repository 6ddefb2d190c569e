"""How each table that points at a customer joins the survivor when two records are merged.

By default every row that references the merged customer is re-pointed at the survivor — which
covers tables later apps add (waybills, tickets, claims …) without changes here. A table with a
per-customer uniqueness rule registers a handler that combines rows instead."""
from __future__ import annotations

from collections.abc import Callable

from django.db import connection

# model label → handler(model, field_name, merged, survivor) → rows moved or combined
MERGE_HANDLERS: dict[tuple[str, str], Callable] = {}
# (model label, field) references that a merge must leave alone (audit trail).
MERGE_SKIP: set[tuple[str, str]] = {
    ("customers.mergerecord", "survivor"), ("customers.mergerecord", "merged"),
    # The merged record keeps its name's search grams: a lookup by the old name finds it and
    # leads to the survivor.
    ("customers.customernamegram", "customer"),
}


def merge_handler(model_label: str, field: str):
    def register(fn):
        MERGE_HANDLERS[(model_label, field)] = fn
        return fn
    return register


def _move_unique(model, field: str, merged, survivor, unique_on: str) -> int:
    """Re-point rows, dropping the merged customer's row where the survivor already has one
    with the same `unique_on` value."""
    qs = model._default_manager.filter(**{field: merged})
    taken = set(model._default_manager.filter(**{field: survivor}).values_list(unique_on, flat=True))
    duplicates = qs.filter(**{f"{unique_on}__in": taken})
    dropped = duplicates.count()
    duplicates.delete()
    return qs.update(**{field: survivor}) + dropped


@merge_handler("customers.customertag", "customer")
def _tags(model, field, merged, survivor) -> int:
    return _move_unique(model, field, merged, survivor, "tag_id")


@merge_handler("customers.customerphone", "customer")
def _phones(model, field, merged, survivor) -> int:
    moved = _move_unique(model, field, merged, survivor, "phone_bidx")
    # The survivor keeps its own primary number.
    if model._default_manager.filter(customer=survivor, is_primary=True).count() > 1:
        first = model._default_manager.filter(customer=survivor, is_primary=True).order_by("id").first()
        model._default_manager.filter(customer=survivor, is_primary=True).exclude(pk=first.pk).update(is_primary=False)
    return moved


@merge_handler("customers.address", "customer")
def _addresses(model, field, merged, survivor) -> int:
    survivor_has_default = model._default_manager.filter(customer=survivor, is_default=True).exists()
    qs = model._default_manager.filter(customer=merged)
    if survivor_has_default:
        qs.update(is_default=False)
    return qs.update(customer=survivor)


@merge_handler("customers.contact", "customer")
def _contacts(model, field, merged, survivor) -> int:
    qs = model._default_manager.filter(customer=merged)
    if model._default_manager.filter(customer=survivor, is_primary=True).exists():
        qs.update(is_primary=False)
    return qs.update(customer=survivor)


@merge_handler("customers.duplicatecandidate", "customer_a")
def _pairs_a(model, field, merged, survivor) -> int:
    return 0  # resolved by the merge service itself (pairs are re-evaluated, not moved)


@merge_handler("customers.duplicatecandidate", "customer_b")
def _pairs_b(model, field, merged, survivor) -> int:
    return 0


@merge_handler("shipments.customerdailyvolume", "customer")
def _daily_volume(model, field, merged, survivor) -> int:
    """Add the merged customer's days into the survivor's (one row per customer and day)."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} (tenant_id, customer_id, day, parcels, revenue, returned, updated_at)
                SELECT tenant_id, %s, day, parcels, revenue, returned, now() FROM {table}
                WHERE customer_id = %s AND tenant_id = %s
                ON CONFLICT (tenant_id, customer_id, day) DO UPDATE SET
                  parcels = {table}.parcels + EXCLUDED.parcels,
                  revenue = {table}.revenue + EXCLUDED.revenue,
                  returned = {table}.returned + EXCLUDED.returned,
                  updated_at = now()""",
            [survivor.pk, merged.pk, merged.tenant_id],
        )
        moved = cursor.rowcount
        cursor.execute(f"DELETE FROM {table} WHERE customer_id = %s AND tenant_id = %s", [merged.pk, merged.tenant_id])
    return moved


@merge_handler("compliance.consentrecord", "customer")
def _copy_consents(model, field: str, merged, survivor) -> int:
    """Consent answers are insert-only: the merged record keeps its own history, and the survivor
    gets a copy of each answer (same purpose, time, source and note), so the person's newest
    answer is still the survivor's newest."""
    copied = 0
    for answer in model._default_manager.filter(**{field: merged}).order_by("recorded_at", "pk"):
        model(customer=survivor, phone=answer.phone, purpose=answer.purpose, granted=answer.granted,
              source=answer.source, note=answer.note, recorded_by=answer.recorded_by,
              recorded_at=answer.recorded_at).save()
        copied += 1
    return copied


@merge_handler("customers.customerchurn", "customer")
def _churn_state(model, field, merged, survivor) -> int:
    """The merged record's churn state is dropped, not moved: the scan skips merged customers, so
    the row would only go stale, and the survivor keeps its own (the next scan rescores it)."""
    deleted, _by_model = model._default_manager.filter(**{field: merged}).delete()
    return deleted


@merge_handler("customers.churnalert", "customer")
def _churn_alerts(model, field, merged, survivor) -> int:
    """Alerts are history: the merged customer's join the survivor's, except a day on which the
    survivor has its own alert (one alert per customer and day) — that one is kept with its task."""
    taken = set(model._default_manager.filter(customer=survivor).values_list("raised_on", flat=True))
    return model._default_manager.filter(customer=merged).exclude(raised_on__in=taken).update(customer=survivor)


@merge_handler("customers.retentiontask", "customer")
def _retention_tasks(model, field, merged, survivor) -> int:
    """One open task per customer: when both records have one, the merged record's task is closed
    as "no action" (the survivor's task carries the work on); closed tasks join the survivor."""
    from django.utils import timezone
    from django.utils.translation import gettext

    from .models import RetentionOutcome, RetentionStatus

    qs = model._default_manager.filter(customer=merged)
    if model._default_manager.filter(customer=survivor, status=RetentionStatus.OPEN).exists():
        qs.filter(status=RetentionStatus.OPEN).update(
            status=RetentionStatus.DONE, outcome=RetentionOutcome.NO_ACTION, closed_at=timezone.now(),
            outcome_note=gettext("Closed by the merge: the surviving record's own task continues."))
    return qs.update(customer=survivor)
