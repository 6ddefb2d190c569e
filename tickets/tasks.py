"""Celery tasks of the tickets app: the SLA sweep (per tenant, by database state, every 5 minutes
from the beat schedule). A lost or doubled run is harmless: each warning, breach and escalation is
recorded once on the ticket, and the next run picks up whatever a missed one left."""
from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from tenancy.models import Tenant
from tenancy.tasks import TenantTask

from .services import sla


@shared_task(base=TenantTask, name="tickets.tasks.sla_sweep_tenant", acks_late=True, ignore_result=True,
             autoretry_for=(OperationalError,), retry_backoff=True, retry_backoff_max=120, max_retries=3)
def sla_sweep_tenant(*, tenant_id: int) -> dict:
    """Warn, mark breaches and escalate the open tickets of one tenant (idempotent)."""
    return sla.sla_sweep().as_dict()


@shared_task(name="tickets.tasks.platform_sla_sweep", ignore_result=True)
def platform_sla_sweep() -> int:
    """One SLA sweep per active tenant."""
    tenant_ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        sla_sweep_tenant.delay(tenant_id=tenant_id)
    return len(tenant_ids)
