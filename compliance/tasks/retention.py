"""The retention job: daily for every active company (beat → `platform_retention_sweep`), and on a
tenant admin's "run now" (a queued run, `run_id`). Idempotent: rows already anonymised or
deleted no longer match a cut-off, and a finished run is not run again — so `acks_late` is safe.
The daily run also picks up a requested run whose message was lost (the database is the source
of truth)."""
from __future__ import annotations

from celery import shared_task

from tenancy.tasks import TRANSIENT_RETRY, TenantTask, fan_out

from ..services import retention as service


@shared_task(base=TenantTask, name="compliance.tasks.retention_run", acks_late=True, ignore_result=True,
             track_runs=True, **TRANSIENT_RETRY)
def retention_run(*, tenant_id: int, run_id: int | None = None) -> int | None:
    run = service.retention_run(trigger=service.SCHEDULE, run_id=run_id)
    return run.pk if run else None


@shared_task(name="compliance.tasks.platform_retention_sweep", ignore_result=True)
def platform_retention_sweep() -> int:
    return fan_out(retention_run)
