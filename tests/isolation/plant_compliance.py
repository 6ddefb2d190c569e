"""Compliance objects of both tenants for the leak walk (after plant_customer_objects): a
data-subject access request about the person customer, verified, with its export built; a
deletion request; consent answers; a data-leak incident with a remedial action and affected
records; a finished key rotation and a retention run. B's texts carry the canary."""
from __future__ import annotations

from types import SimpleNamespace

from django.utils import timezone

from compliance.models import JobStatus, KeyRotation, RetentionRun, RotationKind
from compliance.services.consent import consent_record
from compliance.services.requests import dsr_export_build, dsr_export_request, dsr_register, dsr_verify_identity
from tenancy.scoping import tenant_scope

from .walk import CANARY


def plant_compliance_objects(world) -> None:
    from compliance.services import incidents

    for tw, label, phone in ((world.a, "", "13700000001"), (world.b, CANARY, "13900000001")):
        agent, admin = tw.user("agent"), tw.user("tenant_admin")
        with tenant_scope(tw.tenant, user=agent):
            dsr = dsr_register(actor=agent, kind="access", subject_name=f"{label}王五", subject_phone=phone,
                               details=f"{label}请导出我的数据", customer=tw.cust.person, channel=f"{label}热线")
            deletion = dsr_register(actor=agent, kind="deletion", subject_phone=phone,
                                    details=f"{label}请删除我的数据")
            consent = consent_record(actor=agent, purpose="surveys", granted=True, source="phone_call",
                                     customer=tw.cust.person, note=f"{label}电话同意")
        with tenant_scope(tw.tenant, user=admin):
            dsr = dsr_verify_identity(actor=admin, dsr=dsr, method="id_document", note=f"{label}柜台核验")
            export = dsr_export_build(export=dsr_export_request(actor=admin, dsr=dsr))
            now = timezone.now()
            incident = incidents.incident_open(
                actor=admin, title=f"{label}面单泄露", description=f"{label}面单照片被外传", severity="high",
                branch=tw.branch, owner=tw.members["tenant_admin"])
            incident = incidents.incident_find_affected(
                actor=admin, incident=incident, query={"kind": "customers", "numbers": [tw.cust.person.number]})
            action = incidents.incident_action_add(actor=admin, incident=incident, description=f"{label}收回面单",
                                                   owner=tw.members["tenant_admin"])
            incidents.incident_add_note(actor=admin, incident=incident, body=f"{label}已登记")
            rotation = KeyRotation.objects.create(kind=RotationKind.MASTER_KEY, status=JobStatus.DONE,
                                                  from_version=1, to_version=1, requested_by=admin,
                                                  reason=f"{label}年度轮换", started_at=now, finished_at=now)
            retention = RetentionRun.objects.create(status=JobStatus.DONE, trigger="manual", requested_by=admin,
                                                    results={"access_log": {"rows": 0, "note": f"{label}"}},
                                                    finished_at=now)
        tw.compliance = SimpleNamespace(dsr=dsr, deletion=deletion, export=export, consent=consent, incident=incident,
                                        action=action, rotation=rotation, retention=retention)
