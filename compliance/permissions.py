"""Role grants of the compliance app (merged into the role matrix by tenancy.permissions).

Agents, sales and branch managers take requests and record consent where people reach them; the
tenant admin (the company's personal-information officer) handles requests, incidents, retention
and keys; the auditor reads everything and writes nothing."""
from tenancy.models import Role

FRONT_LINE = {"compliance.register_dsr", "compliance.view_consent", "compliance.manage_consent"}

ROLE_GRANTS = {
    Role.AGENT: FRONT_LINE,
    Role.SALES_MANAGER: FRONT_LINE,
    Role.BRANCH_MANAGER: FRONT_LINE,
    Role.AUDITOR: {"compliance.view_access_log", "compliance.view_compliance", "compliance.view_consent"},
    Role.TENANT_ADMIN: FRONT_LINE | {
        "compliance.view_access_log", "compliance.view_compliance", "compliance.handle_dsr",
        "compliance.manage_incidents", "compliance.manage_keys", "compliance.run_retention",
    },
}
