"""Detectors propose fines from facts other apps record — never confirm them, never twice for the
same fact: a parcel without a scan (its no_scan exception ticket), a complaint past its clock, and
one user revealing personal data more than the rule allows within one clock hour."""
from __future__ import annotations

import datetime as dt
from itertools import count

import pytest
from django.utils import timezone

from compliance.models import AccessLog
from compliance.services import access_log_record
from penalties import rules, services
from penalties.models import CaseStatus, Detector, SubjectKind, ViolationCase, ViolationType
from shipments.services import exception_sweep
from tenancy.models import Role
from tenancy.scoping import tenant_scope
from tenancy.services import rule_set
from tests.factories.shipments import ingest, recent, waybill_events
from tickets.models import Ticket

from .fines_world import act, seed_catalogue

pytestmark = pytest.mark.django_db

H = dt.timedelta(hours=1)
_numbers = count(1)


@pytest.fixture
def fw(world):
    seed_catalogue(world)
    return world


def _run(tw, now=None):
    with tenant_scope(tw.tenant):
        return services.detectors_run(now=now)


def _cases(tw, detector: str | None = None) -> list[ViolationCase]:
    with tenant_scope(tw.tenant):
        qs = ViolationCase.objects.select_related("violation_type", "subject_membership").order_by("id")
        if detector:
            qs = qs.filter(detector=detector)
        return list(qs)


def _stalled_parcel(tw, number: str) -> Ticket:
    """A parcel that arrived at the branch and then went without a scan past the rule's 24 hours:
    the exception sweep opens its no_scan ticket (as in production)."""
    start = recent(days=3)
    ingest(tw, waybill_events(number, start=start, site=tw.branch.code, final=None))
    with tenant_scope(tw.tenant):
        assert exception_sweep()["no_scan"] == 1
        return Ticket.objects.select_related("waybill", "branch").get(waybill__number=number)


def _complaint(tw, *, due: dt.datetime, breached: bool = True, assignee=None, branch="branch") -> Ticket:
    with tenant_scope(tw.tenant):
        n = next(_numbers)
        return Ticket.objects.create(
            number=f"TC{n:06d}", category="complaint", channel="phone", subject=f"投诉 {n}",
            branch=getattr(tw, branch) if branch else None, assignee=assignee, resolution_due=due,
            resolution_breached=breached, created_at=due - dt.timedelta(days=7))


def _reveals(tw, user, n: int, *, start: dt.datetime, step=dt.timedelta(seconds=30)) -> list[int]:
    """`n` personal-data reveals by `user`, from `start` on, `step` apart."""
    with tenant_scope(tw.tenant):
        membership = tw.members[next(r for r, m in tw.members.items() if m.user_id == user.pk)]
        ids = []
        for i in range(n):
            row = AccessLog.objects.create(action="reveal", actor=user, actor_role=membership.role,
                                           target_type="customers.person", target_id=1000 + i,
                                           fields=["phone"], reason="核对收件人", created_at=start + i * step)
            ids.append(row.pk)
        return ids


def _hour_start(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment).replace(minute=0, second=0, microsecond=0)


def _set_rule(tw, key, value):
    admin = tw.user(Role.TENANT_ADMIN)
    with tenant_scope(tw.tenant, user=admin):
        rule_set(actor=admin, key=key, value=value, effective_from=timezone.localdate() - dt.timedelta(days=30))


def _deactivate(tw, code):
    with tenant_scope(tw.tenant):
        vt = ViolationType.objects.get(code=code)
    values = {name: getattr(vt, name) for name in services.catalogue.EDITABLE}
    act(tw, tw.user(Role.TENANT_ADMIN), services.violation_type_update, violation_type=vt,
        **{**values, "is_active": False})


# --- tracking gap ----------------------------------------------------------------------------------------

def test_a_parcel_without_a_scan_proposes_a_branch_fine_once(fw):
    tw = fw.a
    ticket = _stalled_parcel(tw, "SFP0000001")
    assert ticket.exception_kind == "no_scan"
    result = _run(tw)
    assert result.proposed[Detector.TRACKING_GAP] == 1 and result.seen[Detector.TRACKING_GAP] == 1
    (case,) = _cases(tw, Detector.TRACKING_GAP)
    assert case.status == CaseStatus.PROPOSED and case.proposed_by_id is None
    assert case.violation_type.code == "TRACKING_LATE" and case.type_version == 1
    assert case.subject_kind == SubjectKind.BRANCH and case.subject_membership_id is None
    assert case.branch_id == ticket.branch_id == tw.branch.pk
    assert case.ticket_id == ticket.pk and case.waybill_id == ticket.waybill_id
    assert case.detection_key == f"tracking_gap:ticket:{ticket.pk}"
    assert case.amount == case.violation_type.default_amount
    assert case.confirmed_by_id is None and case.confirmed_at is None
    with tenant_scope(tw.tenant):
        assert not case.entries.exists()  # proposed only: nothing in the ledger
    # Run again (and again): the same fact never proposes twice.
    again = _run(tw)
    assert again.proposed[Detector.TRACKING_GAP] == 0 and again.seen[Detector.TRACKING_GAP] == 1
    _run(tw)
    assert len(_cases(tw)) == 1
    # The other company has nothing.
    assert _run(fw.b).proposed.get(Detector.TRACKING_GAP) == 0
    assert _cases(fw.b) == []


def test_a_proposal_from_a_detector_is_confirmed_by_a_person(fw):
    tw = fw.a
    _stalled_parcel(tw, "SFP0000002")
    _run(tw)
    (case,) = _cases(tw, Detector.TRACKING_GAP)
    confirmed = act(tw, tw.user(Role.BRANCH_MANAGER), services.case_confirm, case=case)
    assert confirmed.status == CaseStatus.CONFIRMED
    with tenant_scope(tw.tenant):
        assert services.case_outstanding(confirmed) == case.amount
    _run(tw)
    assert len(_cases(tw)) == 1


def test_a_no_scan_ticket_older_than_the_lookback_is_not_proposed(fw):
    tw = fw.a
    ticket = _stalled_parcel(tw, "SFP0000003")
    later = ticket.created_at + dt.timedelta(days=rules.DETECTOR_LOOKBACK_DAYS.default, minutes=1)
    assert _run(tw, now=later).seen[Detector.TRACKING_GAP] == 0
    assert _cases(tw) == []


# --- complaints past their clock -----------------------------------------------------------------------

def test_an_overdue_complaint_proposes_against_its_assignee_or_else_its_branch(fw):
    tw = fw.a
    now = timezone.now()
    agent = tw.members[Role.AGENT]
    assigned = _complaint(tw, due=now - 2 * H, assignee=agent)
    unassigned = _complaint(tw, due=now - 26 * H)
    _complaint(tw, due=now - 3 * H, breached=False, assignee=agent)              # on time
    _complaint(tw, due=now - dt.timedelta(days=8), assignee=agent)              # before the lookback
    _complaint(tw, due=now - 5 * H, branch=None)                                # nobody to fine
    result = _run(tw, now=now)
    assert result.proposed[Detector.COMPLAINT_OVERDUE] == 2
    cases = {c.ticket_id: c for c in _cases(tw, Detector.COMPLAINT_OVERDUE)}
    assert set(cases) == {assigned.pk, unassigned.pk}
    employee = cases[assigned.pk]
    assert employee.subject_kind == SubjectKind.EMPLOYEE and employee.subject_membership_id == agent.pk
    assert employee.branch_id == tw.branch.pk
    assert employee.occurred_on == timezone.localdate(assigned.resolution_due)
    branch = cases[unassigned.pk]
    assert branch.subject_kind == SubjectKind.BRANCH and branch.branch_id == tw.branch.pk
    for case in cases.values():
        assert case.status == CaseStatus.PROPOSED and case.proposed_by_id is None
        assert case.detector == Detector.COMPLAINT_OVERDUE and case.violation_type.code == "COMPLAINT_OVERDUE"
        assert case.detection_key == f"complaint_overdue:ticket:{case.ticket_id}"
    assert _run(tw, now=now).proposed[Detector.COMPLAINT_OVERDUE] == 0
    assert len(_cases(tw)) == 2


# --- personal-data reveals --------------------------------------------------------------------------------

def test_more_reveals_than_the_rule_in_one_clock_hour_propose_a_fine(fw):
    tw = fw.a
    sales = tw.user(Role.SALES_MANAGER)
    hour = _hour_start(timezone.now() - dt.timedelta(days=1))
    ids = _reveals(tw, sales, 31, start=hour + dt.timedelta(minutes=5), step=dt.timedelta(seconds=60))
    result = _run(tw)
    assert result.proposed[Detector.PII_ACCESS_ANOMALY] == 1
    (case,) = _cases(tw, Detector.PII_ACCESS_ANOMALY)
    assert case.status == CaseStatus.PROPOSED and case.proposed_by_id is None
    assert case.subject_kind == SubjectKind.EMPLOYEE
    assert case.subject_membership_id == tw.members[Role.SALES_MANAGER].pk
    assert sorted(case.access_log_ids) == sorted(ids)
    assert case.violation_type.code == "PII_ACCESS_ANOMALY"
    assert case.occurred_on == hour.date()
    assert _run(tw).proposed[Detector.PII_ACCESS_ANOMALY] == 0
    assert len(_cases(tw)) == 1


def test_the_threshold_itself_is_not_an_anomaly(fw):
    tw = fw.a
    hour = _hour_start(timezone.now() - dt.timedelta(days=1))
    _reveals(tw, tw.user(Role.AGENT), 30, start=hour, step=dt.timedelta(seconds=110))
    assert _run(tw).proposed[Detector.PII_ACCESS_ANOMALY] == 0
    assert _cases(tw) == []


def test_reveals_across_two_clock_hours_are_counted_per_hour(fw):
    tw = fw.a
    hour = _hour_start(timezone.now() - dt.timedelta(days=1))
    # 40 reveals within 40 minutes, but 20 before and 20 after the hour turns.
    _reveals(tw, tw.user(Role.AGENT), 40, start=hour + dt.timedelta(minutes=40), step=dt.timedelta(seconds=60))
    assert _run(tw).proposed[Detector.PII_ACCESS_ANOMALY] == 0
    # Two users in the same hour are two users.
    _reveals(tw, tw.user(Role.EXECUTIVE), 20, start=hour + dt.timedelta(hours=3))
    _reveals(tw, tw.user(Role.AUDITOR), 20, start=hour + dt.timedelta(hours=3))
    assert _run(tw).proposed[Detector.PII_ACCESS_ANOMALY] == 0
    assert _cases(tw) == []


def test_the_threshold_is_a_per_company_rule(fw):
    a, b = fw.a, fw.b
    _set_rule(a, rules.PII_ACCESS_PER_HOUR.key, 5)
    hour = _hour_start(timezone.now() - dt.timedelta(days=1))
    for tw in (a, b):
        _reveals(tw, tw.user(Role.AGENT), 6, start=hour)
    assert _run(a).proposed[Detector.PII_ACCESS_ANOMALY] == 1
    assert _run(b).proposed[Detector.PII_ACCESS_ANOMALY] == 0
    assert len(_cases(a)) == 1 and _cases(b) == []


def test_reveals_recorded_through_the_service_are_counted(fw):
    tw = fw.a
    _set_rule(tw, rules.PII_ACCESS_PER_HOUR.key, 3)
    membership = tw.members[Role.SALES_MANAGER]
    # All within the current clock hour (the service stamps them with the current time).
    now = timezone.now()
    if timezone.localtime(now).minute == 59 and timezone.localtime(now).second > 50:
        pytest.skip("too close to the turn of the hour")
    with tenant_scope(tw.tenant, user=membership.user):
        ids = [access_log_record(actor=membership.user, membership=membership, action="reveal",
                                 target_type="customers.person", target_id=i, fields=["phone"],
                                 reason="核对").pk for i in range(4)]
    assert _run(tw).proposed[Detector.PII_ACCESS_ANOMALY] == 1
    (case,) = _cases(tw)
    assert sorted(case.access_log_ids) == sorted(ids)


# --- switching a detector off -----------------------------------------------------------------------------

def test_a_deactivated_catalogue_entry_switches_its_detector_off(fw):
    tw = fw.a
    _deactivate(tw, "TRACKING_LATE")
    _deactivate(tw, "PII_ACCESS_ANOMALY")
    _stalled_parcel(tw, "SFP0000004")
    hour = _hour_start(timezone.now() - dt.timedelta(days=1))
    _reveals(tw, tw.user(Role.AGENT), 40, start=hour)
    now = timezone.now()
    _complaint(tw, due=now - H, assignee=tw.members[Role.AGENT])
    result = _run(tw, now=now)
    assert Detector.TRACKING_GAP not in result.proposed
    assert Detector.PII_ACCESS_ANOMALY not in result.proposed
    assert result.proposed[Detector.COMPLAINT_OVERDUE] == 1  # still on
    assert [c.detector for c in _cases(tw)] == [Detector.COMPLAINT_OVERDUE]
    # In the other company the same detectors still run.
    _stalled_parcel(fw.b, "SFQ0000004")
    assert _run(fw.b).proposed[Detector.TRACKING_GAP] == 1


def test_a_detector_moved_to_another_entry_proposes_under_that_entry(fw):
    tw = fw.a
    admin = tw.user(Role.TENANT_ADMIN)
    with tenant_scope(tw.tenant):
        old = ViolationType.objects.get(code="TRACKING_LATE")
    values = {name: getattr(old, name) for name in services.catalogue.EDITABLE}
    act(tw, admin, services.violation_type_update, violation_type=old, **{**values, "detector": ""})
    new = act(tw, admin, services.violation_type_create, code="TRACKING_GAP_2026", name_zh="轨迹断更",
              name_en="Tracking gap", category="tracking_timeliness", amount_min="10", amount_max="500",
              default_amount="88", detector="tracking_gap")
    _stalled_parcel(tw, "SFP0000005")
    _run(tw)
    (case,) = _cases(tw)
    assert case.violation_type_id == new.pk and case.amount == 88
