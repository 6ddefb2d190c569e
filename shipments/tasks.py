"""Celery tasks of the shipments app: the time-based exception sweep (per tenant, by database
state, so a lost run is caught up by the next and a double run opens nothing twice) and the
platform job that creates tracking-event partitions ahead of time."""
from __future__ import annotations

from celery import shared_task

from tenancy.tasks import TRANSIENT_RETRY, TenantTask, fan_out

from . import services


# acks_late: idempotent — at most one open exception ticket per waybill and kind.
@shared_task(base=TenantTask, name="shipments.tasks.exception_sweep", acks_late=True, ignore_result=True,
             track_runs=True, **TRANSIENT_RETRY)
def exception_sweep(*, tenant_id: int) -> dict:
    return services.exception_sweep()


@shared_task(name="shipments.tasks.platform_exception_sweep", ignore_result=True)
def platform_exception_sweep() -> int:
    return fan_out(exception_sweep)


@shared_task(name="shipments.tasks.platform_tracking_partitions", ignore_result=True)
def platform_tracking_partitions() -> list[str]:
    return services.tracking_partitions_ensure()
