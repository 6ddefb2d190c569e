"""Jobs of data-subject requests.

- The access export is built by `dsr_export_build` (queued on commit by the service). The export
  row is the source of truth: a sweep every ten minutes re-queues exports still queued, or running
  without finishing, after REQUEUE_AFTER (a lost message, a killed worker). Building twice is
  harmless: a finished export is left alone.
- Every morning each open request whose clock is at risk or overdue reminds its handler (one
  notification per request and day)."""
from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from tenancy.models import Tenant
from tenancy.tasks import TRANSIENT_RETRY, TenantTask

from ..models import DsrExport, JobStatus

logger = logging.getLogger(__name__)

REQUEUE_AFTER = dt.timedelta(minutes=5)


def _tenant_ids() -> list[int]:
    return list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))


# acks_late: idempotent — a finished export is left alone; a running one is built again from scratch.
@shared_task(base=TenantTask, name="compliance.tasks.dsr_export_build", acks_late=True, ignore_result=True,
             **TRANSIENT_RETRY)
def dsr_export_build(*, tenant_id: int, export_id: int) -> str | None:
    from ..services.requests import dsr_export_build as build
    from ..services.requests import dsr_export_fail

    export = DsrExport.objects.filter(pk=export_id).first()
    if export is None:
        return None
    try:
        return build(export=export).status
    except OperationalError:
        raise
    except Exception as exc:
        # Recorded on the row for the handler to see; the export can be requested again.
        logger.exception("data-subject export %s failed", export_id)
        dsr_export_fail(export=export, error=f"{type(exc).__name__}: {exc}")
        return JobStatus.FAILED


# acks_late: idempotent — it only queues exports still queued or stalled by state.
@shared_task(base=TenantTask, name="compliance.tasks.dsr_exports_sweep", acks_late=True, ignore_result=True,
             track_runs=True, **TRANSIENT_RETRY)
def dsr_exports_sweep(*, tenant_id: int) -> int:
    stale = timezone.now() - REQUEUE_AFTER
    ids = list(DsrExport.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING], created_at__lt=stale)
               .values_list("pk", flat=True))
    for export_id in ids:
        dsr_export_build.delay(tenant_id=tenant_id, export_id=export_id)
    return len(ids)


# acks_late: idempotent — one reminder per request and day.
@shared_task(base=TenantTask, name="compliance.tasks.dsr_clock_reminders", acks_late=True, ignore_result=True,
             track_runs=True, **TRANSIENT_RETRY)
def dsr_clock_reminders(*, tenant_id: int) -> int:
    from ..services.requests import dsr_remind_at_risk

    return dsr_remind_at_risk()


@shared_task(name="compliance.tasks.platform_dsr_sweep", ignore_result=True)
def platform_dsr_sweep() -> int:
    ids = _tenant_ids()
    for tenant_id in ids:
        dsr_exports_sweep.delay(tenant_id=tenant_id)
    return len(ids)


@shared_task(name="compliance.tasks.platform_dsr_reminders", ignore_result=True)
def platform_dsr_reminders() -> int:
    ids = _tenant_ids()
    for tenant_id in ids:
        dsr_clock_reminders.delay(tenant_id=tenant_id)
    return len(ids)
