"""Demo compliance data of a company (called by `manage.py seed_demo` after customers, waybills,
tickets and fines exist), made through the services by the demo people: consent answers (some
withdrawn), data-subject requests at every step — a fresh access request, one verified with its
export built, a correction under way, a deletion carried out and closed, an objection applied, an
overdue one — a data-leak incident with its affected records and remedial actions, and one
retention run, so every compliance page has something to show."""
from __future__ import annotations

import datetime as dt

from django.utils import timezone

from customers.models import Customer, CustomerKind, CustomerPhone
from tenancy.models import Membership, Role
from tenancy.scoping import current_tenant_id, tenant_scope

from .models import DsrKind, DsrRegime, DsrStatus
from .services import consent as consent_services
from .services import incidents, requests, retention


def _as(user, service, **kwargs):
    with tenant_scope(current_tenant_id(), user=user):
        return service(actor=user, **kwargs)


def _first(role: str) -> Membership | None:
    return Membership.objects.filter(role=role, is_active=True).select_related("user", "branch").order_by("pk").first()


def seed_compliance_demo() -> dict:
    """Inside the company's tenant scope."""
    agent, admin = _first(Role.AGENT), _first(Role.TENANT_ADMIN)
    if agent is None or admin is None:
        return {"requests": 0}
    people = list(Customer.objects.filter(kind=CustomerKind.PERSON).order_by("pk")[:8])
    if len(people) < 6:
        return {"requests": 0}
    phones = {p.customer_id: p.phone for p in CustomerPhone.objects.filter(customer__in=people).order_by("pk")}
    now = timezone.now()

    # Consent: surveys yes for most, marketing for a few, one withdrawal of each.
    for index, person in enumerate(people):
        _as(agent.user, consent_services.consent_record, purpose="surveys", granted=index != 3,
            source="waybill" if index % 2 else "phone_call", customer=person,
            recorded_at=now - dt.timedelta(days=40 - index))
        if index < 3:
            _as(agent.user, consent_services.consent_record, purpose="marketing", granted=True, source="web_form",
                customer=person, recorded_at=now - dt.timedelta(days=30))
    _as(agent.user, consent_services.consent_record, purpose="marketing", granted=False, source="sms_reply",
        customer=people[2], note="回复 TD 退订", recorded_at=now - dt.timedelta(days=2))

    def register(kind, person, *, days_ago=0, regime=DsrRegime.PIPL, details=""):
        return _as(agent.user, requests.dsr_register, kind=kind, regime=regime, channel="客服热线",
                   subject_name=person.name, subject_phone=phones.get(person.pk, ""), customer=person,
                   details=details, received_at=now - dt.timedelta(days=days_ago))

    def verify(dsr):
        return _as(admin.user, requests.dsr_verify_identity, dsr=dsr, method="sms_code", note="验证码已核对")

    register(DsrKind.ACCESS, people[0], days_ago=1, details="想了解贵司保存了我的哪些信息")
    exported = verify(register(DsrKind.ACCESS, people[1], days_ago=6))
    _as(admin.user, requests.dsr_assign, dsr=exported, owner=admin)
    export = _as(admin.user, requests.dsr_export_request, dsr=exported)
    requests.dsr_export_build(export=export)
    corrected = verify(register(DsrKind.CORRECTION, people[2], days_ago=3, details="手机号以外，邮箱写错了"))
    _as(admin.user, requests.dsr_apply_correction, dsr=corrected, changes={"email": "corrected@example.com"})
    erased = verify(register(DsrKind.DELETION, people[4], days_ago=9, regime=DsrRegime.GDPR,
                             details="I no longer use your services; please delete my data."))
    _as(admin.user, requests.dsr_erase, dsr=erased, confirm_number=erased.number)
    _as(admin.user, requests.dsr_close, dsr=erased, status=DsrStatus.COMPLETED,
        resolution="个人信息已匿名化，运费与理赔金额保留用于财务统计。")
    objection = verify(register(DsrKind.OBJECTION, people[5], days_ago=2))
    _as(admin.user, requests.dsr_apply_objection, dsr=objection)
    _as(admin.user, requests.dsr_close, dsr=objection, status=DsrStatus.COMPLETED, resolution="已停止营销信息。")
    register(DsrKind.ACCESS, people[3], days_ago=30, details="上月来电要求导出，尚未处理")  # overdue

    # Agents look up a few full phone numbers (each reveal logged), so the overview has volumes.
    from tenancy.services import pii_reveal

    for person in people[:3]:
        phone = CustomerPhone.objects.filter(customer=person).order_by("pk").first()
        if phone is not None:
            with tenant_scope(current_tenant_id(), user=agent.user):
                pii_reveal(actor=agent.user, membership=agent, obj=phone, field_name="phone",
                           reason="客户来电，核对预留手机号")

    # A data-leak incident: a branch's waybill photos shared in a chat group.
    from shipments.models import Waybill

    manager = _first(Role.BRANCH_MANAGER)
    newest = Waybill.objects.exclude(origin_branch=None).select_related("origin_branch").order_by("-pk").first()
    branch = newest.origin_branch if newest else (manager.branch if manager else None)
    incident = _as(admin.user, incidents.incident_open, title="网点面单照片外传", severity="high",
                   description="网点员工将含收件人信息的面单照片发到外部微信群，已要求删除。",
                   occurred_at=now - dt.timedelta(days=2), detected_at=now - dt.timedelta(days=1), branch=branch,
                   owner=admin)
    _as(admin.user, incidents.incident_find_affected, incident=incident,
        query={"kind": "waybills", "branch": branch.pk if branch else None,
               "from": (now - dt.timedelta(days=30)).date().isoformat(), "to": now.date().isoformat()})
    _as(admin.user, incidents.incident_notify_authority, incident=incident, authority_name="上海市邮政管理局",
        reference="沪邮管备〔2026〕12号", notified_at=now - dt.timedelta(hours=20))
    action = _as(admin.user, incidents.incident_action_add, incident=incident, description="群内照片已全部撤回",
                 owner=manager or admin)
    _as(admin.user, incidents.incident_action_complete, incident=incident, action=action)
    _as(admin.user, incidents.incident_action_add, incident=incident, description="全网点开展个人信息保护培训",
        owner=manager or admin, due_on=(now + dt.timedelta(days=14)).date())
    _as(admin.user, incidents.incident_contain, incident=incident)

    retention.retention_run(trigger="manual", actor=admin.user)
    return {"requests": 6}
