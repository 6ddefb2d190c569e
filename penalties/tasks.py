"""Celery tasks of the penalties app.

- Checkpoints: every 15 minutes each company with entries past its last checkpoint gets one
  signed checkpoint (the chain up to the head is recomputed first; nothing new, nothing signed).
- Verification: nightly for every company, and on request from the auditor's page (the request
  is a database row, so a lost message is picked up by the sweep below).
- Detectors: hourly; each fact proposes at most once (unique key), so repeats are harmless."""
from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from tenancy.models import Tenant
from tenancy.tasks import TRANSIENT_RETRY, TenantTask

from .models import LedgerVerification, VerificationStatus
from .services import detectors_run, ledger_checkpoint_create, ledger_verification_run

REQUEUE_AFTER = dt.timedelta(minutes=5)


def _tenant_ids() -> list[int]:
    return list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))


# acks_late: idempotent — the chain is recomputed up to the head and nothing new signs nothing.
@shared_task(base=TenantTask, name="penalties.tasks.ledger_checkpoint_tenant", acks_late=True, ignore_result=True,
             track_runs=True, **TRANSIENT_RETRY)
def ledger_checkpoint_tenant(*, tenant_id: int) -> int | None:
    checkpoint = ledger_checkpoint_create()
    return checkpoint.sequence if checkpoint else None


@shared_task(name="penalties.tasks.platform_ledger_checkpoints", ignore_result=True)
def platform_ledger_checkpoints() -> int:
    ids = _tenant_ids()
    for tenant_id in ids:
        ledger_checkpoint_tenant.delay(tenant_id=tenant_id)
    return len(ids)


# acks_late: idempotent — a verification only reads the chain; a finished request is not run again.
@shared_task(base=TenantTask, name="penalties.tasks.ledger_verify_tenant", acks_late=True, ignore_result=True,
             track_runs=True, **TRANSIENT_RETRY)
def ledger_verify_tenant(*, tenant_id: int, verification_id: int | None = None) -> str | None:
    verification = ledger_verification_run(verification_id=verification_id)
    return verification.status if verification else None


@shared_task(name="penalties.tasks.platform_ledger_verify", ignore_result=True)
def platform_ledger_verify() -> int:
    ids = _tenant_ids()
    for tenant_id in ids:
        ledger_verify_tenant.delay(tenant_id=tenant_id)
    return len(ids)


# acks_late: idempotent — it only queues verifications still queued by state.
@shared_task(base=TenantTask, name="penalties.tasks.verification_requests_sweep", acks_late=True, ignore_result=True,
             track_runs=True, **TRANSIENT_RETRY)
def verification_requests_sweep(*, tenant_id: int) -> int:
    """Requested verifications still queued after a few minutes (their message was lost) run again."""
    ids = list(LedgerVerification.objects.filter(status=VerificationStatus.QUEUED,
                                                 requested_at__lt=timezone.now() - REQUEUE_AFTER)
               .values_list("pk", flat=True)[:20])
    for verification_id in ids:
        ledger_verify_tenant.delay(tenant_id=tenant_id, verification_id=verification_id)
    return len(ids)


# acks_late: idempotent — each fact proposes at most once (unique key).
@shared_task(base=TenantTask, name="penalties.tasks.detectors_tenant", acks_late=True, ignore_result=True,
             track_runs=True, **TRANSIENT_RETRY)
def detectors_tenant(*, tenant_id: int) -> dict:
    return detectors_run().as_dict()


@shared_task(name="penalties.tasks.platform_detectors", ignore_result=True)
def platform_detectors() -> int:
    ids = _tenant_ids()
    for tenant_id in ids:
        detectors_tenant.delay(tenant_id=tenant_id)
        verification_requests_sweep.delay(tenant_id=tenant_id)
    return len(ids)
