"""A person who touches every app, with values found nowhere else (canaries), and a search of every
tenant table for them — the ground truth the access export and the deletion are checked against."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal

from django.core.files.base import ContentFile
from django.utils import timezone

from compliance.models import AccessLog, ConsentPurpose, ConsentRecord, ConsentSource
from compliance.services import access_log_record
from customers.models import (
    Activity,
    ActivityKind,
    Address,
    Customer,
    CustomerKind,
    CustomerPhone,
    CustomerStatus,
    Lead,
    MergeRecord,
)
from shipments.models import DeliveryConsent, Waybill
from tenancy.fields import EncryptedTextField, encrypted_fields
from tenancy.rls import tenant_models
from tenancy.scoping import tenant_scope
from tickets.models import (
    Claim,
    ClaimEvent,
    ClaimPayout,
    OutboundMessage,
    Ticket,
    TicketAttachment,
    TicketEvent,
)


@dataclass(frozen=True)
class Canary:
    name: str = "金丝雀甲乙"
    phone: str = "+8613912344321"
    phone_local: str = "13912344321"
    second_phone: str = "+8613712349876"
    email: str = "canary.person.7731@example.net"
    id_number: str = "11010519491231002X"
    street: str = "金丝雀路88号3单元502室"
    account: str = "6222020200112233445"

    def strings(self) -> list[str]:
        return [self.name, self.phone, self.phone_local, self.second_phone, self.email, self.id_number, self.street,
                self.account]


CANARY = Canary()


def build_person(tw) -> dict:
    """Create the canary person's data in every app of tenant `tw` (inside its scope)."""
    agent = tw.user("agent")
    now = timezone.now()
    with tenant_scope(tw.tenant, user=agent):
        customer = Customer(number="C-CANARY-1", kind=CustomerKind.PERSON, name=CANARY.name, email=CANARY.email,
                            id_number=CANARY.id_number, notes=f"prefers calls on {CANARY.phone_local}",
                            status=CustomerStatus.ACTIVE)
        customer.save()
        CustomerPhone(customer=customer, phone=CANARY.phone, label="mobile").save()
        CustomerPhone(customer=customer, phone=CANARY.second_phone, label="home").save()
        Address(customer=customer, label="home", province="上海市", city="上海市", district="浦东新区",
                street=CANARY.street).save()
        old_record = Customer(number="C-CANARY-0", kind=CustomerKind.PERSON, name=CANARY.name,
                              status=CustomerStatus.MERGED, merged_into=customer)
        old_record.save()
        MergeRecord.objects.create(survivor=customer, merged=old_record, merged_number=old_record.number,
                                   merged_name=CANARY.name, moved={}, actor=agent, reason="duplicate")
        lead = Lead(company_name="金丝雀小店", contact_name=CANARY.name, phone=CANARY.phone, email=CANARY.email,
                    message=f"call {CANARY.phone_local}", customer=customer, created_by=agent)
        lead.save()
        Activity.objects.create(kind=ActivityKind.CALL, customer=customer, owner=tw.members["agent"],
                                summary=f"spoke with {CANARY.name}")
        sent = Waybill(number="CANARY-WB-1", sender=customer, sender_name=CANARY.name, sender_phone=CANARY.phone,
                       receiver_name="收件人某", receiver_phone="+8613500001111", receiver_address="某路1号",
                       shipped_at=now - dt.timedelta(days=5), service_fee=Decimal("12.00"))
        sent.save()
        received = Waybill(number="CANARY-WB-2", receiver_name=CANARY.name, receiver_phone=CANARY.second_phone,
                           receiver_address=CANARY.street, shipped_at=now - dt.timedelta(days=4),
                           delivered_at=now - dt.timedelta(days=2), service_fee=Decimal("8.00"))
        received.save()
        DeliveryConsent.objects.create(waybill=received, method="locker", source="phone",
                                       note=f"{CANARY.name} agreed by phone")
        ticket = Ticket(number="T-CANARY-1", customer=customer, caller_name=CANARY.name, caller_phone=CANARY.phone,
                        caller_email=CANARY.email, waybill=received, subject=f"{CANARY.name} parcel late",
                        description=f"deliver to {CANARY.street}", category="delay", channel="phone",
                        created_by=agent)
        ticket.save()
        message = TicketEvent.objects.create(ticket=ticket, kind="customer_message", actor=None,
                                             body=f"my number is {CANARY.phone_local}")
        reply = TicketEvent.objects.create(ticket=ticket, kind="reply", actor=agent, body=f"Dear {CANARY.name}")
        OutboundMessage(ticket=ticket, event=reply, channel="sms", stage="sent", recipient=CANARY.phone).save()
        TicketAttachment.objects.create(ticket=ticket, event=message, name=f"{CANARY.name}.png",
                                        content_type="image/png", sha256="c" * 64, size=12, uploaded_by=agent,
                                        file=ContentFile(b"\x89PNG canary", name="canary.png"))
        claim = Claim(number="CL-CANARY-1", ticket=ticket, waybill=received, claim_type="delay",
                      claimant_role="receiver", claimant=customer, claimant_name=CANARY.name,
                      claimed_amount=Decimal("50.00"), description=f"{CANARY.name} lost a day", status="approved",
                      approved_amount=Decimal("30.00"), filed_by=agent)
        claim.save()
        ClaimEvent.objects.create(claim=claim, kind="note", actor=agent, body=f"payee {CANARY.name}")
        ClaimPayout(claim=claim, amount=Decimal("30.00"), approved_amount=Decimal("30.00"), method="bank_transfer",
                    payee_name=CANARY.name, payee_account=CANARY.account, reference="PAY-1", paid_at=now,
                    paid_by=agent).save()
        ConsentRecord(customer=customer, purpose=ConsentPurpose.SURVEYS, granted=True,
                      source=ConsentSource.PHONE_CALL).save()
        ConsentRecord(phone=CANARY.second_phone, purpose=ConsentPurpose.MARKETING, granted=True,
                      source=ConsentSource.WAYBILL, note=f"{CANARY.name} ticked the box").save()
        access_log_record(actor=agent, membership=tw.members["agent"], action="reveal",
                          target_type="customers.customer", target_id=customer.pk, target_label=str(customer),
                          fields=["email"], reason="verify caller")
        access_log_record(actor=agent, membership=tw.members["agent"], action="reveal",
                          target_type="shipments.waybill", target_id=received.pk, target_label=CANARY.name,
                          fields=["receiver_phone"], reason="courier could not reach")
    return {"customer": customer, "waybills": [sent, received], "ticket": ticket, "claim": claim, "lead": lead}


def _row_text(obj) -> str:
    parts = []
    for field in obj._meta.concrete_fields:
        if isinstance(field, EncryptedTextField):
            parts.append(str(getattr(obj, field.name) or ""))
        else:
            value = getattr(obj, field.attname)
            if isinstance(value, bytes | memoryview):
                continue
            parts.append(json.dumps(value, ensure_ascii=False, default=str))
    return "\n".join(parts)


def rows_holding(tenant, needles: list[str]) -> set[tuple[str, int]]:
    """Every (record type, id) of any table of the tenant whose values (decrypted) hold a needle."""
    found = set()
    with tenant_scope(tenant):
        for model in tenant_models():
            for obj in model.objects.all().iterator():
                text = _row_text(obj)
                if any(needle in text for needle in needles):
                    found.add((model._meta.label_lower, obj.pk))
    return found


def export_records(document: dict) -> set[tuple[str, int]]:
    return {(row["record_type"], row["id"]) for rows in document["sections"].values() for row in rows}


__all__ = ["CANARY", "AccessLog", "build_person", "encrypted_fields", "export_records", "rows_holding"]
