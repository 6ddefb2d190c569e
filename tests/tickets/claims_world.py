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


# --- shared by the property and concurrency tests ------------------------------------------------

def act(tw, user, service, **kwargs):
    """Call a service as `user` inside the tenant's scope (permissions follow the scope's user)."""
    with tenant_scope(tw.tenant, user=user):
        return service(actor=user, **kwargs)


def insure_waybills(tw, tickets, *, insured, declared=None) -> None:
    """Give the tickets' waybills an insured amount (and declared value) before claims are filed."""
    from decimal import Decimal

    from shipments.models import Waybill

    insured = Decimal(str(insured))
    with tenant_scope(tw.tenant, user=tw.user(Role.TENANT_ADMIN)):
        Waybill.objects.filter(pk__in=[t.waybill_id for t in tickets]).update(
            insured_amount=insured, declared_value=Decimal(str(declared)) if declared is not None else insured)


def evidence_complete(tw, user, claim) -> None:
    """Add one file of each evidence kind the claim's type needs."""
    from tickets import claim_rules
    from tickets.services import claims

    with tenant_scope(tw.tenant):
        kinds = claim_rules.evidence_required(claim.claim_type)
    for kind in kinds:
        content = PDF if kind in ("proof_of_value", "damage_report") else PNG
        act(tw, user, claims.claim_evidence_add, claim=claim, kind=kind, name=f"{kind}.bin", content=content)


def claim_under_review(tw, ticket, *, claimed, assessed, claim_type: str = "loss", damage_percent=None,
                       cause: str = "lost_in_transit"):
    """File (as the agent), document, submit and assess a claim: it is under review with the
    rules' amount computed. The agent files, so the team lead, branch manager and executive may decide."""
    from tickets.services import claims

    agent = tw.user(Role.AGENT)
    claim = act(tw, agent, claims.claim_file, ticket=ticket, claim_type=claim_type, claimant_role="sender",
                claimed_amount=claimed, description="理赔")
    evidence_complete(tw, agent, claim)
    act(tw, agent, claims.claim_submit, claim=claim)
    return act(tw, agent, claims.claim_assess, claim=claim, cause=cause, assessed_value=assessed,
               damage_percent=damage_percent)
