"""Celery tasks that deliver public replies: one task per message, enqueued after commit, plus a
sweep by database state that picks up messages whose task was lost (Redis down, worker killed).
Delivery is idempotent (only a pending message is sent, under a row lock), so acks_late is safe."""
from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from tenancy.models import Tenant
from tenancy.tasks import TenantTask

from .channels import TransientDeliveryError
from .models import DeliveryStatus, OutboundMessage
from .services import conversation

MAX_RETRIES = 5
SWEEP_AFTER = dt.timedelta(minutes=2)


@shared_task(base=TenantTask, bind=True, name="tickets.tasks.outbound_deliver", acks_late=True, ignore_result=True,
             max_retries=MAX_RETRIES)
def outbound_deliver(self, *, tenant_id: int, message_id: int) -> str:
    try:
        return conversation.outbound_deliver(message_id=message_id)
    except TransientDeliveryError as exc:
        if self.request.retries >= MAX_RETRIES:
            conversation.outbound_note_failure(message_id=message_id, error=str(exc))
            return DeliveryStatus.FAILED
        raise self.retry(exc=exc, countdown=min(600, 15 * 2 ** self.request.retries)) from exc


@shared_task(base=TenantTask, name="tickets.tasks.outbound_sweep", acks_late=True, ignore_result=True)
def outbound_sweep(*, tenant_id: int) -> int:
    """Re-enqueue pending messages older than a couple of minutes (their task was lost)."""
    ids = list(OutboundMessage.objects.filter(status=DeliveryStatus.PENDING,
                                              created_at__lt=timezone.now() - SWEEP_AFTER)
               .order_by("id").values_list("id", flat=True)[:1000])
    for message_id in ids:
        outbound_deliver.delay(tenant_id=tenant_id, message_id=message_id)
    return len(ids)


@shared_task(name="tickets.tasks.platform_outbound_sweep", ignore_result=True)
def platform_outbound_sweep() -> int:
    tenant_ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        outbound_sweep.delay(tenant_id=tenant_id)
    return len(tenant_ids)
