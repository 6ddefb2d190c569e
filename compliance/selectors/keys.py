"""Reads about the company's keys: their versions and ages (never key material) and the rotations."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.utils import timezone

from tenancy import crypto
from tenancy.models import KeyPurpose, TenantKey

from .. import rules
from ..models import JobStatus, KeyRotation

# A running rotation whose worker has not reported for this long is handed to a worker again.
STALE_HEARTBEAT = dt.timedelta(minutes=5)
# A queued rotation is normally picked up within seconds; after this its message is presumed lost.
QUEUED_GRACE = dt.timedelta(minutes=1)


@dataclass
class KeyStatus:
    purpose: str
    label: str
    version: int | None
    created_at: dt.datetime | None
    age_days: int | None
    due: bool
    rotation_age_days: int
    master_key_id: str
    master_is_current: bool
    # versions still in use for decryption / lookups besides the active one (during a rotation)
    other_unretired_versions: list[int] = field(default_factory=list)
    # keys of this purpose (any version) still wrapped by a retired master key
    wrapped_by_retired_master: int = 0


def key_status() -> list[KeyStatus]:
    """Per purpose (data, index): the active version, its age, whether it is due for rotation
    (compliance.rules.KEY_ROTATION_AGE_DAYS) and which master key wraps it. One query."""
    now = timezone.now()
    max_age = rules.KEY_ROTATION_AGE_DAYS.value()
    current_master = crypto.master_key()[0]
    rows = list(TenantKey.objects.order_by("purpose", "-version").only(
        "purpose", "version", "master_key_id", "created_at", "retired_at"))
    result = []
    for purpose in KeyPurpose:
        mine = [r for r in rows if r.purpose == purpose.value]
        unretired = [r for r in mine if r.retired_at is None]
        active = unretired[0] if unretired else None
        age = (now - active.created_at).days if active else None
        result.append(KeyStatus(
            purpose=purpose.value, label=str(purpose.label), version=active.version if active else None,
            created_at=active.created_at if active else None, age_days=age,
            due=age is not None and age >= max_age, rotation_age_days=max_age,
            master_key_id=active.master_key_id if active else "",
            master_is_current=bool(active) and active.master_key_id == current_master,
            other_unretired_versions=[r.version for r in unretired[1:]],
            wrapped_by_retired_master=sum(1 for r in mine if r.master_key_id != current_master),
        ))
    return result


def rotation_list() -> QuerySet[KeyRotation]:
    """Every rotation of the company's keys, newest first."""
    return KeyRotation.objects.select_related("requested_by").order_by("-created_at", "-id")


def rotation_get(*, pk: int) -> KeyRotation:
    return rotation_list().get(pk=pk)


def rotations_open() -> QuerySet[KeyRotation]:
    return rotation_list().filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING])


def rotations_stalled(*, now: dt.datetime | None = None) -> QuerySet[KeyRotation]:
    """Open rotations nobody is working on: queued ones whose message may have been lost, and
    running ones whose worker stopped reporting (killed, lost)."""
    now = now or timezone.now()
    return KeyRotation.objects.filter(
        Q(status=JobStatus.QUEUED, created_at__lt=now - QUEUED_GRACE)
        | Q(status=JobStatus.RUNNING, heartbeat_at__lt=now - STALE_HEARTBEAT)
        | Q(status=JobStatus.RUNNING, heartbeat_at__isnull=True)
    ).order_by("id")
