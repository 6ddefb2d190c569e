"""Celery tasks of the tickets app.

- The SLA sweep (per tenant, by database state, every 5 minutes from the beat schedule), with the
  claims' decision clocks. A lost or doubled run is harmless: each warning, breach and escalation
  is recorded once on the ticket or claim, and the next run picks up whatever a missed one left.
- Delivery of public replies: one task per message, enqueued after commit, plus a sweep by database
  state that picks up messages whose task was lost (Redis down, worker killed). Delivery is
  idempotent (only a pending message is sent, under a row lock), so acks_late is safe."""
from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from tenancy.scoping import tenant_scope
from tenancy.tasks import TRANSIENT_RETRY, TenantTask, fan_out, retry_on

from .channels import TransientDeliveryError
from .gateways import GatewayTransientError
from .models import DeliveryStatus, OutboundMessage
from .services import claims, conversation, sla_sweep, surveys

logger = logging.getLogger(__name__)

MAX_DELIVERY_RETRIES = 5
RESEND_AFTER = dt.timedelta(minutes=2)


@shared_task(base=TenantTask, name="tickets.tasks.sla_sweep_tenant", acks_late=True, ignore_result=True,
             track_runs=True, **TRANSIENT_RETRY)
def sla_sweep_tenant(*, tenant_id: int) -> dict:
    """Warn, mark breaches and escalate the open tickets of one tenant, and warn and mark the
    claims whose decision clock runs out (both idempotent)."""
    result = sla_sweep.sla_sweep().as_dict()
    result["claims"] = claims.claims_clock_sweep()
    return result


@shared_task(name="tickets.tasks.platform_sla_sweep", ignore_result=True)
def platform_sla_sweep() -> int:
    """One SLA sweep per active tenant."""
    return fan_out(sla_sweep_tenant)

@shared_task(base=TenantTask, bind=True, name="tickets.tasks.outbound_deliver", acks_late=True, ignore_result=True,
             max_retries=MAX_DELIVERY_RETRIES)
def outbound_deliver(self, *, tenant_id: int, message_id: int) -> str:
    try:
        return conversation.outbound_deliver(message_id=message_id)
    except TransientDeliveryError as exc:
        if self.request.retries >= MAX_DELIVERY_RETRIES:
            conversation.outbound_note_failure(message_id=message_id, error=str(exc))
            return DeliveryStatus.FAILED
        raise self.retry(exc=exc, countdown=min(600, 15 * 2 ** self.request.retries)) from exc


# acks_late: reads state and queues deliveries, each idempotent (only a pending message is sent).
@shared_task(base=TenantTask, name="tickets.tasks.outbound_sweep", acks_late=True, ignore_result=True,
             track_runs=True, **TRANSIENT_RETRY)
def outbound_sweep(*, tenant_id: int) -> int:
    """Re-enqueue pending messages older than a couple of minutes (their task was lost)."""
    ids = list(OutboundMessage.objects.filter(status=DeliveryStatus.PENDING,
                                              created_at__lt=timezone.now() - RESEND_AFTER)
               .order_by("id").values_list("id", flat=True)[:1000])
    for message_id in ids:
        outbound_deliver.delay(tenant_id=tenant_id, message_id=message_id)
    return len(ids)


@shared_task(name="tickets.tasks.platform_outbound_sweep", ignore_result=True)
def platform_outbound_sweep() -> int:
    return fan_out(outbound_sweep)


# --- satisfaction surveys (DOMAIN.md §7) -------------------------------------------------------
# Sending is idempotent twice over: only a pending survey is sent (row lock, SKIP LOCKED), and the
# gateway is given the survey's public id as idempotency key, so a redelivered message (acks_late,
# a worker killed mid-send) sends nothing twice.

@shared_task(base=TenantTask, bind=True, name="tickets.tasks.surveys_send_batch", acks_late=True,
             ignore_result=True, scope_per_item=True, **retry_on(GatewayTransientError))
def surveys_send_batch(self, *, tenant_id: int, survey_ids: list[int]) -> dict:
    """Send each survey of the batch, each in its own transaction (scope_per_item). A transient
    failure of one survey does not hold up the others: the failed ones are queued again with
    backoff, until their attempts reach the rule's maximum and they are marked failed. If the
    broker is down for that, they stay pending and the sweep queues them."""
    sent, retry = surveys.surveys_send(tenant_id=tenant_id, survey_ids=survey_ids)
    if retry:
        with tenant_scope(tenant_id):
            countdown = surveys.survey_retry_countdown(retry)
        try:
            surveys_send_batch.apply_async(kwargs={"tenant_id": tenant_id, "survey_ids": retry}, countdown=countdown)
        except BrokerError as exc:
            logger.warning("broker unavailable, %d surveys left to the sweep: %s", len(retry), exc)
    return {"sent": sent, "retrying": len(retry)}


@shared_task(base=TenantTask, name="tickets.tasks.survey_csat_create", acks_late=True, ignore_result=True,
             **TRANSIENT_RETRY)
def survey_csat_create(*, tenant_id: int, ticket_id: int) -> bool:
    """The CSAT survey of a ticket that just closed (idempotent: one per ticket by constraint)."""
    return surveys.survey_csat_create(ticket_id=ticket_id) is not None


@shared_task(base=TenantTask, name="tickets.tasks.survey_sweep", acks_late=True, ignore_result=True,
             track_runs=True, **TRANSIENT_RETRY)
def survey_sweep(*, tenant_id: int, pending_older_than_seconds: int | None = None) -> dict:
    """Create due surveys (closed tickets, sampled deliveries) and queue the pending ones whose
    message may have been lost (older than SURVEY_RESEND_AFTER_MINUTES, or the given seconds)."""
    older_than = None if pending_older_than_seconds is None else dt.timedelta(seconds=pending_older_than_seconds)
    return surveys.survey_sweep(pending_older_than=older_than)


@shared_task(name="tickets.tasks.platform_survey_sweep", ignore_result=True)
def platform_survey_sweep() -> int:
    """One survey sweep per active tenant."""
    return fan_out(survey_sweep)
