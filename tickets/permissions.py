"""Role grants of the tickets app (merged into the role matrix by tenancy.permissions).

Agents work tickets (create, reply, note, assign within their team, merge duplicates); branch
managers also work the exception queue and edit the knowledge base; tenant admins also set up the
service desk (teams, routing, SLA policies, calendars, macros). Everybody may read the
knowledge base."""
from tenancy.models import Role

_READ = {"tickets.view_ticket", "tickets.view_kbarticle"}
_WORK = _READ | {"tickets.change_ticket", "tickets.add_ticket", "tickets.merge_ticket",
                 "tickets.add_ticketattachment", "tickets.view_ticketattachment"}
_KB_EDIT = {"tickets.add_kbarticle", "tickets.change_kbarticle"}

ROLE_GRANTS = {
    Role.AGENT: _WORK,
    Role.SALES_MANAGER: _READ,
    Role.BRANCH_MANAGER: _WORK | _KB_EDIT | {"tickets.resolve_exception"},
    Role.AUDITOR: _READ | {"tickets.view_ticketattachment"},
    Role.EXECUTIVE: _READ,
    Role.TENANT_ADMIN: _WORK | _KB_EDIT | {"tickets.resolve_exception", "tickets.manage_service_desk"},
}
