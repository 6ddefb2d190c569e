"""Demo claims of a company (called by `manage.py seed_demo` after the demo waybills exist): one
paid damage claim, one loss claim waiting for review, a delay claim in draft and a damage claim
assessed and waiting for a decision — made through the services by the demo people, so the
four-eyes rule and the approval levels hold as in real use."""
from __future__ import annotations

import struct
import zlib

from tenancy.models import Membership, Role
from tenancy.scoping import current_tenant_id, tenant_scope

from .models import Ticket
from .services import claims


def demo_png(rgb: tuple[int, int, int], size: int = 48) -> bytes:
    """A small solid-colour PNG (a stand-in for a customer's photo)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * size
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b""))


DEMO_PDF = b"%PDF-1.4\n% demo invoice\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
DAMAGE_EVIDENCE = [("photo", "photo", "物品破损照片.png"), ("packaging_photo", "packaging", "外包装照片.png"),
                   ("proof_of_value", "pdf", "购物发票.pdf"), ("damage_report", "pdf", "破损签收证明.pdf")]


def _as(user, service, **kwargs):
    with tenant_scope(current_tenant_id(), user=user):
        return service(actor=user, **kwargs)


def _evidence(user, claim, items):
    files = {"photo": demo_png((196, 120, 60)), "packaging": demo_png((160, 140, 110)), "pdf": DEMO_PDF}
    for kind, content, name in items:
        _as(user, claims.claim_evidence_add, claim=claim, kind=kind, name=name, content=files[content])


def seed_claims_demo() -> dict:
    """Inside the company's tenant scope; needs the demo people and exception tickets."""
    people = {m.role: m.user for m in Membership.objects.filter(is_active=True).select_related("user").order_by("pk")
              if m.role in (Role.AGENT, Role.EXECUTIVE)}
    agent, executive = people.get(Role.AGENT), people.get(Role.EXECUTIVE)
    if not (agent and executive):
        return {"claims": 0}
    damaged = list(Ticket.objects.filter(exception_kind="damaged", waybill__isnull=False).order_by("pk"))
    lost = list(Ticket.objects.filter(exception_kind="lost", waybill__isnull=False).order_by("pk"))
    late = list(Ticket.objects.filter(exception_kind="overdue", waybill__isnull=False).order_by("pk"))
    made = 0
    if damaged:
        claim = _as(agent, claims.claim_file, ticket=damaged[0], claim_type="damage", claimant_role="receiver",
                    claimed_amount="180.00", description="收件人反映外箱压扁，内装陶瓷杯碎裂两只。")
        _evidence(agent, claim, DAMAGE_EVIDENCE)
        _as(agent, claims.claim_submit, claim=claim)
        _as(agent, claims.claim_assess, claim=claim, cause="sorting_damage", assessed_value="180.00",
            damage_percent="50", note="照片显示两只杯子破损，按一半价值核定。")
        claim = _as(executive, claims.claim_approve, claim=claim)
        _as(executive, claims.claim_pay, claim=claim, amount=claim.approved_amount, method="alipay",
            payee_name=claim.claimant_name or "收件人", payee_account="demo-receiver@alipay",
            reference="ALIPAY-DEMO-0001")
        made += 1
    if len(damaged) > 1:
        claim = _as(agent, claims.claim_file, ticket=damaged[1], claim_type="damage", claimant_role="sender",
                    claimed_amount="2600.00", description="寄件客户称笔记本电脑屏幕碎裂。")
        _evidence(agent, claim, DAMAGE_EVIDENCE)
        _as(agent, claims.claim_submit, claim=claim)
        _as(agent, claims.claim_assess, claim=claim, cause="transport_damage", assessed_value="2600.00",
            damage_percent="60", note="维修报价单显示更换屏幕费用约为价值的六成。")
        made += 1
    if lost:
        claim = _as(agent, claims.claim_file, ticket=lost[0], claim_type="loss", claimant_role="sender",
                    claimed_amount="420.00", description="快件显示遗失，寄件人要求赔偿。")
        _evidence(agent, claim, [("proof_of_value", "pdf", "订单截图.pdf")])
        _as(agent, claims.claim_submit, claim=claim)
        made += 1
    if late:
        _as(agent, claims.claim_file, ticket=late[0], claim_type="delay", claimant_role="sender",
            claimed_amount="12.00", description="承诺次日达，延误两天，客户要求退运费。")
        made += 1
    return {"claims": made}
