"""Celery plumbing for tenant work, and the platform housekeeping jobs of the beat schedule.

`TenantTask` is the base of every tenant task: it takes `tenant_id` (always a keyword) and runs
the body inside that tenant's scope. Platform tasks fan out one task per active tenant."""
from __future__ import annotations

import json
import logging
import time

from celery import Task, shared_task
from celery.exceptions import Ignore, Reject, Retry
from django.contrib.sessions.models import Session
from django.db import DatabaseError, IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from .models import DeadLetter, JobOutcome, JobState, KeyPurpose, Tenant, TenantKey
from .scoping import tenant_scope

logger = logging.getLogger(__name__)

# The retry policy of a task that may meet a transient error (the database restarting or failing
# over, a lock timeout): exponential backoff capped at ten minutes, with jitter so the tasks of
# every company do not come back at the same second, and five tries before the dead letter.
# Use as `@shared_task(..., **TRANSIENT_RETRY)`; add a gateway's own transient error with
# `retry_on(TransientDeliveryError)`.
TRANSIENT_RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
}

DETAIL_MAX = 500
ERROR_MAX = 4000


def retry_on(*errors: type[BaseException]) -> dict:
    """`TRANSIENT_RETRY` retrying on the database's transient error and `errors` as well."""
    return {**TRANSIENT_RETRY, "autoretry_for": (OperationalError, *errors)}


def _short(value, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _as_json(value, empty):
    """Task arguments as stored JSON (what the broker carried is JSON already; anything else as text)."""
    if value is None:
        return empty
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return json.loads(json.dumps(value, default=str))


class TenantTask(Task):
    """Runs the task body inside `tenant_scope(tenant_id)`; refuses to run without one.

    Run tracking: a task declared with `track_runs=True` (every periodic tenant task, i.e. every
    task a beat entry fans out to — see `courier_crm.celery.JOBS`) records one `JobState` row per
    company and task: at the start (running) and at the end (ok / retrying / failed, duration,
    a short detail from the return value, counters). Those writes run in their own short
    transaction outside the body's, so a failing body's rollback keeps them; a failure to write
    them is logged and never breaks the task.

    Dead letters: a tenant task that fails for good (its last retry, or a task without retries)
    leaves a `DeadLetter` in its company with its arguments and error; a tenant admin sees it on
    the jobs page and sends it again once the cause is fixed. A call without a tenant is logged.

    Retries — which task uses what:
    - a task that may meet a transient error retries on it only: `**TRANSIENT_RETRY` (the
      database's OperationalError) or `**retry_on(GatewayTransientError)` for an outbound
      gateway; backoff 1 s, 2 s, 4 s … capped at 600 s, jittered, five tries. Never retry on
      `Exception`: a bug fails the same way every time and belongs in the dead letters at once;
    - a task whose own gateway answers "try later" with a delay of its own calls `self.retry`
      with that countdown and the same `max_retries`;
    - `acks_late=True` only on a task that is idempotent (a unique key or a state check makes a
      second run harmless), with a comment saying which; such a task's message goes back to the
      queue when its worker's host dies (the broker's visibility timeout, settings).
    """

    abstract = True
    track_runs = False
    scope_per_item = False

    def __call__(self, *args, **kwargs):
        tenant_id = kwargs.get("tenant_id")
        if tenant_id is None:
            raise TypeError(f"{self.name} is a tenant task: call it with tenant_id=…")
        if not Tenant.objects.filter(pk=tenant_id, is_active=True).exists():
            logger.warning("task %s skipped: tenant %s is not active", self.name, tenant_id)
            return None
        if not self.track_runs:
            return self._run_body(tenant_id, args, kwargs)
        self._record_start(tenant_id)
        started = time.monotonic()
        try:
            result = self._run_body(tenant_id, args, kwargs)
        except (Retry, Ignore, Reject):
            raise  # control flow, not a failure: a retry is recorded by on_retry with its cause
        except Exception as exc:
            # Recorded here, where the duration is known; then raised on for Celery to handle.
            self._record_end(tenant_id, JobOutcome.FAILED, started, f"{type(exc).__name__}: {exc}")
            raise
        self._record_end(tenant_id, JobOutcome.OK, started, "" if result is None else result)
        return result

    def _run_body(self, tenant_id: int, args, kwargs):
        """The body in one tenant scope (one transaction), or, for a `scope_per_item` task, as is:
        such a body opens a scope per item so each item commits on its own (a batch whose items
        have outside effects, like sending a message, must not undo the ones already done)."""
        if self.scope_per_item:
            return super().__call__(*args, **kwargs)
        with tenant_scope(tenant_id):
            return super().__call__(*args, **kwargs)

    # --- run tracking -----------------------------------------------------------------------

    def _record_start(self, tenant_id: int) -> None:
        now = timezone.now()
        self._write_state(tenant_id, {"last_started_at": now, "last_outcome": JobOutcome.RUNNING})

    def _record_end(self, tenant_id: int, outcome: str, started: float | None, detail) -> None:
        now = timezone.now()
        values = {"last_finished_at": now, "last_outcome": outcome, "last_detail": _short(detail, DETAIL_MAX),
                  "runs": F("runs") + 1}
        if started is not None:
            values["last_duration_ms"] = int((time.monotonic() - started) * 1000)
        if outcome == JobOutcome.OK:
            values["last_success_at"] = now
        else:
            values["last_failure_at"] = now
            values["failures"] = F("failures") + 1
        self._write_state(tenant_id, values)

    def _write_state(self, tenant_id: int, values: dict) -> None:
        """Upsert this task's JobState row in its own transaction; log, never raise, on failure."""
        try:
            with tenant_scope(tenant_id):
                if JobState.objects.filter(task=self.name).update(**values):
                    return
                try:
                    with transaction.atomic():
                        JobState.objects.create(task=self.name, **_initial(values))
                except IntegrityError:
                    # Another worker created the row between our update and insert.
                    JobState.objects.filter(task=self.name).update(**values)
        except DatabaseError:
            logger.exception("job state of %s for tenant %s not recorded", self.name, tenant_id)

    # --- Celery handlers ------------------------------------------------------------------

    def on_retry(self, exc, task_id, args, kwargs, einfo):
        tenant_id = (kwargs or {}).get("tenant_id")
        if self.track_runs and tenant_id is not None:
            self._record_end(tenant_id, JobOutcome.RETRYING, None, f"{type(exc).__name__}: {exc}")
        super().on_retry(exc, task_id, args, kwargs, einfo)

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """The task failed for good (after its last retry): keep it as a dead letter in its company."""
        super().on_failure(exc, task_id, args, kwargs, einfo)
        tenant_id = (kwargs or {}).get("tenant_id")
        if tenant_id is None:
            logger.error("tenant task %s (%s) failed without a tenant: %r", self.name, task_id, exc)
            return
        attempts = (self.request.retries or 0) + 1
        try:
            with tenant_scope(tenant_id):
                DeadLetter.objects.create(
                    task=self.name, task_id=str(task_id or "")[:64], args=_as_json(args, []),
                    kwargs=_as_json(kwargs, {}), error_type=type(exc).__name__[:120],
                    error=_short(str(exc), ERROR_MAX), attempts=min(attempts, 32767))
        except DatabaseError:
            logger.exception("dead letter of %s (%s) for tenant %s not recorded", self.name, task_id, tenant_id)


def _initial(values: dict) -> dict:
    """The values of a first JobState row: counters start from zero instead of F() + 1."""
    row = {key: value for key, value in values.items() if key not in ("runs", "failures")}
    if "runs" in values:
        row["runs"] = 1
    if "failures" in values:
        row["failures"] = 1
    return row


def fan_out(task, **kwargs) -> int:
    """Queue `task` once per active company (the platform half of a periodic job); returns how
    many were queued."""
    tenant_ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        task.delay(tenant_id=tenant_id, **kwargs)
    return len(tenant_ids)


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
             acks_late=True, ignore_result=True, track_runs=True, **TRANSIENT_RETRY)
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
    return fan_out(tenant_key_age_check)
