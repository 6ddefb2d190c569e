"""Violation cases through the services, with both companies present (DOMAIN.md §5): proposal,
four-eyes confirmation (service and database), the one appeal and its decision, payments, voids,
branch reach, the catalogue range, evidence, and the other company's wall. At every step what is
owed (services.case_outstanding) equals the sum of the case's ledger entries."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from penalties import selectors, services
from penalties.chain import chain_walk
from penalties.models import (
    Appeal,
    AppealStatus,
    CaseEvent,
    CaseStatus,
    EntryKind,
    LedgerEntry,
    Tier,
    ViolationCase,
    ViolationEvidence,
)
from tenancy.models import Membership, Role, User
from tenancy.scoping import CrossTenantReference, tenant_scope

from .fines_world import PDF, PNG, act, confirmed, proposed, seed_catalogue, vtype

pytestmark = pytest.mark.django_db



@pytest.fixture
def fw(world):
    seed_catalogue(world)
    return world


def _fields(exc: ValidationError) -> set[str]:
    return set(exc.message_dict)


def _reload(tw, case) -> ViolationCase:
    with tenant_scope(tw.tenant):
        return ViolationCase.objects.get(pk=case.pk)


def _entries(tw, case) -> list[tuple[str, Decimal]]:
    with tenant_scope(tw.tenant):
        return list(LedgerEntry.objects.filter(case_id=case.pk).order_by("sequence").values_list("kind", "amount"))


def _owed(tw, case, expected: str) -> None:
    """What is owed is the sum of the case's entries, and equals `expected`."""
    with tenant_scope(tw.tenant):
        fresh = ViolationCase.objects.get(pk=case.pk)
        total = LedgerEntry.objects.filter(case_id=case.pk).aggregate(t=Sum("amount"))["t"] or Decimal("0")
        assert services.case_outstanding(fresh) == total == Decimal(expected)


def _counts(tw) -> tuple[int, ...]:
    with tenant_scope(tw.tenant):
        return (ViolationCase.objects.count(), CaseEvent.objects.count(), LedgerEntry.objects.count(),
                Appeal.objects.count(), ViolationEvidence.objects.count())


def _other_branch_manager(tw) -> User:
    """A branch manager of `other_branch` (a sibling of the world's branch under the one region)."""
    with tenant_scope(tw.tenant):
        user = User.objects.create_user(f"{tw.tenant.code}_bm2", "Test-Passw0rd-2026", display_name="杭州网点经理",
                                        home_tenant=tw.tenant, last_active_tenant=tw.tenant)
        Membership.objects.create(user=user, role=Role.BRANCH_MANAGER, title="bm2", branch=tw.other_branch)
    return user


# --- proposal and confirmation ---------------------------------------------------------------------

def test_propose_then_confirm_issues_the_fine(fw):
    tw = fw.a
    case = proposed(tw, amount="1200.00")
    assert case.status == CaseStatus.PROPOSED
    assert case.proposed_by_id == tw.user(Role.BRANCH_MANAGER).pk
    assert case.subject_membership_id == tw.members[Role.AGENT].pk
    assert case.branch_id == tw.branch.pk
    assert case.tier == Tier.GENERAL
    assert case.original_amount == case.amount == Decimal("1200.00")
    assert case.type_version == 1 and case.category == "information_accuracy"
    assert _entries(tw, case) == []
    _owed(tw, case, "0")

    executive = tw.user(Role.EXECUTIVE)
    now = timezone.now()
    act(tw, executive, services.case_confirm, case=case, note="核实无误", now=now)
    case = _reload(tw, case)
    assert case.status == CaseStatus.CONFIRMED
    assert case.confirmed_by_id == executive.pk and case.confirmed_at == now
    assert case.appeal_due_at == now + dt.timedelta(days=15)
    assert _entries(tw, case) == [(EntryKind.FINE_ISSUED, Decimal("1200.00"))]
    _owed(tw, case, "1200.00")
    with tenant_scope(tw.tenant):
        entry = LedgerEntry.objects.get(case_id=case.pk)
        assert entry.recorded_by_id == executive.pk and entry.memo == "核实无误"
        assert entry.subject_membership_id == case.subject_membership_id and entry.branch_id == case.branch_id
        assert [e.to_status for e in CaseEvent.objects.filter(case_id=case.pk).order_by("id")] == [
            CaseStatus.PROPOSED, CaseStatus.CONFIRMED]
        assert chain_walk().ok


def test_a_regulator_fine_is_a_regulator_entry_against_a_branch(fw):
    tw = fw.a
    admin = tw.user(Role.TENANT_ADMIN)
    case = act(tw, admin, services.case_propose, violation_type=vtype(tw, "REG_TRACKING"), subject_kind="branch",
               branch=tw.hq, amount="10000", description="邮政管理局处罚决定书", occurred_on=dt.date.today())
    assert case.legal_reference and case.category == "regulator" and case.tier == Tier.SERIOUS
    act(tw, tw.user(Role.EXECUTIVE), services.case_confirm, case=case)
    assert _entries(tw, case) == [(EntryKind.REGULATOR_FINE, Decimal("10000.00"))]
    _owed(tw, case, "10000.00")


def test_a_regulator_fine_cannot_name_an_employee(fw):
    tw = fw.a
    before = _counts(tw)
    with pytest.raises(ValidationError) as exc:
        act(tw, tw.user(Role.TENANT_ADMIN), services.case_propose, violation_type=vtype(tw, "REG_TRACKING"),
            subject_kind="employee", subject_membership=tw.members[Role.AGENT], amount="10000",
            description="x", occurred_on=dt.date.today())
    assert "subject_kind" in _fields(exc.value)
    assert _counts(tw) == before


def test_four_eyes_the_proposer_cannot_confirm(fw):
    tw = fw.a
    case = proposed(tw)
    before = _counts(tw)
    with pytest.raises(PermissionDenied):
        act(tw, tw.user(Role.BRANCH_MANAGER), services.case_confirm, case=case)
    assert _reload(tw, case).status == CaseStatus.PROPOSED
    assert _counts(tw) == before


def test_four_eyes_is_a_database_check_too(fw):
    tw = fw.a
    case = proposed(tw)
    with tenant_scope(tw.tenant):
        with pytest.raises(IntegrityError) as exc, transaction.atomic():
            ViolationCase.objects.filter(pk=case.pk).update(confirmed_by_id=case.proposed_by_id,
                                                             status=CaseStatus.CONFIRMED)
        assert "violationcase_four_eyes" in str(exc.value)
        fresh = ViolationCase.objects.get(pk=case.pk)
        assert fresh.confirmed_by_id is None and fresh.status == CaseStatus.PROPOSED


def test_the_subject_cannot_confirm_their_own_fine(fw):
    tw = fw.a
    # Against the branch manager (who may confirm fines), proposed by the tenant admin.
    case = proposed(tw, subject_role=Role.BRANCH_MANAGER, by=Role.TENANT_ADMIN)
    before = _counts(tw)
    with pytest.raises(PermissionDenied):
        act(tw, tw.user(Role.BRANCH_MANAGER), services.case_confirm, case=case)
    assert _reload(tw, case).status == CaseStatus.PROPOSED
    assert _counts(tw) == before


def test_nobody_proposes_a_fine_against_themselves(fw):
    tw = fw.a
    before = _counts(tw)
    with pytest.raises(ValidationError) as exc:
        proposed(tw, subject_role=Role.BRANCH_MANAGER, by=Role.BRANCH_MANAGER)
    assert "subject_membership" in _fields(exc.value)
    assert _counts(tw) == before


def test_roles_without_the_right_cannot_propose_or_confirm(fw):
    tw = fw.a
    before = _counts(tw)
    for role in (Role.AGENT, Role.SALES_MANAGER, Role.AUDITOR):
        with pytest.raises(PermissionDenied):
            proposed(tw, subject_role=Role.BRANCH_MANAGER if role == Role.AGENT else Role.AGENT, by=role)
    case = proposed(tw)
    before = _counts(tw)
    for role in (Role.AGENT, Role.SALES_MANAGER, Role.AUDITOR):
        with pytest.raises(PermissionDenied):
            act(tw, tw.user(role), services.case_confirm, case=case)
    assert _counts(tw) == before and _reload(tw, case).status == CaseStatus.PROPOSED


def test_a_confirmed_fine_is_not_confirmed_twice(fw):
    tw = fw.a
    case = confirmed(tw)
    before = _counts(tw)
    with pytest.raises(ValidationError) as exc:
        act(tw, tw.user(Role.TENANT_ADMIN), services.case_confirm, case=case)
    assert "status" in _fields(exc.value)
    assert _counts(tw) == before
    _owed(tw, case, "1000.00")


# --- branch reach ------------------------------------------------------------------------------------

def test_a_branch_manager_of_the_other_branch_is_refused(fw):
    tw = fw.a
    other_manager = _other_branch_manager(tw)
    case = proposed(tw)  # against the agent of `branch`
    before = _counts(tw)
    with pytest.raises(PermissionDenied):
        act(tw, other_manager, services.case_confirm, case=case)
    with pytest.raises(PermissionDenied):  # nor propose against the other branch
        act(tw, tw.user(Role.BRANCH_MANAGER), services.case_propose, violation_type=vtype(tw), subject_kind="branch",
            branch=tw.other_branch, amount="300", description="别的网点", occurred_on=dt.date.today())
    with pytest.raises(PermissionDenied):  # nor against an employee of the other manager's reach
        act(tw, other_manager, services.case_propose, violation_type=vtype(tw), subject_kind="employee",
            subject_membership=tw.members[Role.AGENT], amount="300", description="x", occurred_on=dt.date.today())
    assert _counts(tw) == before
    act(tw, tw.user(Role.EXECUTIVE), services.case_confirm, case=case)
    before = _counts(tw)
    with pytest.raises(PermissionDenied):
        act(tw, other_manager, services.case_payment_record, case=case, amount="10", method="cash")
    with pytest.raises(PermissionDenied):
        act(tw, other_manager, services.case_appeal, case=case, grounds="代为申诉")
    assert _counts(tw) == before
    _owed(tw, case, "1000.00")
    # Within their own branch the other manager may act.
    own = act(tw, other_manager, services.case_propose, violation_type=vtype(tw), subject_kind="branch",
              branch=tw.other_branch, amount="300", description="网点虚假扫描", occurred_on=dt.date.today())
    assert own.branch_id == tw.other_branch.pk


# --- appeals -------------------------------------------------------------------------------------------

def test_the_subject_appeals_and_the_appeal_is_upheld(fw):
    tw = fw.a
    case = confirmed(tw)
    agent = tw.user(Role.AGENT)
    appeal = act(tw, agent, services.case_appeal, case=case, grounds="扫描枪故障", requested_amount="200")
    assert appeal.on_behalf is False and appeal.filed_by_id == agent.pk and appeal.status == AppealStatus.PENDING
    assert _reload(tw, case).status == CaseStatus.APPEALED
    _owed(tw, case, "1000.00")
    decided = act(tw, tw.user(Role.TENANT_ADMIN), services.appeal_decide, case=case, outcome="upheld",
                  reason="证据充分")
    assert decided.status == AppealStatus.UPHELD and decided.decided_by_id == tw.user(Role.TENANT_ADMIN).pk
    case = _reload(tw, case)
    assert case.status == CaseStatus.UPHELD and case.amount == Decimal("1000.00")
    assert _entries(tw, case) == [(EntryKind.FINE_ISSUED, Decimal("1000.00"))]
    _owed(tw, case, "1000.00")


def test_the_branch_manager_appeals_on_behalf_and_the_fine_is_reduced(fw):
    tw = fw.a
    case = confirmed(tw, amount="1000.00")
    manager = tw.user(Role.BRANCH_MANAGER)
    appeal = act(tw, manager, services.case_appeal, case=case, grounds="员工初犯")
    assert appeal.on_behalf is True and appeal.filed_by_id == manager.pk
    decided = act(tw, tw.user(Role.TENANT_ADMIN), services.appeal_decide, case=case, outcome="reduced",
                  reason="酌情减轻", reduced_to="600.00")
    assert decided.status == AppealStatus.REDUCED and decided.reduced_to == Decimal("600.00")
    case = _reload(tw, case)
    assert case.status == CaseStatus.REDUCED
    assert case.amount == Decimal("600.00") and case.original_amount == Decimal("1000.00")
    assert _entries(tw, case) == [(EntryKind.FINE_ISSUED, Decimal("1000.00")),
                                  (EntryKind.FINE_REDUCED, Decimal("-400.00"))]
    _owed(tw, case, "600.00")
    # The reduced fine is then paid in full.
    act(tw, manager, services.case_payment_record, case=case, amount="600.00", method="payroll")
    assert _reload(tw, case).status == CaseStatus.SETTLED
    _owed(tw, case, "0")


def test_a_reduction_must_be_below_the_fine(fw):
    tw = fw.a
    case = confirmed(tw)
    act(tw, tw.user(Role.AGENT), services.case_appeal, case=case, grounds="过重")
    before = _counts(tw)
    for bad in ("1000.00", "1500", "-1", "abc", None):
        with pytest.raises(ValidationError) as exc:
            act(tw, tw.user(Role.TENANT_ADMIN), services.appeal_decide, case=case, outcome="reduced",
                reason="x", reduced_to=bad)
        assert "reduced_to" in _fields(exc.value), bad
    assert _counts(tw) == before and _reload(tw, case).status == CaseStatus.APPEALED
    _owed(tw, case, "1000.00")


def test_an_overturned_fine_is_reversed(fw):
    tw = fw.a
    case = confirmed(tw, amount="800.00")
    act(tw, tw.user(Role.AGENT), services.case_appeal, case=case, grounds="不是我扫的")
    act(tw, tw.user(Role.BRANCH_MANAGER), services.appeal_decide, case=case, outcome="overturned",
        reason="监控显示另有其人")
    case = _reload(tw, case)
    assert case.status == CaseStatus.OVERTURNED
    assert _entries(tw, case) == [(EntryKind.FINE_ISSUED, Decimal("800.00")),
                                  (EntryKind.FINE_REVERSED, Decimal("-800.00"))]
    _owed(tw, case, "0")
    before = _counts(tw)
    with pytest.raises(ValidationError):
        act(tw, tw.user(Role.BRANCH_MANAGER), services.case_payment_record, case=case, amount="1", method="cash")
    assert _counts(tw) == before


def test_the_appeal_window(fw):
    tw = fw.a
    confirmed_at = timezone.now() - dt.timedelta(days=20)
    late = proposed(tw)
    act(tw, tw.user(Role.EXECUTIVE), services.case_confirm, case=late, now=confirmed_at)
    due = _reload(tw, late).appeal_due_at
    assert due == confirmed_at + dt.timedelta(days=15)
    before = _counts(tw)
    with pytest.raises(ValidationError) as exc:
        act(tw, tw.user(Role.AGENT), services.case_appeal, case=late, grounds="迟到的申诉",
            now=due + dt.timedelta(seconds=1))
    assert "grounds" in _fields(exc.value)
    with pytest.raises(ValidationError):
        act(tw, tw.user(Role.AGENT), services.case_appeal, case=late, grounds="迟到的申诉")  # today: closed too
    assert _counts(tw) == before and _reload(tw, late).status == CaseStatus.CONFIRMED
    # On the last moment of the window it is still open.
    appeal = act(tw, tw.user(Role.AGENT), services.case_appeal, case=late, grounds="最后一刻", now=due)
    assert appeal.pk and _reload(tw, late).status == CaseStatus.APPEALED


def test_one_appeal_per_case(fw):
    tw = fw.a
    case = confirmed(tw)
    act(tw, tw.user(Role.AGENT), services.case_appeal, case=case, grounds="第一次")
    before = _counts(tw)
    with pytest.raises(ValidationError):
        act(tw, tw.user(Role.AGENT), services.case_appeal, case=case, grounds="第二次")
    with pytest.raises(ValidationError):
        act(tw, tw.user(Role.BRANCH_MANAGER), services.case_appeal, case=case, grounds="代为第二次")
    assert _counts(tw) == before
    act(tw, tw.user(Role.TENANT_ADMIN), services.appeal_decide, case=case, outcome="upheld", reason="维持")
    before = _counts(tw)
    with pytest.raises(ValidationError):
        act(tw, tw.user(Role.AGENT), services.case_appeal, case=case, grounds="决定之后再申诉")
    assert _counts(tw) == before
    with tenant_scope(tw.tenant):
        assert Appeal.objects.filter(case_id=case.pk).count() == 1
        # The database holds it too.
        with pytest.raises(IntegrityError), transaction.atomic():
            Appeal.objects.create(case_id=case.pk, filed_by=tw.user(Role.AGENT), grounds="绕过服务")


def test_only_the_subject_or_a_manager_appeals(fw):
    tw = fw.a
    case = confirmed(tw)
    before = _counts(tw)
    for role in (Role.SALES_MANAGER, Role.AUDITOR):
        with pytest.raises(PermissionDenied):
            act(tw, tw.user(role), services.case_appeal, case=case, grounds="与我无关")
    assert _counts(tw) == before


def test_a_proposed_fine_cannot_be_appealed(fw):
    tw = fw.a
    case = proposed(tw)
    before = _counts(tw)
    with pytest.raises(ValidationError) as exc:
        act(tw, tw.user(Role.AGENT), services.case_appeal, case=case, grounds="还没确认")
    assert "status" in _fields(exc.value)
    assert _counts(tw) == before


def test_the_appeal_is_decided_by_someone_else(fw):
    tw = fw.a
    case = confirmed(tw)  # confirmed by the executive
    act(tw, tw.user(Role.BRANCH_MANAGER), services.case_appeal, case=case, grounds="代为申诉")
    before = _counts(tw)
    with pytest.raises(PermissionDenied):  # the confirmer
        act(tw, tw.user(Role.EXECUTIVE), services.appeal_decide, case=case, outcome="overturned", reason="x")
    with pytest.raises(PermissionDenied):  # the filer
        act(tw, tw.user(Role.BRANCH_MANAGER), services.appeal_decide, case=case, outcome="overturned", reason="x")
    with pytest.raises(PermissionDenied):  # the subject (no right to decide at all)
        act(tw, tw.user(Role.AGENT), services.appeal_decide, case=case, outcome="overturned", reason="x")
    with pytest.raises(PermissionDenied):  # the auditor writes nothing
        act(tw, tw.user(Role.AUDITOR), services.appeal_decide, case=case, outcome="overturned", reason="x")
    assert _counts(tw) == before and _reload(tw, case).status == CaseStatus.APPEALED
    _owed(tw, case, "1000.00")


def test_a_subject_who_may_decide_appeals_cannot_decide_their_own(fw):
    tw = fw.a
    # A fine against the branch manager, appealed on their behalf by the tenant admin.
    case = proposed(tw, subject_role=Role.BRANCH_MANAGER, by=Role.TENANT_ADMIN)
    act(tw, tw.user(Role.EXECUTIVE), services.case_confirm, case=case)
    appeal = act(tw, tw.user(Role.TENANT_ADMIN), services.case_appeal, case=case, grounds="代为申诉")
    assert appeal.on_behalf is True
    before = _counts(tw)
    with pytest.raises(PermissionDenied):
        act(tw, tw.user(Role.BRANCH_MANAGER), services.appeal_decide, case=case, outcome="overturned",
            reason="我自己的")
    assert _counts(tw) == before and _reload(tw, case).status == CaseStatus.APPEALED


def test_an_appeal_decision_needs_an_outcome_and_reasons(fw):
    tw = fw.a
    case = confirmed(tw)
    act(tw, tw.user(Role.AGENT), services.case_appeal, case=case, grounds="理由")
    before = _counts(tw)
    for outcome, reason, field in (("pending", "x", "outcome"), ("maybe", "x", "outcome"), ("upheld", "", "reason")):
        with pytest.raises(ValidationError) as exc:
            act(tw, tw.user(Role.TENANT_ADMIN), services.appeal_decide, case=case, outcome=outcome, reason=reason)
        assert field in _fields(exc.value)
    assert _counts(tw) == before


def test_no_appeal_after_a_payment(fw):
    tw = fw.a
    case = confirmed(tw)
    act(tw, tw.user(Role.BRANCH_MANAGER), services.case_payment_record, case=case, amount="100", method="cash")
    before = _counts(tw)
    with pytest.raises(ValidationError) as exc:
        act(tw, tw.user(Role.AGENT), services.case_appeal, case=case, grounds="付了一部分才申诉")
    assert "grounds" in _fields(exc.value)
    assert _counts(tw) == before


# --- payments --------------------------------------------------------------------------------------------

def test_partial_then_full_payment_settles(fw):
    tw = fw.a
    case = confirmed(tw, amount="1000.00")
    manager = tw.user(Role.BRANCH_MANAGER)
    act(tw, manager, services.case_payment_record, case=case, amount="300.00", method="payroll", reference="工资扣款")
    case = _reload(tw, case)
    assert case.status == CaseStatus.CONFIRMED and case.settled_at is None
    _owed(tw, case, "700.00")
    act(tw, manager, services.case_payment_record, case=case, amount="700", method="bank_transfer")
    case = _reload(tw, case)
    assert case.status == CaseStatus.SETTLED and case.settled_at is not None
    assert _entries(tw, case) == [(EntryKind.FINE_ISSUED, Decimal("1000.00")),
                                  (EntryKind.PAYMENT_RECEIVED, Decimal("-300.00")),
                                  (EntryKind.PAYMENT_RECEIVED, Decimal("-700.00"))]
    _owed(tw, case, "0")
    before = _counts(tw)
    with pytest.raises(ValidationError) as exc:
        act(tw, manager, services.case_payment_record, case=case, amount="1", method="cash")
    assert "amount" in _fields(exc.value)
    assert _counts(tw) == before


def test_overpayment_is_refused(fw):
    tw = fw.a
    case = confirmed(tw, amount="1000.00")
    manager = tw.user(Role.BRANCH_MANAGER)
    act(tw, manager, services.case_payment_record, case=case, amount="400", method="cash")
    before = _counts(tw)
    for too_much in ("600.01", "1000", "5000"):
        with pytest.raises(ValidationError) as exc:
            act(tw, manager, services.case_payment_record, case=case, amount=too_much, method="cash")
        assert "amount" in _fields(exc.value)
    assert _counts(tw) == before
    _owed(tw, case, "600.00")
    assert _reload(tw, case).status == CaseStatus.CONFIRMED


def test_bad_payments_change_nothing(fw):
    tw = fw.a
    case = confirmed(tw)
    manager = tw.user(Role.BRANCH_MANAGER)
    before = _counts(tw)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    for kwargs, field in (({"amount": "0", "method": "cash"}, "amount"),
                          ({"amount": "-5", "method": "cash"}, "amount"),
                          ({"amount": "1.234", "method": "cash"}, "amount"),
                          ({"amount": "abc", "method": "cash"}, "amount"),
                          ({"amount": "10", "method": "bitcoin"}, "method"),
                          ({"amount": "10", "method": "cash", "paid_on": tomorrow}, "paid_on"),
                          ({"amount": "10", "method": "cash", "paid_on": timezone.localdate() - dt.timedelta(days=3)},
                           "paid_on")):
        with pytest.raises(ValidationError) as exc:
            act(tw, manager, services.case_payment_record, case=case, **kwargs)
        assert field in _fields(exc.value), kwargs
    with pytest.raises(PermissionDenied):  # the one fined does not record their own payment
        act(tw, tw.user(Role.AGENT), services.case_payment_record, case=case, amount="10", method="cash")
    assert _counts(tw) == before
    _owed(tw, case, "1000.00")


def test_a_proposed_fine_takes_no_payment(fw):
    tw = fw.a
    case = proposed(tw)
    before = _counts(tw)
    with pytest.raises(ValidationError) as exc:
        act(tw, tw.user(Role.EXECUTIVE), services.case_payment_record, case=case, amount="10", method="cash")
    assert "amount" in _fields(exc.value)
    assert _counts(tw) == before


# --- voids ----------------------------------------------------------------------------------------------

def test_voiding_a_proposal_writes_no_entry(fw):
    tw = fw.a
    case = proposed(tw)
    executive = tw.user(Role.EXECUTIVE)
    act(tw, executive, services.case_void, case=case, reason="录入错误")
    case = _reload(tw, case)
    assert case.status == CaseStatus.VOIDED and case.voided_by_id == executive.pk and case.void_reason == "录入错误"
    assert _entries(tw, case) == []
    _owed(tw, case, "0")
    before = _counts(tw)
    with pytest.raises(ValidationError):
        act(tw, tw.user(Role.TENANT_ADMIN), services.case_confirm, case=case)
    assert _counts(tw) == before


def test_voiding_a_confirmed_fine_reverses_it(fw):
    tw = fw.a
    case = confirmed(tw, amount="1500.00")
    act(tw, tw.user(Role.TENANT_ADMIN), services.case_void, case=case, reason="重复开具")
    case = _reload(tw, case)
    assert case.status == CaseStatus.VOIDED
    assert _entries(tw, case) == [(EntryKind.FINE_ISSUED, Decimal("1500.00")),
                                  (EntryKind.FINE_REVERSED, Decimal("-1500.00"))]
    _owed(tw, case, "0")


def test_voiding_a_reduced_fine_reverses_what_is_left(fw):
    tw = fw.a
    case = confirmed(tw, amount="1000.00")
    act(tw, tw.user(Role.AGENT), services.case_appeal, case=case, grounds="过重")
    act(tw, tw.user(Role.TENANT_ADMIN), services.appeal_decide, case=case, outcome="reduced", reason="减",
        reduced_to="250")
    _owed(tw, case, "250.00")
    act(tw, tw.user(Role.TENANT_ADMIN), services.case_void, case=case, reason="撤销")
    assert _entries(tw, case)[-1] == (EntryKind.FINE_REVERSED, Decimal("-250.00"))
    _owed(tw, case, "0")


def test_no_void_after_a_payment(fw):
    tw = fw.a
    case = confirmed(tw)
    act(tw, tw.user(Role.BRANCH_MANAGER), services.case_payment_record, case=case, amount="1", method="cash")
    before = _counts(tw)
    with pytest.raises(ValidationError) as exc:
        act(tw, tw.user(Role.EXECUTIVE), services.case_void, case=case, reason="想撤销")
    assert "reason" in _fields(exc.value)
    assert _counts(tw) == before and _reload(tw, case).status == CaseStatus.CONFIRMED
    _owed(tw, case, "999.00")


def test_only_executives_and_admins_void(fw):
    tw = fw.a
    case = proposed(tw)
    before = _counts(tw)
    for role in (Role.BRANCH_MANAGER, Role.AGENT, Role.AUDITOR, Role.SALES_MANAGER):
        with pytest.raises(PermissionDenied):
            act(tw, tw.user(role), services.case_void, case=case, reason="x")
    with pytest.raises(ValidationError) as exc:
        act(tw, tw.user(Role.EXECUTIVE), services.case_void, case=case, reason="  ")
    assert "reason" in _fields(exc.value)
    assert _counts(tw) == before and _reload(tw, case).status == CaseStatus.PROPOSED


# --- the catalogue range and bad input ------------------------------------------------------------------

def test_an_amount_outside_the_range_needs_a_reason(fw):
    tw = fw.a  # FAKE_SCAN: 200–5,000 CNY
    before = _counts(tw)
    for amount in ("5000.01", "199.99", "100000"):
        with pytest.raises(ValidationError) as exc:
            proposed(tw, amount=amount)
        assert "out_of_range_reason" in _fields(exc.value)
    assert _counts(tw) == before
    case = proposed(tw, amount="5000.01", out_of_range_reason="情节特别严重，经总部批准")
    assert case.tier == Tier.SERIOUS and case.out_of_range_reason
    edge = proposed(tw, amount="5000")  # the range includes its ends
    assert edge.tier == Tier.GENERAL
    default = proposed(tw, amount=None)
    assert default.amount == vtype(tw).default_amount


def test_bad_input_changes_nothing(fw):
    tw = fw.a
    before = _counts(tw)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    for kwargs, field in (({"amount": "abc"}, "amount"),
                          ({"amount": "-100"}, "amount"),
                          ({"amount": "0"}, "amount"),
                          ({"amount": "300.001"}, "amount"),
                          ({"description": "   "}, "description"),
                          ({"occurred_on": tomorrow}, "occurred_on"),
                          ({"subject_kind": "customer"}, "subject_kind"),
                          ({"subject_membership": None}, "subject_membership")):
        with pytest.raises(ValidationError) as exc:
            args = {"violation_type": vtype(tw), "subject_kind": "employee",
                    "subject_membership": tw.members[Role.AGENT], "amount": "300", "description": "虚假扫描",
                    "occurred_on": timezone.localdate(), **kwargs}
            act(tw, tw.user(Role.BRANCH_MANAGER), services.case_propose, **args)
        assert field in _fields(exc.value), kwargs
    with pytest.raises(ValidationError) as exc:
        act(tw, tw.user(Role.BRANCH_MANAGER), services.case_propose, violation_type=vtype(tw),
            subject_kind="branch", amount="300", description="网点", occurred_on=timezone.localdate())
    assert "branch" in _fields(exc.value)
    assert _counts(tw) == before


def test_an_inactive_type_proposes_nothing(fw):
    tw = fw.a
    admin = tw.user(Role.TENANT_ADMIN)
    vt = vtype(tw)
    values = {k: getattr(vt, k) for k in services.catalogue.EDITABLE}
    act(tw, admin, services.violation_type_update, violation_type=vt, **{**values, "is_active": False})
    before = _counts(tw)
    with pytest.raises(ValidationError) as exc:
        proposed(tw)
    assert "violation_type" in _fields(exc.value)
    assert _counts(tw) == before


# --- evidence -------------------------------------------------------------------------------------------------

def test_evidence_photos_and_pdf_are_kept_text_is_refused(fw):
    tw = fw.a
    case = proposed(tw)
    manager = tw.user(Role.BRANCH_MANAGER)
    png = act(tw, manager, services.case_evidence_add, case=case, name="../../扫描记录.png", content=PNG,
              description="扫描枪记录截图")
    pdf = act(tw, manager, services.case_evidence_add, case=case, name="report.pdf", content=PDF)
    assert png.content_type == "image/png" and png.size == len(PNG) and png.name == "扫描记录.png"
    assert pdf.content_type == "application/pdf"
    before = _counts(tw)
    for name, content in (("note.txt", b"just some text"), ("fake.png", b"not really a png"),
                          ("script.pdf", b"#!/bin/sh\necho hi"), ("empty.png", b"")):
        with pytest.raises(ValidationError) as exc:
            act(tw, manager, services.case_evidence_add, case=case, name=name, content=content)
        assert "file" in _fields(exc.value), name
    with pytest.raises(PermissionDenied):
        act(tw, tw.user(Role.AGENT), services.case_evidence_add, case=case, name="a.png", content=PNG)
    assert _counts(tw) == before
    with tenant_scope(tw.tenant):
        kept = ViolationEvidence.objects.get(pk=png.pk)
        with kept.file.open("rb") as f:
            assert f.read() == PNG
        assert list(ViolationEvidence.objects.filter(case_id=case.pk).values_list("content_type", flat=True)) == [
            "image/png", "application/pdf"]


def test_no_evidence_on_a_closed_fine(fw):
    tw = fw.a
    case = proposed(tw)
    act(tw, tw.user(Role.EXECUTIVE), services.case_void, case=case, reason="作废")
    before = _counts(tw)
    with pytest.raises(ValidationError) as exc:
        act(tw, tw.user(Role.EXECUTIVE), services.case_evidence_add, case=case, name="a.png", content=PNG)
    assert "file" in _fields(exc.value)
    assert _counts(tw) == before


# --- the other company -----------------------------------------------------------------------------------------

def test_a_case_of_one_company_is_invisible_to_the_other(fw):
    a, b = fw.a, fw.b
    case = confirmed(a)
    b_case = confirmed(b)
    with tenant_scope(a.tenant, user=a.user(Role.TENANT_ADMIN)):
        mine = selectors.case_list(actor=a.user(Role.TENANT_ADMIN), membership=a.members[Role.TENANT_ADMIN])
        assert case.pk in set(mine.values_list("pk", flat=True))
        assert b_case.pk not in set(mine.values_list("pk", flat=True))
    with tenant_scope(b.tenant, user=b.user(Role.TENANT_ADMIN)):
        theirs = selectors.case_list(actor=b.user(Role.TENANT_ADMIN), membership=b.members[Role.TENANT_ADMIN])
        assert case.pk not in set(theirs.values_list("pk", flat=True))
        assert not ViolationCase.objects.filter(pk=case.pk).exists()
        assert not LedgerEntry.objects.filter(case_id=case.pk).exists()
        assert set(ViolationCase.objects.values_list("pk", flat=True)) == {b_case.pk}
    # The external auditor belongs to both and sees each company's case in that company only.
    auditor = fw.external_auditor
    for tw, own, other in ((a, case, b_case), (b, b_case, case)):
        with tenant_scope(tw.tenant, user=auditor):
            membership = Membership.objects.get(user=auditor)
            seen = set(selectors.case_list(actor=auditor, membership=membership).values_list("pk", flat=True))
            assert own.pk in seen and other.pk not in seen


def test_the_other_company_cannot_act_on_a_case(fw):
    a, b = fw.a, fw.b
    case = proposed(a)
    before_a, before_b = _counts(a), _counts(b)
    with pytest.raises(ViolationCase.DoesNotExist):
        act(b, b.user(Role.EXECUTIVE), services.case_confirm, case=case)
    with pytest.raises(ViolationCase.DoesNotExist):
        act(b, b.user(Role.EXECUTIVE), services.case_void, case=case, reason="别家的")
    assert _counts(a) == before_a and _counts(b) == before_b
    assert _reload(a, case).status == CaseStatus.PROPOSED


def test_a_case_cannot_name_another_companys_employee(fw):
    a, b = fw.a, fw.b
    before_a = _counts(a)
    with pytest.raises(CrossTenantReference):
        act(a, a.user(Role.EXECUTIVE), services.case_propose, violation_type=vtype(a), subject_kind="employee",
            subject_membership=b.members[Role.AGENT], amount="300", description="x", occurred_on=dt.date.today())
    with pytest.raises(CrossTenantReference):  # nor fine under another company's catalogue entry
        act(a, a.user(Role.EXECUTIVE), services.case_propose, violation_type=vtype(b), subject_kind="employee",
            subject_membership=a.members[Role.AGENT], amount="300", description="x", occurred_on=dt.date.today())
    with pytest.raises(CrossTenantReference):  # nor another company's branch
        act(a, a.user(Role.EXECUTIVE), services.case_propose, violation_type=vtype(a), subject_kind="branch",
            branch=b.branch, amount="300", description="x", occurred_on=dt.date.today())
    assert _counts(a) == before_a


def test_case_numbers_are_per_company(fw):
    first_a = proposed(fw.a)
    first_b = proposed(fw.b)
    second_a = proposed(fw.a)
    year = timezone.now().year
    assert first_a.number == f"V{year}-000001" and second_a.number == f"V{year}-000002"
    assert first_b.number == f"V{year}-000001"


def test_the_ledger_sums_per_case_through_a_whole_lifecycle(fw):
    tw = fw.a
    manager, admin = tw.user(Role.BRANCH_MANAGER), tw.user(Role.TENANT_ADMIN)
    case = proposed(tw, amount="2000")
    _owed(tw, case, "0")
    act(tw, tw.user(Role.EXECUTIVE), services.case_confirm, case=case)
    _owed(tw, case, "2000.00")
    act(tw, tw.user(Role.AGENT), services.case_appeal, case=case, grounds="过重", requested_amount="1000")
    _owed(tw, case, "2000.00")
    act(tw, admin, services.appeal_decide, case=case, outcome="reduced", reason="减半", reduced_to="1000")
    _owed(tw, case, "1000.00")
    act(tw, manager, services.case_payment_record, case=case, amount="250.50", method="payroll")
    _owed(tw, case, "749.50")
    act(tw, manager, services.case_payment_record, case=case, amount="749.50", method="cash")
    _owed(tw, case, "0")
    assert _reload(tw, case).status == CaseStatus.SETTLED
    with tenant_scope(tw.tenant):
        report = chain_walk()
        assert report.ok and report.head_sequence == 4
        listed = selectors.with_outstanding(ViolationCase.objects.filter(pk=case.pk)).get()
        assert listed.outstanding == Decimal("0")
