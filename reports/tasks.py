"""Celery tasks of the reports app: the shipments rollup behind the dashboards. The platform task
fans out one tenant task per active tenant; the tenant task re-counts the last days from the
waybills themselves (database state), so a run lost while Redis was down is made good by the
next one, and running it twice writes the same rows."""
from __future__ import annotations

from celery import shared_task

from tenancy.tasks import TRANSIENT_RETRY, TenantTask, fan_out

from . import services


@shared_task(base=TenantTask, name="reports.tasks.rollup_refresh", acks_late=True, ignore_result=True,
             track_runs=True, **TRANSIENT_RETRY)
def rollup_refresh(*, tenant_id: int) -> int:
    return services.rollup_refresh()


@shared_task(name="reports.tasks.platform_rollup_sweep", ignore_result=True)
def platform_rollup_sweep() -> int:
    return fan_out(rollup_refresh)
