"""The retention job (issue 9 item 4): each data class's policy applied to the company's rows past
its cut-off, in batches, with a record of what it did (`RetentionRun.results`, per class: the
cut-off, rows changed, batches, status and error).

- **Batches.** Each batch (the first `RETENTION_BATCH_SIZE` ids past the cut-off, in id order)
  runs in its own transaction together with the run's counters, so a crash loses at most one
  batch and the next run carries on: rows already done no longer match the cut-off condition.
  A second run right after the first therefore changes nothing.
- **No overlap.** Every batch holds a transaction-level advisory lock on the company's key; a run
  that cannot take it stops (another run is working on the same rows). Starting a run is
  serialised by a second key, under which a queued or running run makes a manual "run now"
  fail with a clear error and the schedule leave it alone (or run it, if it is a queued request
  whose message was lost). A run that shows no end after `RUN_STALE_AFTER` is taken as
  interrupted (its worker died) and recorded as failed, so it never blocks the job for good.
- **Isolation.** A class that fails is recorded (status failed, the error's first line — never
  a row's values) and the other classes still run.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.models import User
from tenancy.privileged import purge_rows
from tenancy.scoping import current_tenant_id
from tenancy.services import require_perm

from .. import rules
from ..models import AccessLog, DsrExport, JobStatus, RetentionRun
from ..selectors.retention import ACCESS_LOG_FLOOR_DAYS, OPEN_STATUSES, RetentionPolicy, retention_policies

logger = logging.getLogger(__name__)

SCHEDULE = "schedule"
MANUAL = "manual"
TRIGGERS = (SCHEDULE, MANUAL)

# pg_advisory_xact_lock(class, tenant id): one key for the batches, one for starting a run.
BATCH_LOCK_CLASS = 0x52455442  # "RETB"
START_LOCK_CLASS = 0x52455453  # "RETS"
RUN_STALE_AFTER = dt.timedelta(hours=6)
ERROR_MAX = 300


class RetentionBusy(Exception):
    """Another run holds the company's batch lock."""


# --- what each data class does ------------------------------------------------------------------

def _waybills_due(cutoff: dt.datetime) -> QuerySet:
    from shipments.models import Waybill

    # Delivered, or returned to the sender without a delivery: either way the parcel's journey ended.
    ended = Q(delivered_at__lt=cutoff) | Q(delivered_at__isnull=True, returned_at__lt=cutoff)
    return Waybill.objects.filter(ended, personal_data_erased_at__isnull=True)


def _waybills_erase(ids: list[int], now: dt.datetime) -> int:
    from shipments.privacy import erase_waybills

    return erase_waybills(waybill_ids=ids, now=now)


def _tickets_due(cutoff: dt.datetime) -> QuerySet:
    from tickets.models import Ticket, TicketStatus

    return Ticket.objects.filter(status=TicketStatus.CLOSED, closed_at__lt=cutoff,
                                 personal_data_erased_at__isnull=True)


def _tickets_erase(ids: list[int], now: dt.datetime) -> int:
    from tickets.privacy import erase_tickets

    return erase_tickets(ticket_ids=ids, now=now)


def _import_files_due(cutoff: dt.datetime) -> QuerySet:
    from customers.models import CustomerImport
    from customers.models.imports import ImportStatus

    # A finished import normally wiped its file already; its row errors may still quote values.
    return (CustomerImport.objects
            .filter(status__in=(ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.INVALID),
                    finished_at__lt=cutoff)
            .filter(Q(payload__isnull=False) | ~Q(errors=[])))


def _import_files_wipe(ids: list[int], now: dt.datetime) -> int:
    from customers.models import CustomerImport

    return CustomerImport.objects.filter(pk__in=ids).update(payload=None, errors=[])


def _dsr_exports_due(cutoff: dt.datetime) -> QuerySet:
    return DsrExport.objects.filter(created_at__lt=cutoff, content__isnull=False)


def _dsr_exports_wipe(ids: list[int], now: dt.datetime) -> int:
    # The hash and the record count stay: they are what the access log and the request refer to.
    return DsrExport.objects.filter(pk__in=ids).update(content=None)


ROW_CLASSES: dict[str, tuple[Callable[[dt.datetime], QuerySet], Callable[[list[int], dt.datetime], int]]] = {
    "waybills": (_waybills_due, _waybills_erase),
    "tickets": (_tickets_due, _tickets_erase),
    "import_files": (_import_files_due, _import_files_wipe),
    "dsr_exports": (_dsr_exports_due, _dsr_exports_wipe),
}


# --- locks and the run's record ---------------------------------------------------------------

def _batch_lock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [BATCH_LOCK_CLASS, current_tenant_id()])
        if not cursor.fetchone()[0]:
            raise RetentionBusy


def _start_lock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [START_LOCK_CLASS, current_tenant_id()])


def _record(run: RetentionRun, key: str, *, rows: int = 0, **values) -> None:
    """Add to a class's entry and the run's total (inside the caller's transaction, under the
    run's row lock, so two workers of the same run never lose each other's counts)."""
    locked = RetentionRun.objects.select_for_update().get(pk=run.pk)
    entry = locked.results.setdefault(key, {"rows": 0, "batches": 0})
    if rows:
        entry["rows"] = entry.get("rows", 0) + rows
        entry["batches"] = entry.get("batches", 0) + 1
        locked.rows_affected += rows
    entry.update(values)
    locked.save(update_fields=["results", "rows_affected"])
    run.results, run.rows_affected = locked.results, locked.rows_affected


def _error_text(exc: BaseException) -> str:
    """The first line of an error: database errors carry row values on their DETAIL lines."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}"[:ERROR_MAX]


def _expire_stale(now: dt.datetime) -> None:
    RetentionRun.objects.filter(status__in=OPEN_STATUSES, started_at__lt=now - RUN_STALE_AFTER).update(
        status=JobStatus.FAILED, finished_at=now,
        error=_("Interrupted: the run recorded no end within %(hours)s hours.") % {
            "hours": int(RUN_STALE_AFTER.total_seconds() // 3600)})


def _busy_error() -> ValidationError:
    return ValidationError({"run": _("A retention run is already queued or running for this company. "
                                     "Wait until it has finished.")})


def _claim(*, trigger: str, actor: User | None, run_id: int | None) -> tuple[RetentionRun | None, bool, bool]:
    """(run, whether to work on it, whether it was already running). Under the start lock: expire
    stale runs, then take the given run, or a queued one, or start a new one — never a second one
    beside a running run. The given run may already be running: a message delivered again after
    its worker died (acks_late), so it resumes; the batches are idempotent."""
    started = timezone.now()
    with transaction.atomic():
        _start_lock()
        _expire_stale(started)
        if run_id is not None:
            run = RetentionRun.objects.select_for_update().filter(pk=run_id).first()
            if run is None or run.status not in OPEN_STATUSES:
                return run, False, False  # a repeated message for a finished run
        else:
            run = RetentionRun.objects.select_for_update().filter(status__in=OPEN_STATUSES).order_by(
                "started_at", "id").first()
            if run is not None and (trigger == MANUAL or run.status == JobStatus.RUNNING):
                if trigger == MANUAL:
                    raise _busy_error()
                return None, False, False
        resumed = run is not None and run.status == JobStatus.RUNNING
        if run is None:
            run = RetentionRun.objects.create(trigger=trigger, requested_by=actor, status=JobStatus.RUNNING,
                                              started_at=started)
        elif run.status == JobStatus.QUEUED:
            run.status, run.started_at = JobStatus.RUNNING, started
            run.save(update_fields=["status", "started_at"])
    return run, True, resumed


# --- applying one class -------------------------------------------------------------------------

def _apply_rows(run: RetentionRun, policy: RetentionPolicy, *, now: dt.datetime, batch_size: int) -> None:
    due, change = ROW_CLASSES[policy.key]
    last_id = 0
    while True:
        with transaction.atomic():
            _batch_lock()
            ids = list(due(policy.cutoff).filter(pk__gt=last_id).order_by("pk")
                       .values_list("pk", flat=True)[:batch_size])
            if not ids:
                return
            changed = change(ids, now)
            _record(run, policy.key, rows=changed)
        # Walk on by id, so a row the change function leaves as it was cannot hold the loop.
        last_id = ids[-1]
        if len(ids) < batch_size:
            return


def _database_floor() -> dt.datetime:
    """The youngest cut-off the database accepts for the access log, by its own clock (the
    transaction's start), which is what it checks against."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT now() - make_interval(days => %s)", [ACCESS_LOG_FLOOR_DAYS])
        return cursor.fetchone()[0]


def _apply_access_log(run: RetentionRun, policy: RetentionPolicy, *, batch_size: int) -> None:
    while True:
        with transaction.atomic():
            _batch_lock()
            changed = purge_rows(AccessLog, min(policy.cutoff, _database_floor()), batch_size)
            if changed:
                _record(run, policy.key, rows=changed)
        if changed < batch_size:
            return


def _apply(run: RetentionRun, policy: RetentionPolicy, *, now: dt.datetime, batch_size: int) -> None:
    with transaction.atomic():
        _record(run, policy.key, status=JobStatus.RUNNING, error="", period=policy.period, unit=policy.unit,
                version=policy.version, applied_period=policy.applied_period, floored=policy.floored,
                cutoff=policy.cutoff.isoformat() if policy.cutoff else None)
    if policy.is_off:
        with transaction.atomic():
            _record(run, policy.key, status="off")
        return
    try:
        if policy.key == "access_log":
            _apply_access_log(run, policy, batch_size=batch_size)
        else:
            _apply_rows(run, policy, now=now, batch_size=batch_size)
    except RetentionBusy:
        raise
    except Exception as exc:  # noqa: BLE001 — one class's failure is recorded; the others still run
        logger.exception("retention of %s failed in run %s", policy.key, run.pk)
        with transaction.atomic():
            _record(run, policy.key, status=JobStatus.FAILED, error=_error_text(exc))
        return
    with transaction.atomic():
        _record(run, policy.key, status=JobStatus.DONE)


def _finish(run: RetentionRun, *, error: str = "") -> RetentionRun:
    with transaction.atomic():
        locked = RetentionRun.objects.select_for_update().get(pk=run.pk)
        failed = [key for key, entry in locked.results.items() if entry.get("status") == JobStatus.FAILED]
        errors = [f"{key}: {locked.results[key].get('error', '')}" for key in failed]
        if error:
            errors.insert(0, error)
        locked.status = JobStatus.FAILED if errors else JobStatus.DONE
        locked.error = "\n".join(errors)[:2000]
        locked.finished_at = timezone.now()
        locked.save(update_fields=["status", "error", "finished_at"])
    return locked


# --- entry points -------------------------------------------------------------------------------

def retention_run(*, trigger: str = SCHEDULE, actor: User | None = None, now: dt.datetime | None = None,
                  run_id: int | None = None, batch_size: int | None = None) -> RetentionRun | None:
    """Apply every data class's policy to the current company and record the run.

    `run_id` names a run queued by `retention_request` (the worker's call); without it a new run
    starts. A manual run needs compliance.run_retention and fails with a ValidationError on
    "run" while another is queued or running; the schedule then returns None and leaves the
    running one alone (a queued one it runs). A finished `run_id` is returned as it is."""
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown retention trigger {trigger!r}")
    if trigger == MANUAL:
        if actor is None:
            raise ValueError("a manual retention run needs its actor")
        require_perm(actor, "compliance.run_retention")
    now = now or timezone.now()
    batch_size = batch_size or rules.RETENTION_BATCH_SIZE
    run, work, resumed = _claim(trigger=trigger, actor=actor, run_id=run_id)
    if not work:
        return run
    try:
        for policy in retention_policies(now=now):
            _apply(run, policy, now=now, batch_size=batch_size)
    except RetentionBusy:
        logger.warning("retention run %s stopped: another run holds the batch lock", run.pk)
        if resumed:  # another worker is on this very run: it records the end
            run.refresh_from_db()
            return run
        return _finish(run, error=_("Stopped: another retention run was working on this company's data at "
                                    "the same time. The next run carries on."))
    run = _finish(run)
    logger.info("retention run %s %s: %s rows changed", run.pk, run.status, run.rows_affected)
    return run


def retention_request(*, actor: User) -> RetentionRun:
    """A tenant admin's "run now": a queued run, handed to a worker after commit. Refused (on
    "run") while another run is queued or running."""
    require_perm(actor, "compliance.run_retention")
    with transaction.atomic():
        _start_lock()
        _expire_stale(timezone.now())
        if RetentionRun.objects.filter(status__in=OPEN_STATUSES).exists():
            raise _busy_error()
        run = RetentionRun.objects.create(trigger=MANUAL, requested_by=actor, status=JobStatus.QUEUED,
                                          started_at=timezone.now())
        tenant_id = current_tenant_id()

        def enqueue():
            from ..tasks.retention import retention_run as retention_task

            retention_task.delay(tenant_id=tenant_id, run_id=run.pk)

        transaction.on_commit(enqueue)
    return run
