"""Role grants of the compliance app (merged into the role matrix by tenancy.permissions)."""
from tenancy.models import Role

ROLE_GRANTS = {
    Role.AUDITOR: {"compliance.view_access_log"},
    Role.TENANT_ADMIN: {"compliance.view_access_log"},
}
