"""A claims desk in each tenant: a claims team led by a second agent, and damaged waybills with
their exception tickets (insured 300 CNY, service fee 12.50 CNY, declared value 300 CNY)."""
from __future__ import annotations

from dataclasses import dataclass, field

from tenancy.models import Membership, Role
from tenancy.scoping import tenant_scope
from tests.factories.shipments import exception_tickets
from tickets.models import AssignMode
from tickets.services import desk

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4 test invoice"


@dataclass
class ClaimsDesk:
    team: object
    lead: Membership
    tickets: list = field(default_factory=list)


def build_claims_desk(tw, *, prefix: str, count: int = 3) -> ClaimsDesk:
    from tenancy.models import User

    admin = tw.user(Role.TENANT_ADMIN)
    with tenant_scope(tw.tenant, user=admin):
        lead_user = User.objects.create_user(username=f"{tw.tenant.code}-claims-lead", password="Test-Passw0rd-2026",
                                             display_name="理赔组长")
        lead = Membership.objects.create(user=lead_user, role=Role.AGENT, branch=tw.branch)
        team = desk.team_save(actor=admin, code="claims", name="理赔组", assign_mode=AssignMode.ROUND_ROBIN,
                              lead_id=lead.pk, member_ids=[tw.members[Role.AGENT].pk, lead.pk])
        for category in ("claim", "damage", "loss"):
            desk.routing_rule_save(actor=admin, name=f"claims-{category}", team_id=team.pk, category=category,
                                   position=5)
    tickets = exception_tickets(tw, count, prefix=prefix)
    return ClaimsDesk(team=team, lead=lead, tickets=tickets)
