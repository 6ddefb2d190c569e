"""Demo fines of a company (called by `manage.py seed_demo` after the service desk and waybills
exist): the default catalogue, then fines at every step — one waiting for confirmation, one paid
and settled, one appealed and waiting for a decision, one reduced on appeal, one overturned, one
voided, a regulator's fine against headquarters — all made through the services by the demo
people, so four-eyes holds as in real use. Then the detectors run, the chain's head is signed and
the chain verified, so the auditor's badge shows a verified chain."""
from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tenancy.models import Branch, BranchKind, Membership, Role
from tenancy.scoping import current_tenant_id, tenant_scope
from tickets.claims_demo import DEMO_PDF, demo_png

from . import services
from .models import ViolationType


def _as(user, service, **kwargs):
    with tenant_scope(current_tenant_id(), user=user):
        return service(actor=user, **kwargs)


def seed_fines_demo() -> dict:
    """Inside the company's tenant scope; needs the demo people (agent, branch manager, executive,
    tenant admin)."""
    services.catalogue_defaults_ensure()
    people = {}
    for m in Membership.objects.filter(is_active=True).select_related("user", "branch").order_by("pk"):
        people.setdefault(m.role, m)
    needed = (Role.AGENT, Role.BRANCH_MANAGER, Role.EXECUTIVE, Role.TENANT_ADMIN)
    if any(role not in people for role in needed):
        return {"fines": 0}
    manager = people[Role.BRANCH_MANAGER]
    # The fined agent works in the manager's branch subtree (a manager fines their own staff).
    agent = next((m for m in Membership.objects.filter(role=Role.AGENT, is_active=True).select_related("user", "branch")
                  if m.branch_id and manager.branch_id and m.branch.path.startswith(manager.branch.path)),
                 people[Role.AGENT])
    boss, admin = people[Role.EXECUTIVE].user, people[Role.TENANT_ADMIN].user
    in_reach = bool(agent.branch_id and manager.branch_id and agent.branch.path.startswith(manager.branch.path))
    # Four-eyes: who proposes never confirms, and who confirms never decides the appeal.
    proposer, confirmer, decider = (manager.user, boss, admin) if in_reach else (boss, admin, boss)
    collector = manager.user if in_reach else admin
    types = {vt.code: vt for vt in ViolationType.objects.all()}
    today = timezone.localdate()
    hq = Branch.objects.get(kind=BranchKind.HQ)

    now = timezone.now()

    def ago(days, hours=0):
        return now - dt.timedelta(days=days, hours=hours)

    def propose(code, amount, text, days_ago, **subject):
        subject = subject or {"subject_kind": "employee", "subject_membership": agent}
        return _as(proposer, services.case_propose, violation_type=types[code], amount=amount, description=text,
                   occurred_on=today - dt.timedelta(days=days_ago), now=ago(days_ago - 1), **subject)

    waiting = propose("FALSE_ADDRESS", "300.00", "录入收件地址与面单不符，导致二次派送。", 2)
    _as(proposer, services.case_evidence_add, case=waiting, name="面单照片.png", content=demo_png((90, 120, 160)),
        description="面单与系统地址对比")

    settled = propose("ROUGH_HANDLING", "500.00", "分拣监控显示抛扔快件，包裹外箱破损。", 20)
    settled = _as(confirmer, services.case_confirm, case=settled, note="监控录像已核实。", now=ago(18))
    _as(collector, services.case_payment_record, case=settled, amount="200.00", method="payroll",
        paid_on=today - dt.timedelta(days=10), reference="12月工资扣款（1/2）")
    _as(collector, services.case_payment_record, case=settled, amount="300.00", method="payroll",
        paid_on=today - dt.timedelta(days=3), reference="12月工资扣款（2/2）")

    appealed = propose("FAKE_SCAN", "1000.00", "系统显示已派送扫描，但客户称未收到，现场核实包裹仍在网点。", 6)
    appealed = _as(confirmer, services.case_confirm, case=appealed, now=ago(4))
    _as(agent.user, services.case_appeal, case=appealed, requested_amount="0.00",
        grounds="当日扫描枪故障，扫描记录由系统自动补传，并非本人虚假扫描。")

    reduced = propose("TRACKING_LATE", "1200.00", "连续三天未上传到件扫描，影响客户查件。", 15,
                      subject_kind="branch", branch=manager.branch or hq)
    reduced = _as(confirmer, services.case_confirm, case=reduced, now=ago(13))
    _as(manager.user, services.case_appeal, case=reduced, grounds="网点当周系统升级，已提交运维工单证明。")
    _as(decider, services.appeal_decide, case=reduced, outcome="reduced", reduced_to="600.00",
        reason="系统升级属实，但未及时报备，减半处理。")

    overturned = propose("LOCKER_NO_CONSENT", "200.00", "快递柜投递未取得收件人同意。", 9)
    overturned = _as(confirmer, services.case_confirm, case=overturned, now=ago(7))
    _as(agent.user, services.case_appeal, case=overturned, grounds="已电话征得收件人同意，附通话记录。")
    _as(decider, services.appeal_decide, case=overturned, outcome="overturned", reason="通话记录证实已取得同意。")

    voided = propose("DATA_LOSS_MISHANDLING", "1000.00", "误删客户备注信息。", 4)
    _as(boss, services.case_void, case=voided, reason="经查为系统同步问题，非人为操作。")

    regulator = _as(boss, services.case_propose, violation_type=types["REG_TRACKING"], amount="10000.00",
                    description="省邮政管理局检查发现部分快件未按规定上传处理信息。", subject_kind="branch", branch=hq,
                    occurred_on=today - dt.timedelta(days=30))
    _as(boss, services.case_evidence_add, case=regulator, name="行政处罚决定书.pdf", content=DEMO_PDF)
    _as(admin, services.case_confirm, case=regulator, note="处罚决定书已归档。")

    services.detectors_run()
    services.ledger_checkpoint_create()
    services.ledger_verification_run(source="demo")
    return {"fines": 7}
