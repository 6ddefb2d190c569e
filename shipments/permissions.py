"""Role grants of the shipments app (merged into the role matrix by tenancy.permissions).

Sending tracking events is an integration's job: tenant admins create the API token for it."""
from tenancy.models import Role

_READ = {"shipments.view_waybill", "shipments.view_trackingevent", "shipments.view_deliveryconsent"}
_CONSENT = {"shipments.add_deliveryconsent"}

ROLE_GRANTS = {
    Role.AGENT: _READ | _CONSENT,
    Role.SALES_MANAGER: _READ,
    Role.BRANCH_MANAGER: _READ | _CONSENT,
    Role.AUDITOR: _READ,
    Role.EXECUTIVE: _READ,
    Role.TENANT_ADMIN: _READ | _CONSENT | {"shipments.ingest_tracking_events"},
}
