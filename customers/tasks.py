"""Celery tasks of the customers app: nightly segments and duplicate scans, and the sales
reminders. Each platform task fans out one task per active tenant; each tenant task enters the
scope and calls one service. All of them work from database state, so a run lost while Redis
was down is caught up by the next one, and running one twice changes nothing."""
from __future__ import annotations

from celery import shared_task

from tenancy.tasks import TRANSIENT_RETRY, TenantTask, fan_out

from . import services
from .import_tasks import customer_import_run, customer_import_validate  # noqa: F401  (registered here)


@shared_task(base=TenantTask, name="customers.tasks.segments_recompute", acks_late=True, ignore_result=True,
             track_runs=True, **TRANSIENT_RETRY)
def segments_recompute(*, tenant_id: int) -> int:
    return services.segments_recompute()


@shared_task(base=TenantTask, name="customers.tasks.duplicates_scan", acks_late=True, ignore_result=True,
             track_runs=True, **TRANSIENT_RETRY)
def duplicates_scan(*, tenant_id: int) -> int:
    return services.duplicates_scan()


@shared_task(base=TenantTask, name="customers.tasks.sales_reminders_send", acks_late=True, ignore_result=True,
             track_runs=True, **TRANSIENT_RETRY)
def sales_reminders_send(*, tenant_id: int) -> int:
    return services.sales_reminders_send()


@shared_task(base=TenantTask, name="customers.tasks.churn_scan", acks_late=True, ignore_result=True,
             track_runs=True, **TRANSIENT_RETRY)
def churn_scan(*, tenant_id: int) -> dict:
    """Idempotent by construction: one alert per customer and day, one open task per customer,
    one notification per alert and member, and only changed scores are written."""
    from .services.churn import churn_scan as scan

    return scan().as_dict()


@shared_task(name="customers.tasks.platform_segments_sweep", ignore_result=True)
def platform_segments_sweep() -> int:
    return fan_out(segments_recompute)


@shared_task(name="customers.tasks.platform_duplicates_sweep", ignore_result=True)
def platform_duplicates_sweep() -> int:
    return fan_out(duplicates_scan)


@shared_task(name="customers.tasks.platform_sales_reminders_sweep", ignore_result=True)
def platform_sales_reminders_sweep() -> int:
    return fan_out(sales_reminders_send)


@shared_task(name="customers.tasks.platform_churn_sweep", ignore_result=True)
def platform_churn_sweep() -> int:
    return fan_out(churn_scan)
