"""Personal data in every app for the key-rotation tests, made through the services, and readers
of every sealed value and blind index of a tenant."""
from __future__ import annotations

from types import SimpleNamespace

from compliance.models import ConsentRecord
from customers import services as customers
from customers.models import CustomerKind
from shipments.models import Waybill
from tenancy import crypto
from tenancy.fields import BlindIndexField, encrypted_fields
from tenancy.rls import tenant_models
from tenancy.scoping import tenant_scope
from tests.factories.shipments import ingest, recent, waybill_events
from tickets.models import Ticket
from tickets.services import claims, intake


def plant_personal_data(tw, *, phone_prefix: str, customers_count: int = 3) -> SimpleNamespace:
    """Customers with phones, e-mails and addresses, a contact, a lead, waybills with sender and
    receiver phones, a ticket with a caller phone and e-mail, a paid claim with a payee account, and
    a consent record (insert-only, sealed phone with a blind index)."""
    admin, agent, executive = (tw.user(role) for role in ("tenant_admin", "agent", "executive"))
    phones = [f"{phone_prefix}{i:04d}" for i in range(customers_count)]
    with tenant_scope(tw.tenant, user=admin):
        people = []
        for i, phone in enumerate(phones):
            person = customers.customer_create(actor=admin, kind=CustomerKind.PERSON, name=f"客户{i}", phones=[phone],
                                               province="上海", city="浦东新区", email=f"p{phone}@example.com")
            customers.address_add(actor=admin, customer=person, province="上海", city="浦东新区",
                                  street=f"人民路{i}号", label="家")
            people.append(person)
        account = customers.customer_create(actor=admin, kind=CustomerKind.ACCOUNT, name="云桥电子商务有限公司",
                                            phones=[f"{phone_prefix}9000"], province="上海", city="浦东新区")
        customers.contact_create(actor=admin, customer=account, name="李娜", title="主管", phone=f"{phone_prefix}9001")
        customers.lead_create(actor=admin, company_name="鲜果供应链有限公司", contact_name="王芳",
                              phone=f"{phone_prefix}9002", province="上海", city="徐汇区", industry="food")
    number = f"KW{phone_prefix}"
    ingest(tw, waybill_events(number, start=recent(), site=tw.branch.code, sender_customer=account.number,
                              sender_phone=f"{phone_prefix}9003", receiver_phone=phones[0]))
    with tenant_scope(tw.tenant, user=admin):
        waybill = Waybill.objects.get(number=number)
        exception_ticket = Ticket.objects.get(waybill=waybill)
        ticket = intake.ticket_create(actor=admin, draft=intake.TicketDraft(
            channel="phone", category="complaint", subject="包裹破损", description="外箱压坏",
            caller_phone=f"{phone_prefix}9004", caller_email=f"c{phone_prefix}@example.com"))
        consent = ConsentRecord(phone=phones[1], purpose="surveys", granted=True, source="phone_call")
        consent.save()
    with tenant_scope(tw.tenant, user=agent):
        delay = claims.claim_file(actor=agent, ticket=exception_ticket, claim_type="delay", claimant_role="receiver",
                                  claimed_amount="12.50", description="晚到")
        claims.claim_submit(actor=agent, claim=delay)
        delay = claims.claim_assess(actor=agent, claim=delay, cause="hub_delay")
    with tenant_scope(tw.tenant, user=executive):
        delay = claims.claim_approve(actor=executive, claim=delay, reason="")
    with tenant_scope(tw.tenant, user=admin):
        payout = claims.claim_pay(actor=admin, claim=delay, amount=str(delay.approved_amount), method="alipay",
                                  payee_name="李四", payee_account="6222020200112233445", reference="AP-1")
    return SimpleNamespace(phones=phones, people=people, account=account, waybill=waybill, ticket=ticket,
                           consent=consent, payout=payout)


def sealed_values(tenant) -> dict[tuple[str, str, int], bytes]:
    """(table, column, row id) → ciphertext of every non-null sealed value of the tenant."""
    found = {}
    with tenant_scope(tenant):
        for model in tenant_models():
            fields = encrypted_fields(model)
            if not fields:
                continue
            for row in model._base_manager.order_by("pk").values_list("pk", *(f.attname for f in fields)):
                for field, blob in zip(fields, row[1:], strict=True):
                    if blob is not None:
                        found[(model._meta.db_table, field.column, row[0])] = bytes(blob)
    return found


def decrypted_values(tenant) -> dict[tuple[str, str, int], str]:
    """The plaintext of every sealed value (raises DecryptionError on the first that fails)."""
    plain = {}
    for (table, column, row_id), blob in sealed_values(tenant).items():
        with tenant_scope(tenant):
            plain[(table, column, row_id)] = crypto.unseal(blob, tenant_id=tenant.pk, table=table, column=column,
                                                           row_id=row_id)
    return plain


def stored_indexes(tenant) -> dict[tuple[str, str, int], tuple[str, str]]:
    """(table, index column, row id) → (stored blind index, the index recomputed under the active key)."""
    found = {}
    with tenant_scope(tenant):
        for model in tenant_models():
            for field in model._meta.concrete_fields:
                if not isinstance(field, BlindIndexField):
                    continue
                source = model._meta.get_field(field.source)
                for pk, blob, stored in (model._base_manager.exclude(**{f"{source.attname}__isnull": True})
                                         .values_list("pk", source.attname, field.attname)):
                    value = crypto.unseal(blob, tenant_id=tenant.pk, table=model._meta.db_table,
                                          column=source.column, row_id=pk)
                    found[(model._meta.db_table, field.column, pk)] = (
                        stored, crypto.blind_index(value, tenant_id=tenant.pk, kind=source.kind))
    return found
