"""Writes of the compliance app. Callers pass the request facts they have; nothing here reads
personal values."""
from __future__ import annotations

from collections.abc import Sequence

from tenancy.models import Membership

from ..models import AccessAction, AccessLog


def access_log_record(
    *,
    actor,
    membership: Membership,
    action: str,
    target_type: str,
    target_id: int | None,
    target_label: str = "",
    fields: Sequence[str] = (),
    reason: str,
    request_id: str = "",
    ip_address: str | None = None,
    export_ids: Sequence[int] = (),
    export_file_sha256: str = "",
) -> AccessLog:
    """One access-log row. Call inside the transaction that hands out the data, so the row
    exists if and only if the data left the system."""
    if action not in AccessAction.values:
        raise ValueError(f"unknown access action {action!r}")
    if not reason or not reason.strip():
        raise ValueError("an access needs a reason")
    return AccessLog.objects.create(
        action=action,
        actor=actor,
        actor_role=membership.role,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label[:200],
        fields=list(fields),
        reason=reason.strip(),
        request_id=request_id[:64],
        ip_address=ip_address,
        export_row_count=len(export_ids) if action == AccessAction.EXPORT else None,
        export_ids=list(export_ids),
        export_file_sha256=export_file_sha256,
    )
