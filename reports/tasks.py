"""Celery tasks of the reports app: the shipments rollup behind the dashboards. The platform task
fans out one tenant task per active tenant; the tenant task re-counts the last days from the
waybills themselves (database state), so a run lost while Redis was down is made good by the
next one, and running it twice writes the same rows."""
from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from tenancy.models import Tenant
from tenancy.tasks import TenantTask

from . import services


@shared_task(base=TenantTask, name="reports.tasks.rollup_refresh", acks_late=True, ignore_result=True,
             track_runs=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_backoff_max=600,
             retry_jitter=True, max_retries=5)
def rollup_refresh(*, tenant_id: int) -> int:
    return services.rollup_refresh()


@shared_task(name="reports.tasks.platform_rollup_sweep", ignore_result=True)
def platform_rollup_sweep() -> int:
    tenant_ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        rollup_refresh.delay(tenant_id=tenant_id)
    return len(tenant_ids)
