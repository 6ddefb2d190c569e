"""What the data-subject request tests share: a person who is a customer of company A, requests
registered through the service, and a worker's run of the export job."""
from __future__ import annotations

from dataclasses import dataclass

from compliance.models import DataSubjectRequest, DsrExport, JobStatus
from compliance.services import requests as dsr_services
from customers import services as customer_services
from customers.models import CustomerKind
from tenancy.models import Role
from tenancy.scoping import tenant_scope

PHONE = "13912345678"
PHONE_E164 = "+8613912345678"
PHONE_MASKED = "139****5678"
NAME = "欧阳娜娜"
ID_NUMBER = "110101199003074514"
EMAIL = "nana.ouyang@example.com"
PLAIN_VALUES = (PHONE, PHONE_E164, NAME, ID_NUMBER, EMAIL)


@dataclass
class Person:
    customer: object


def make_person(tw, *, phone: str = PHONE, name: str = NAME) -> Person:
    admin = tw.user(Role.TENANT_ADMIN)
    with tenant_scope(tw.tenant, user=admin):
        customer = customer_services.customer_create(actor=admin, kind=CustomerKind.PERSON, name=name, phones=[phone],
                                                     province="上海", city="浦东新区", email=EMAIL)
    return Person(customer=customer)


def register(tw, kind: str, *, by: str = Role.AGENT, customer=None, phone: str = PHONE, **extra) -> DataSubjectRequest:
    actor = tw.user(by)
    with tenant_scope(tw.tenant, user=actor):
        return dsr_services.dsr_register(actor=actor, kind=kind, subject_name=NAME, subject_phone=phone,
                                         customer=customer, details=extra.pop("details", "请处理我的个人信息"), **extra)


def verify(tw, dsr) -> DataSubjectRequest:
    admin = tw.user(Role.TENANT_ADMIN)
    with tenant_scope(tw.tenant, user=admin):
        return dsr_services.dsr_verify_identity(actor=admin, dsr=dsr, method="id_document", note="身份证原件")


def run_export_job(tw, export_id: int) -> DsrExport:
    """What the worker does with the queued export (tasks call the same service)."""
    with tenant_scope(tw.tenant):
        export = DsrExport.objects.get(pk=export_id)
        built = dsr_services.dsr_export_build(export=export)
    assert built.status == JobStatus.DONE
    return built


def reload(tw, model, pk: int):
    with tenant_scope(tw.tenant):
        return model.objects.get(pk=pk)
