"""Background key rotation: the resumable worker and the sweep that restarts lost or killed ones.

`key_rotation_run` is idempotent and resumable (every batch commits with the position reached, and
every swap is a compare-and-swap), so `acks_late` is safe: a message redelivered after a worker died
resumes the rotation; one that finds it finished does nothing."""
from __future__ import annotations

from celery import shared_task

from tenancy.tasks import TRANSIENT_RETRY, TenantTask, fan_out

from ..models import KeyRotation
from ..selectors.keys import rotations_stalled
from ..services import keys as services


@shared_task(base=TenantTask, name="compliance.tasks.keys.key_rotation_run", acks_late=True, ignore_result=True,
             **TRANSIENT_RETRY)
def key_rotation_run(*, tenant_id: int, rotation_id: int) -> str | None:
    """Run (or resume) one rotation to its end."""
    rotation = KeyRotation.objects.filter(pk=rotation_id).first()
    if rotation is None:
        return None
    return services.key_rotation_run(rotation).status


# acks_late: idempotent — it only queues rotations found stalled by state.
@shared_task(base=TenantTask, name="compliance.tasks.keys.key_rotation_sweep", acks_late=True, ignore_result=True,
             track_runs=True, **TRANSIENT_RETRY)
def key_rotation_sweep(*, tenant_id: int) -> list[int]:
    """Hand queued rotations whose message was lost, and running ones whose worker stopped
    reporting, to a worker again."""
    stalled = list(rotations_stalled())
    for rotation in stalled:
        services.key_rotation_requeue(rotation)
    return [rotation.pk for rotation in stalled]


@shared_task(name="compliance.tasks.keys.platform_key_rotation_sweep", ignore_result=True)
def platform_key_rotation_sweep() -> int:
    """Fan out the sweep, one task per active company (for the beat schedule)."""
    return fan_out(key_rotation_sweep)
