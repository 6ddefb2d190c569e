"""Key rotation and crypto-shredding (ARCHITECTURE.md §4, issue 9).

- **Data key**: a new version becomes active at once (new values are sealed under it); a worker
  walks every tenant table with sealed columns by primary key and re-seals each value still under
  an older version, then sweeps by SQL for values other processes sealed under the old version
  while their cached active version had not yet expired. Only then is the old key retired.
- **Index key**: a new version becomes active for writes; lookups match every unretired version
  (tenancy.selectors.blind_indexes_for). The worker first waits until no process can still write
  an index under the old key, then recomputes every stored blind index from the decrypted value.
- **Master key**: the tenant keys are re-wrapped by the current master key (no data changes).

The work is done in batches; each batch commits together with the position reached
(`KeyRotation.progress`), `rows_done` and `heartbeat_at`, so a killed worker resumes where it
stopped. Every swap is a compare-and-swap (the row still holds the value read), so a concurrent
edit is never overwritten: its value is picked up again by the sweep. Retired keys are never
deleted (a row saved from a copy read before the rotation may still carry the old ciphertext);
only offboarding destroys keys (`platform_tenant_offboard`)."""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy import crypto
from tenancy.fields import BlindIndexField, EncryptedTextField, encrypted_fields
from tenancy.inputs import clean_choice, clean_text
from tenancy.models import KeyPurpose, Tenant, TenantKey, User
from tenancy.privileged import reindex_rows, reseal_rows
from tenancy.rls import tenant_models
from tenancy.scoping import current_tenant_id, tenant_scope
from tenancy.services import require_perm, tenant_key_ensure

from .. import rules
from ..models import JobStatus, KeyRotation, RotationKind

logger = logging.getLogger(__name__)

OPEN = (JobStatus.QUEUED, JobStatus.RUNNING)
# While a worker waits (for other processes' key caches to expire), it still proves it is alive.
HEARTBEAT_SECONDS = 10.0

PHASE_PASS = "pass"      # walk every table by primary key
PHASE_SWEEP = "sweep"    # data: find stragglers sealed under an old version by SQL
PHASE_WAIT = "wait"      # index: wait until no process writes indexes under the old key
PHASE_CHECK = "check"    # index: which old keys the insert-only tables still need
PHASE_REWRAP = "rewrap"  # master: re-wrap the tenant keys


class RotationStopped(Exception):
    """The rotation is no longer running (finished, failed or cancelled by another process)."""


# --- starting ----------------------------------------------------------------------------------

def key_rotation_start(*, actor: User, kind: str, reason: str) -> KeyRotation:
    """A person asks for a rotation of one of the company's keys; a worker runs it after commit."""
    require_perm(actor, "compliance.manage_keys")
    reason = clean_text(reason, "reason", required=True, limit=300)
    return key_rotation_open(kind=kind, reason=reason, requested_by=actor)


def key_rotation_open(*, kind: str, reason: str = "", requested_by: User | None = None,
                      enqueue: bool = True) -> KeyRotation:
    """Open a rotation in the current company (also the `rotate_keys` command's way in, which has no
    person to check): for a data or index key the new version is created now and becomes active;
    one open rotation per kind."""
    kind = clean_choice(kind, "kind", RotationKind)
    reason = clean_text(reason, "reason", limit=300)
    tenant_id = current_tenant_id()
    try:
        with transaction.atomic():
            tenant = Tenant.objects.get(pk=tenant_id)
            if tenant.keys_shredded_at or not tenant.is_active:
                raise ValidationError({"kind": _("This company was offboarded: its keys cannot be rotated.")})
            if KeyRotation.objects.filter(kind=kind, status__in=OPEN).exists():
                raise ValidationError({"kind": _("A rotation of this key is already queued or running; "
                                                 "wait until it has finished.")})
            rotation = KeyRotation(kind=kind, reason=reason, requested_by=requested_by)
            if kind == RotationKind.MASTER_KEY:
                rotation.progress = {"phase": PHASE_REWRAP, "master_key_id": crypto.master_key()[0]}
            else:
                active = tenant_key_ensure(tenant_id=tenant_id, purpose=kind)
                newest = TenantKey.objects.filter(purpose=kind).aggregate(v=Max("version"))["v"] or active.version
                to_version = newest + 1
                master_id, wrapped = crypto.wrap_key(_new_raw_key(), tenant_id=tenant_id, purpose=kind,
                                                     version=to_version)
                TenantKey.objects.create(purpose=kind, version=to_version, wrapped_key=wrapped,
                                         master_key_id=master_id)
                rotation.from_version, rotation.to_version = active.version, to_version
                rotation.progress = {"phase": PHASE_WAIT if kind == RotationKind.INDEX_KEY else PHASE_PASS,
                                     "tables": {}, "done": []}
            rotation.save()
    except IntegrityError as exc:  # a rotation started at the same moment won the race
        raise ValidationError({"kind": _("A rotation of this key is already queued or running; "
                                         "wait until it has finished.")}) from exc

    def after_commit() -> None:
        crypto.keyring.clear()  # this process seals under the new key from now on
        if enqueue:
            from ..tasks.keys import key_rotation_run as task

            task.delay(tenant_id=tenant_id, rotation_id=rotation.pk)

    transaction.on_commit(after_commit)
    return rotation


def _new_raw_key() -> bytes:
    import os

    return os.urandom(32)


def key_rotation_requeue(rotation: KeyRotation) -> None:
    """Hand an open rotation to a worker again (after commit); running it twice is harmless."""
    from ..tasks.keys import key_rotation_run as task

    tenant_id, rotation_id = rotation.tenant_id, rotation.pk
    transaction.on_commit(lambda: task.delay(tenant_id=tenant_id, rotation_id=rotation_id))


# --- running -----------------------------------------------------------------------------------

def key_rotation_run(rotation: KeyRotation, *, batch_size: int | None = None, pause: float = 0.0) -> KeyRotation:
    """Run (or resume) a rotation to its end: safe to call again on a queued or running one after a
    crash, and concurrently (every batch locks the rotation row first). A finished or failed one is
    left as it is. `pause` sleeps between batches to spare a busy database.

    Every batch must commit on its own. Called inside a transaction (a TenantTask's scope), the
    work runs on a fresh database connection in a helper thread, whose batches commit."""
    tenant_id, rotation_id = rotation.tenant_id, rotation.pk
    worker = _Worker(tenant_id, rotation_id, batch_size or rules.KEY_ROTATION_BATCH_SIZE, pause)
    if connection.in_atomic_block:
        _run_on_own_connection(worker.run)
    else:
        worker.run()
    with tenant_scope(tenant_id):
        return KeyRotation.objects.select_related("requested_by").get(pk=rotation_id)


def _run_on_own_connection(work) -> None:
    failure: list[BaseException] = []

    def target() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 — raised again in the caller's thread below
            failure.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=target, name="key-rotation", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


@dataclass(frozen=True)
class _Column:
    model: type
    field: EncryptedTextField

    @property
    def table(self) -> str:
        return self.model._meta.db_table


def _models_with(predicate) -> list:
    return sorted((m for m in tenant_models() if predicate(m)), key=lambda m: m._meta.db_table)


def _sealed_models() -> list:
    return _models_with(lambda m: bool(encrypted_fields(m)))


def _index_fields(model) -> list[tuple[BlindIndexField, EncryptedTextField]]:
    return [(f, model._meta.get_field(f.source)) for f in model._meta.concrete_fields
            if isinstance(f, BlindIndexField)]


def _indexed_models() -> list:
    return _models_with(lambda m: bool(_index_fields(m)))


def _any_not_null(fields) -> Q:
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field.attname}__isnull": False})
    return condition


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _swap_sealed(model, field: EncryptedTextField, swaps: list[tuple[int, bytes, bytes]]) -> int:
    """Replace each (id, old, new) where the row still holds `old`, in one statement."""
    if not swaps:
        return 0
    if model.append_only:
        return reseal_rows(model, field.name, swaps)
    ids, olds, news = (list(x) for x in zip(*swaps, strict=True))
    sql = (f"UPDATE {_q(model._meta.db_table)} AS t SET {_q(field.column)} = v.new "  # noqa: S608 — names from model meta
           f"FROM unnest(%s::bigint[], %s::bytea[], %s::bytea[]) AS v(id, old, new) "
           f"WHERE t.tenant_id = %s AND t.{_q(model._meta.pk.column)} = v.id AND t.{_q(field.column)} = v.old")
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids, olds, news, current_tenant_id()])
        return cursor.rowcount


def _swap_index(model, index: BlindIndexField, source: EncryptedTextField,
                swaps: list[tuple[int, bytes, str | None, str]]) -> int:
    """Set each (id, sealed source, old index, new index) where the row still holds both the sealed
    value the index was computed from and the old index."""
    if not swaps:
        return 0
    if model.append_only:
        return reindex_rows(model, index.name, source.name, swaps)
    ids, sources, olds, news = (list(x) for x in zip(*swaps, strict=True))
    sql = (f"UPDATE {_q(model._meta.db_table)} AS t SET {_q(index.column)} = v.new "  # noqa: S608 — names from model meta
           f"FROM unnest(%s::bigint[], %s::bytea[], %s::text[], %s::text[]) AS v(id, src, old, new) "
           f"WHERE t.tenant_id = %s AND t.{_q(model._meta.pk.column)} = v.id AND t.{_q(source.column)} = v.src "
           f"AND t.{_q(index.column)} IS NOT DISTINCT FROM v.old")
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids, sources, olds, news, current_tenant_id()])
        return cursor.rowcount


class _Worker:
    def __init__(self, tenant_id: int, rotation_id: int, batch_size: int, pause: float) -> None:
        self.tenant_id = tenant_id
        self.rotation_id = rotation_id
        self.batch_size = max(1, int(batch_size))
        self.pause = max(0.0, float(pause))

    # -- plumbing --

    def _locked(self) -> KeyRotation:
        """The rotation, locked for this batch's transaction; stops the loop when it is not running."""
        rotation = KeyRotation.objects.select_for_update().get(pk=self.rotation_id)
        if rotation.status != JobStatus.RUNNING:
            raise RotationStopped
        return rotation

    def _save(self, rotation: KeyRotation, rows: int = 0) -> None:
        rotation.rows_done += rows
        rotation.heartbeat_at = timezone.now()
        rotation.save(update_fields=["progress", "rows_done", "heartbeat_at", "status", "finished_at", "error"])

    def _batch(self, step) -> bool:
        """One batch in its own transaction (committed with the rotation's progress); True while
        the current phase has more to do."""
        with tenant_scope(self.tenant_id):
            rotation = self._locked()
            more = step(rotation)
        if more and self.pause:
            time.sleep(self.pause)
        return more

    def _claim(self) -> KeyRotation | None:
        with tenant_scope(self.tenant_id):
            rotation = KeyRotation.objects.select_for_update().filter(pk=self.rotation_id).first()
            if rotation is None or rotation.status not in OPEN:
                return None
            if rotation.status == JobStatus.QUEUED:
                rotation.status = JobStatus.RUNNING
                rotation.started_at = timezone.now()
                rotation.rows_total = self._count_total(rotation)
            rotation.heartbeat_at = timezone.now()
            rotation.save(update_fields=["status", "started_at", "rows_total", "heartbeat_at"])
            return rotation

    def _fail(self, message: str) -> None:
        with tenant_scope(self.tenant_id):
            rotation = KeyRotation.objects.select_for_update().get(pk=self.rotation_id)
            if rotation.status in OPEN:
                rotation.status = JobStatus.FAILED
                rotation.error = message[:2000]
                rotation.finished_at = timezone.now()
                self._save(rotation)

    def _settled_at(self, rotation: KeyRotation) -> dt.datetime:
        """From this moment no process can still hold the old version as its active key: the worker
        first claimed the rotation after the new key was committed, and every process re-reads its
        active version within the key-cache lifetime."""
        return rotation.started_at + dt.timedelta(seconds=crypto.active_key_ttl())

    def _wait_until(self, moment: dt.datetime) -> None:
        while True:
            left = (moment - timezone.now()).total_seconds()
            if left <= 0:
                return
            with tenant_scope(self.tenant_id):
                self._save(self._locked())  # heartbeat
            time.sleep(min(left, HEARTBEAT_SECONDS))

    # -- the loop --

    def run(self) -> None:
        crypto.keyring.clear()
        rotation = self._claim()
        if rotation is None:
            return
        try:
            if rotation.kind == RotationKind.MASTER_KEY:
                while self._batch(self._rewrap_batch):
                    pass
            elif rotation.kind == RotationKind.DATA_KEY:
                self._run_data(rotation)
            else:
                self._run_index(rotation)
        except RotationStopped:
            return
        except (crypto.DecryptionError, ImproperlyConfigured) as exc:
            # A value or key that cannot be read: the rotation cannot finish by itself. The old key
            # stays unretired, so nothing becomes unreadable; the error names the row, never a value.
            logger.error("key rotation %s of tenant %s failed: %s", self.rotation_id, self.tenant_id, exc)
            self._fail(f"{type(exc).__name__}: {exc}")
        finally:
            crypto.keyring.clear()

    # -- master key --

    def _rewrap_batch(self, rotation: KeyRotation) -> bool:
        current_id = crypto.master_key()[0]
        wanted = rotation.progress.get("master_key_id")
        if wanted and wanted != current_id:
            raise ImproperlyConfigured(
                f"this worker's master key is {current_id}, the rotation was started for {wanted}")
        rows = list(TenantKey.objects.select_for_update().exclude(master_key_id=current_id)
                    .order_by("pk")[:self.batch_size])
        for row in rows:
            raw = crypto.unwrap_key(row.wrapped_key, tenant_id=row.tenant_id, purpose=row.purpose,
                                    version=row.version, master_key_id=row.master_key_id)
            row.master_key_id, row.wrapped_key = crypto.wrap_key(raw, tenant_id=row.tenant_id, purpose=row.purpose,
                                                                 version=row.version)
            row.save(update_fields=["master_key_id", "wrapped_key"])
        if not rows:
            self._finish(rotation)
            return False
        rotation.progress["last_key_id"] = rows[-1].pk
        self._save(rotation, len(rows))
        return True

    # -- data key --

    def _run_data(self, rotation: KeyRotation) -> None:
        while self._batch(self._data_pass_batch):
            pass
        while True:
            sweep_started = timezone.now()
            while self._batch(self._data_sweep_batch):
                pass
            # A whole sweep found nothing left; it counts only if it began after every process's
            # cached active version had expired (else a straggler may still be written after it).
            settled = self._settled_at(rotation)
            if sweep_started >= settled:
                break
            self._wait_until(settled)
        self._batch(self._data_finish)

    def _next_table(self, rotation: KeyRotation, models: list):
        done = set(rotation.progress.get("done", []))
        return next((m for m in models if m._meta.db_table not in done), None)

    def _data_pass_batch(self, rotation: KeyRotation) -> bool:
        progress = rotation.progress
        if progress.get("phase") != PHASE_PASS:
            return False
        model = self._next_table(rotation, _sealed_models())
        if model is None:
            progress["phase"] = PHASE_SWEEP
            self._save(rotation)
            return False
        table = model._meta.db_table
        fields = encrypted_fields(model)
        last_id = progress.setdefault("tables", {}).get(table, 0)
        rows = list(model._base_manager.filter(pk__gt=last_id).filter(_any_not_null(fields)).order_by("pk")
                    .values_list("pk", *(f.attname for f in fields))[:self.batch_size])
        self._reseal(model, fields, rows, rotation.to_version)
        if rows:
            progress["tables"][table] = rows[-1][0]
        if len(rows) < self.batch_size:
            progress.setdefault("done", []).append(table)
        self._save(rotation, len(rows))
        return True

    def _reseal(self, model, fields, rows, to_version: int) -> None:
        table = model._meta.db_table
        for position, field in enumerate(fields, start=1):
            swaps = []
            for row in rows:
                blob = row[position]
                if not blob or len(blob) <= 5 or crypto.sealed_key_version(blob) == to_version:
                    continue  # empty (a redacted NOT NULL column) or already under the new key
                aad = {"tenant_id": self.tenant_id, "table": table, "column": field.column, "row_id": row[0]}
                plain = crypto.unseal(blob, **aad)
                swaps.append((row[0], bytes(blob), crypto.seal(plain, version=to_version, **aad)))
            _swap_sealed(model, field, swaps)

    def _data_sweep_batch(self, rotation: KeyRotation) -> bool:
        """Values not (yet) under the new version — sealed by a process whose cached active version
        had not expired, or written back from a copy read before the pass: re-seal a batch of the
        first table that has any. False when none is left anywhere."""
        new_version = crypto.version_bytes(rotation.to_version)
        for model in _sealed_models():
            fields = encrypted_fields(model)
            ids = self._stale_ids(model, fields, new_version)
            if not ids:
                continue
            rows = list(model._base_manager.filter(pk__in=ids).order_by("pk")
                        .values_list("pk", *(f.attname for f in fields)))
            self._reseal(model, fields, rows, rotation.to_version)
            self._save(rotation, len(rows))
            return True
        return False

    def _stale_ids(self, model, fields, new_version: bytes) -> list[int]:
        """Ids of rows with a sealed value under any other version than `new_version` (bytes 1..4)."""
        stale = " OR ".join(f"(length({_q(f.column)}) > 5 AND substring({_q(f.column)} from 2 for 4) <> %s)"
                            for f in fields)
        sql = (f"SELECT {_q(model._meta.pk.column)} FROM {_q(model._meta.db_table)} "  # noqa: S608 — names from meta
               f"WHERE tenant_id = %s AND ({stale}) ORDER BY 1 LIMIT %s")
        with connection.cursor() as cursor:
            cursor.execute(sql, [current_tenant_id(), *([new_version] * len(fields)), self.batch_size])
            return [row[0] for row in cursor.fetchall()]

    def _data_finish(self, rotation: KeyRotation) -> bool:
        TenantKey.objects.filter(purpose=KeyPurpose.DATA, version__lt=rotation.to_version,
                                 retired_at__isnull=True).update(retired_at=timezone.now())
        self._finish(rotation)
        return False

    def _finish(self, rotation: KeyRotation) -> None:
        rotation.status = JobStatus.DONE
        rotation.finished_at = timezone.now()
        rotation.progress["phase"] = "done"
        self._save(rotation)
        transaction.on_commit(crypto.keyring.clear)

    # -- index key --

    def _run_index(self, rotation: KeyRotation) -> None:
        if rotation.progress.get("phase") == PHASE_WAIT:
            # Recompute only once no process can still write an index under the old key.
            self._wait_until(self._settled_at(rotation))
            self._batch(self._index_start_pass)
        while self._batch(self._index_pass_batch):
            pass
        while self._batch(self._index_check_batch):
            pass
        self._batch(self._index_finish)

    def _index_start_pass(self, rotation: KeyRotation) -> bool:
        if rotation.progress.get("phase") == PHASE_WAIT:
            rotation.progress["phase"] = PHASE_PASS
            self._save(rotation)
        return False

    def _index_pass_batch(self, rotation: KeyRotation) -> bool:
        progress = rotation.progress
        if progress.get("phase") != PHASE_PASS:
            return False
        # Insert-only tables too: their index columns are swapped through tenancy.privileged.
        model = self._next_table(rotation, _indexed_models())
        if model is None:
            progress["phase"] = PHASE_CHECK
            self._save(rotation)
            return False
        table = model._meta.db_table
        pairs = _index_fields(model)
        sources = [source for _index, source in pairs]
        last_id = progress.setdefault("tables", {}).get(table, 0)
        columns = [name for index, source in pairs for name in (source.attname, index.attname)]
        rows = list(model._base_manager.filter(pk__gt=last_id).filter(_any_not_null(sources)).order_by("pk")
                    .values_list("pk", *columns)[:self.batch_size])
        for position, (index, source) in enumerate(pairs):
            swaps = []
            for row in rows:
                blob, old = row[1 + 2 * position], row[2 + 2 * position]
                if blob is None:
                    continue
                new = crypto.blind_index(self._plain(model, source, row[0], blob), tenant_id=self.tenant_id,
                                         kind=source.kind, version=rotation.to_version)
                if new != old:
                    swaps.append((row[0], bytes(blob), old, new))
            _swap_index(model, index, source, swaps)
        if rows:
            progress["tables"][table] = rows[-1][0]
        if len(rows) < self.batch_size:
            progress.setdefault("done", []).append(table)
        self._save(rotation, len(rows))
        return True

    def _plain(self, model, field, row_id: int, blob: bytes) -> str:
        return crypto.unseal(blob, tenant_id=self.tenant_id, table=model._meta.db_table, column=field.column,
                             row_id=row_id)

    def _index_check_batch(self, rotation: KeyRotation) -> bool:
        """Insert-only tables cannot have their indexes rewritten (tenancy.privileged allows only a
        re-seal of a sealed column): find which old index keys their rows still use, so those stay
        unretired and lookups keep finding the rows."""
        progress = rotation.progress
        if progress.get("phase") != PHASE_CHECK:
            return False
        insert_only = [m for m in _indexed_models() if m.append_only]
        model = self._next_table(rotation, insert_only)
        if model is None:
            progress["phase"] = "finish"
            self._save(rotation)
            return False
        table = model._meta.db_table
        pairs = _index_fields(model)
        last_id = progress.setdefault("tables", {}).get(table, 0)
        columns = [name for index, source in pairs for name in (source.attname, index.attname)]
        rows = list(model._base_manager.filter(pk__gt=last_id).filter(_any_not_null([i for i, _s in pairs]))
                    .order_by("pk").values_list("pk", *columns)[:self.batch_size])
        old_versions = [v for v in crypto.keyring.unretired_versions(self.tenant_id, "index")
                        if v != rotation.to_version]
        kept = progress.setdefault("kept", {})
        for position, (index, source) in enumerate(pairs):
            for row in rows:
                blob, stored = row[1 + 2 * position], row[2 + 2 * position]
                if blob is None or stored is None:
                    continue
                plain = self._plain(model, source, row[0], blob)
                for version in [rotation.to_version, *old_versions]:
                    if crypto.blind_index(plain, tenant_id=self.tenant_id, kind=source.kind,
                                          version=version) == stored:
                        if version != rotation.to_version:
                            key = f"{table}.{index.column}"
                            kept.setdefault(str(version), {}).setdefault(key, 0)
                            kept[str(version)][key] += 1
                        break
        if rows:
            progress["tables"][table] = rows[-1][0]
        if len(rows) < self.batch_size:
            progress.setdefault("done", []).append(table)
        self._save(rotation, len(rows))
        return True

    def _index_finish(self, rotation: KeyRotation) -> bool:
        if rotation.progress.get("phase") != "finish":
            return False
        kept = {int(v) for v in rotation.progress.get("kept", {})}
        (TenantKey.objects.filter(purpose=KeyPurpose.INDEX, version__lt=rotation.to_version, retired_at__isnull=True)
         .exclude(version__in=kept).update(retired_at=timezone.now()))
        self._finish(rotation)
        return False

    # -- totals --

    def _count_total(self, rotation: KeyRotation) -> int:
        if rotation.kind == RotationKind.MASTER_KEY:
            return TenantKey.objects.exclude(master_key_id=crypto.master_key()[0]).count()
        if rotation.kind == RotationKind.DATA_KEY:
            return sum(m._base_manager.filter(_any_not_null(encrypted_fields(m))).count() for m in _sealed_models())
        return sum(m._base_manager.filter(_any_not_null([s for _i, s in _index_fields(m)])).count()
                   for m in _indexed_models())


# --- crypto-shredding --------------------------------------------------------------------------

def platform_tenant_offboard(*, tenant: Tenant, confirm_code: str) -> Tenant:
    """Platform action: a company leaves. It is deactivated (its logins, sessions and API tokens
    stop working, its tasks are skipped) and every key of it is destroyed, so every ciphertext it
    left behind — in the database and in every backup — can no longer be read (crypto-shredding).
    `confirm_code` must repeat the company's code. Cannot be undone."""
    if (confirm_code or "").strip() != tenant.code:
        raise ValidationError({"confirm_code": _("Type the company's code to confirm.")})
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if tenant.keys_shredded_at is not None:
            return tenant
        now = timezone.now()
        with tenant_scope(tenant):
            KeyRotation.objects.filter(status__in=OPEN).update(
                status=JobStatus.FAILED, finished_at=now, error="company offboarded")
            TenantKey.objects.all().delete()
        tenant.is_active = False
        tenant.offboarded_at = tenant.offboarded_at or now
        tenant.keys_shredded_at = now
        tenant.save()  # (a signal drops the cached memberships of its people)
        transaction.on_commit(crypto.keyring.clear)
    crypto.keyring.clear()
    logger.warning("tenant %s (%s) offboarded: keys destroyed", tenant.pk, tenant.code)
    return tenant
