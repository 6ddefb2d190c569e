"""Detectors: automatic checks that *propose* fines (never confirm them) from facts other apps
record — a parcel left without a scan (shipments' exception rule, via its exception ticket), a
complaint past its clock (tickets SLA), one user revealing or exporting personal data far more
than usual (the compliance access log). Each proposal links its evidence and carries the key of
its fact, which is unique per company: the same fact never proposes twice, however often the
detectors run. A detector proposes only under the catalogue entry attached to it (an inactive
or missing entry switches it off)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.selectors import access_bursts
from tenancy.models import Membership
from tickets.selectors.sla import overdue_complaints, tracking_gap_tickets

from .. import rules
from ..models import Detector, SubjectKind, ViolationCase, ViolationType
from .cases import case_propose


@dataclass
class DetectorResult:
    proposed: dict[str, int] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"proposed": self.proposed, "seen": self.seen}


def _known_keys(prefix: str) -> set[str]:
    return set(ViolationCase.objects.filter(detection_key__startswith=prefix).values_list("detection_key", flat=True))


def _propose(vt: ViolationType, key: str, *, now: dt.datetime, **kwargs) -> bool:
    """Propose one fact's fine; False when a parallel run proposed it first (case_propose then
    returns that run's case)."""
    with transaction.atomic():
        case = case_propose(actor=None, violation_type=vt, detector=vt.detector, detection_key=key, now=now, **kwargs)
    return case.created_at == now


def _tracking_gaps(vt: ViolationType, since: dt.datetime, now: dt.datetime) -> tuple[int, int]:
    known = _known_keys("tracking_gap:")
    proposed = seen = 0
    for ticket in tracking_gap_tickets(since=since):
        seen += 1
        key = f"tracking_gap:ticket:{ticket.pk}"
        if key in known:
            continue
        waybill_number = ticket.waybill.number if ticket.waybill_id else ""
        proposed += _propose(
            vt, key, subject_kind=SubjectKind.BRANCH, branch=ticket.branch, now=now,
            occurred_on=timezone.localdate(ticket.created_at), ticket=ticket, waybill=ticket.waybill,
            description=_("Waybill %(waybill)s went without a tracking scan past the exception rule's limit "
                          "(exception ticket %(ticket)s).") % {"waybill": waybill_number, "ticket": ticket.number})
    return proposed, seen


def _overdue_complaints(vt: ViolationType, since: dt.datetime, now: dt.datetime) -> tuple[int, int]:
    known = _known_keys("complaint_overdue:")
    proposed = seen = 0
    for ticket in overdue_complaints(since=since):
        seen += 1
        key = f"complaint_overdue:ticket:{ticket.pk}"
        if key in known:
            continue
        subject = {"subject_kind": SubjectKind.BRANCH, "branch": ticket.branch}
        if ticket.assignee_id and ticket.assignee.is_active:
            subject = {"subject_kind": SubjectKind.EMPLOYEE, "subject_membership": ticket.assignee}
        elif ticket.branch_id is None:
            continue
        proposed += _propose(
            vt, key, now=now, occurred_on=timezone.localdate(ticket.resolution_due), ticket=ticket,
            waybill=ticket.waybill, **subject,
            description=_("Complaint %(ticket)s was not resolved by its deadline %(due)s.") % {
                "ticket": ticket.number, "due": timezone.localtime(ticket.resolution_due).strftime("%Y-%m-%d %H:%M")})
    return proposed, seen


def _pii_bursts(vt: ViolationType, since: dt.datetime, now: dt.datetime) -> tuple[int, int]:
    threshold = rules.PII_ACCESS_PER_HOUR.value()
    known = _known_keys("pii_access:")
    bursts = access_bursts(since=since, threshold=threshold)
    members = {m.user_id: m for m in Membership.objects.select_related("branch", "user").filter(
        user_id__in={b["actor_id"] for b in bursts}, is_active=True)}
    proposed = 0
    for burst in bursts:
        hour = timezone.localtime(burst["hour"])
        key = f"pii_access:user:{burst['actor_id']}:{burst['hour']:%Y-%m-%dT%H}"
        member = members.get(burst["actor_id"])
        if key in known or member is None:
            continue
        proposed += _propose(
            vt, key, subject_kind=SubjectKind.EMPLOYEE, subject_membership=member, now=now,
            occurred_on=hour.date(), access_log_ids=burst["ids"][:200],
            description=_("%(user)s revealed or exported personal data %(count)d times between %(start)s and "
                          "%(end)s (more than %(limit)d in an hour).") % {
                "user": member.user.display_name or member.user.username, "count": burst["count"],
                "start": hour.strftime("%Y-%m-%d %H:00"), "end": (hour + dt.timedelta(hours=1)).strftime("%H:00"),
                "limit": threshold})
    return proposed, len(bursts)


_DETECTORS = {
    Detector.TRACKING_GAP: _tracking_gaps,
    Detector.COMPLAINT_OVERDUE: _overdue_complaints,
    Detector.PII_ACCESS_ANOMALY: _pii_bursts,
}


def detectors_run(*, now: dt.datetime | None = None) -> DetectorResult:
    """Run every detector of the current company over the last `DETECTOR_LOOKBACK_DAYS` days."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=rules.DETECTOR_LOOKBACK_DAYS.value())
    result = DetectorResult()
    types = {vt.detector: vt for vt in ViolationType.objects.filter(is_active=True).exclude(detector="")}
    for detector, run in _DETECTORS.items():
        vt = types.get(detector)
        if vt is None:
            continue
        proposed, seen = run(vt, since, now)
        result.proposed[detector] = proposed
        result.seen[detector] = seen
    return result
