"""Role grants of the tickets app (merged into the role matrix by tenancy.permissions)."""
from tenancy.models import Role

_READ = {"tickets.view_ticket"}
_WORK = _READ | {"tickets.change_ticket", "tickets.add_ticket"}

ROLE_GRANTS = {
    Role.AGENT: _WORK,
    Role.SALES_MANAGER: _READ,
    Role.BRANCH_MANAGER: _WORK | {"tickets.resolve_exception"},
    Role.AUDITOR: _READ,
    Role.EXECUTIVE: _READ,
    Role.TENANT_ADMIN: _WORK | {"tickets.resolve_exception"},
}
