"""Role grants of the customers app (merged into the role matrix by tenancy.permissions).

Object rights on leads and opportunities come from django-guardian (owner and team), see
customers.services.sales; an auditor reads but never writes business data."""
from tenancy.models import Role

_READ = {"customers.view_customer", "customers.view_contract", "customers.view_tag"}
_SALES_OBJECTS = {
    "customers.view_lead", "customers.change_lead", "customers.add_lead",
    "customers.view_opportunity", "customers.change_opportunity", "customers.add_opportunity",
}
# Retention work (churn alerts → tasks): sales managers and tenant admins work tasks; executives
# read the lists for the retention rate. Branch managers are left out: customers carry no
# branch, so a branch's slice of the list cannot be drawn.
_RETENTION_READ = {"customers.view_retentiontask", "customers.view_churnalert"}
_RETENTION_WORK = _RETENTION_READ | {"customers.work_retention_task"}

ROLE_GRANTS = {
    Role.AGENT: _READ | {"customers.add_customer", "customers.change_customer", "customers.add_lead"},
    Role.SALES_MANAGER: _READ | _SALES_OBJECTS | {
        "customers.add_customer", "customers.change_customer", "customers.merge_customer",
        "customers.add_contract", "customers.change_contract", "customers.manage_tags",
        "customers.import_customers", "customers.export_customers",
    } | _RETENTION_WORK,
    Role.BRANCH_MANAGER: _READ,
    Role.AUDITOR: _READ | {"customers.export_customers"},
    Role.EXECUTIVE: _READ | {"customers.view_lead", "customers.view_opportunity", "customers.view_all_leads",
                             "customers.export_customers"} | _RETENTION_READ,
    Role.TENANT_ADMIN: _READ | _SALES_OBJECTS | {
        "customers.add_customer", "customers.change_customer", "customers.merge_customer",
        "customers.add_contract", "customers.change_contract", "customers.manage_tags",
        "customers.import_customers", "customers.export_customers", "customers.view_all_leads",
        "customers.assign_lead", "customers.manage_sales_teams", "tenancy.manage_rules",
    } | _RETENTION_WORK,
}
