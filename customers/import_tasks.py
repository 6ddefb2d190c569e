"""Celery tasks of the customer import (re-exported by customers.tasks for autodiscovery).

Each takes ids only (always `tenant_id`), runs inside the tenant's scope (TenantTask) and calls
one service of customers.importing. All are idempotent — the import row's status decides what
happens, under a row lock for the load — so `acks_late` is safe: a message redelivered after a
worker died runs the step again or finds it done."""
from __future__ import annotations

from celery import shared_task

from tenancy.tasks import TRANSIENT_RETRY, TenantTask, fan_out

from . import importing

__all__ = ["customer_import_run", "customer_import_sweep", "customer_import_validate",
           "platform_customer_import_sweep"]


@shared_task(base=TenantTask, name="customers.import_tasks.customer_import_validate", acks_late=True,
             ignore_result=True)
def customer_import_validate(*, tenant_id: int, import_id: int) -> str | None:
    """The dry run of an uploaded file: row errors by line and column, nothing written."""
    imp = importing.import_validate(import_id=import_id)
    return imp.status if imp else None


@shared_task(base=TenantTask, name="customers.import_tasks.customer_import_run", acks_late=True, ignore_result=True)
def customer_import_run(*, tenant_id: int, import_id: int) -> str | None:
    """The confirmed load: every row or none, at most once."""
    imp = importing.import_run(import_id=import_id)
    return imp.status if imp else None


@shared_task(base=TenantTask, name="customers.import_tasks.customer_import_sweep", acks_late=True, ignore_result=True,
             track_runs=True, **TRANSIENT_RETRY)
def customer_import_sweep(*, tenant_id: int) -> dict:
    """Requeue imports whose message was lost; wipe checked files nobody confirmed."""
    return importing.import_sweep()


@shared_task(name="customers.import_tasks.platform_customer_import_sweep", ignore_result=True)
def platform_customer_import_sweep() -> int:
    """Fan out the sweep, one task per active tenant (for the beat schedule)."""

    return fan_out(customer_import_sweep)
