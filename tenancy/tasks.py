"""Celery plumbing for tenant work, and the platform housekeeping jobs of the beat schedule.

`TenantTask` is the base of every tenant task: it takes `tenant_id` (always a keyword) and runs
the body inside that tenant's scope. Platform tasks fan out one task per active tenant."""
from __future__ import annotations

import logging

from celery import Task, shared_task
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from .models import KeyPurpose, Tenant, TenantKey
from .scoping import tenant_scope

logger = logging.getLogger(__name__)


class TenantTask(Task):
    """Runs the task body inside `tenant_scope(tenant_id)`; refuses to run without one."""

    abstract = True

    def __call__(self, *args, **kwargs):
        tenant_id = kwargs.get("tenant_id")
        if tenant_id is None:
            raise TypeError(f"{self.name} is a tenant task: call it with tenant_id=…")
        if not Tenant.objects.filter(pk=tenant_id, is_active=True).exists():
            logger.warning("task %s skipped: tenant %s is not active", self.name, tenant_id)
            return None
        with tenant_scope(tenant_id):
            return super().__call__(*args, **kwargs)


def enqueue_on_commit(task, **kwargs) -> None:
    """Send `task` with `kwargs` once the current transaction commits (at once outside one).

    The database is the source of truth and a message only a hint (ARCHITECTURE.md §6): when the
    broker is down the failure is logged, not raised into the user's request or the job that
    committed the work; the task's periodic sweep finds the row by its state and queues it again."""

    def send() -> None:
        try:
            task.apply_async(kwargs=kwargs)
        except BrokerError as exc:
            logger.warning("broker unavailable, %s left to its sweep: %s", task.name, exc)

    transaction.on_commit(send)


@shared_task(name="tenancy.tasks.platform_clear_expired_sessions", ignore_result=True)
def platform_clear_expired_sessions() -> int:
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


@shared_task(base=TenantTask, bind=True, name="tenancy.tasks.tenant_key_age_check",
             acks_late=True, ignore_result=True)
def tenant_key_age_check(self, *, tenant_id: int) -> list[str]:
    """Report keys older than the company's rotation age (read-only: idempotent)."""
    from compliance.rules import KEY_ROTATION_AGE_DAYS

    rotation_age = KEY_ROTATION_AGE_DAYS.value()
    now = timezone.now()
    stale = []
    for key in TenantKey.objects.filter(retired_at__isnull=True):
        age = (now - key.created_at).days
        if age >= rotation_age:
            stale.append(f"{KeyPurpose(key.purpose).label} v{key.version}: {age} days")
    if stale:
        logger.warning("tenant %s has keys due for rotation: %s", tenant_id, "; ".join(stale))
    return stale


@shared_task(name="tenancy.tasks.platform_key_age_sweep", ignore_result=True)
def platform_key_age_sweep() -> int:
    tenant_ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        tenant_key_age_check.delay(tenant_id=tenant_id)
    return len(tenant_ids)
