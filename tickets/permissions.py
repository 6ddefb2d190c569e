"""Role grants of the tickets app (merged into the role matrix by tenancy.permissions), and the
object check of who may decide a claim.

Agents work tickets (create, reply, note, assign within their team, merge duplicates) and file,
document and assess claims; branch managers also work the exception queue, edit the knowledge
base and decide and pay claims; tenant admins also set up the service desk (teams, routing, SLA
policies, calendars, macros). Everybody may read the knowledge base.

Deciding a claim takes the `decide_claim` permission *and* enough authority over that claim
(`claim_authority`): a team lead for their team's claims, a branch manager for their branch
subtree's, headquarters (an executive, or the manager of the head-office branch) for any — and
the amount decides which level is enough (tickets.claim_rules)."""
from __future__ import annotations

from tenancy.models import Role

_READ = {"tickets.view_ticket", "tickets.view_kbarticle"}
_WORK = _READ | {"tickets.change_ticket", "tickets.add_ticket", "tickets.merge_ticket",
                 "tickets.add_ticketattachment", "tickets.view_ticketattachment"}
_KB_EDIT = {"tickets.add_kbarticle", "tickets.change_kbarticle"}
_CLAIM_READ = {"tickets.view_claim"}
_CLAIM_WORK = _CLAIM_READ | {"tickets.add_claim", "tickets.change_claim", "tickets.assess_claim"}
# Satisfaction surveys (scores, response rates, masked recipients): read by the people who work
# or oversee service; nobody edits a survey, answers come from the public page only.
_SURVEY_READ = {"tickets.view_survey"}

ROLE_GRANTS = {
    # An agent who leads a team decides that team's small claims (claim_authority).
    Role.AGENT: _WORK | _CLAIM_WORK | _SURVEY_READ | {"tickets.decide_claim"},
    Role.SALES_MANAGER: _READ | _CLAIM_READ,
    Role.BRANCH_MANAGER: _WORK | _KB_EDIT | _CLAIM_WORK | _SURVEY_READ | {
        "tickets.resolve_exception", "tickets.decide_claim", "tickets.pay_claim"},
    Role.AUDITOR: _READ | _CLAIM_READ | _SURVEY_READ | {"tickets.view_ticketattachment"},
    Role.EXECUTIVE: _READ | _CLAIM_READ | _SURVEY_READ | {"tickets.view_ticketattachment", "tickets.decide_claim",
                                                          "tickets.pay_claim"},
    Role.TENANT_ADMIN: _WORK | _KB_EDIT | _CLAIM_WORK | _SURVEY_READ | {"tickets.resolve_exception",
                                                         "tickets.manage_service_desk", "tickets.pay_claim"},
}


def claim_authority(membership, claim) -> str | None:
    """The highest approval level this member holds over this claim, or None."""
    from tenancy.models import BranchKind

    from .models import ApprovalLevel, Team

    if membership is None or not membership.is_active:
        return None
    if membership.role == Role.EXECUTIVE:
        return ApprovalLevel.HEADQUARTERS
    if membership.role == Role.BRANCH_MANAGER:
        branch = membership.branch
        if branch is None or branch.kind == BranchKind.HQ:
            return ApprovalLevel.HEADQUARTERS
        if claim.branch_id and claim.branch.path.startswith(branch.path):
            return ApprovalLevel.BRANCH
    if membership.role in (Role.AGENT, Role.BRANCH_MANAGER) and claim.team_id and Team.objects.filter(
            pk=claim.team_id, lead_id=membership.pk, is_active=True).exists():
        return ApprovalLevel.TEAM_LEAD
    return None
