"""Who sees which dashboard. Executives see the whole company; branch managers their branch
subtree (the branch filter is limited to it); auditors read the fines dashboard only. The churn
section is company-wide (customers belong to no branch), so it is shown to executives only."""
from __future__ import annotations

from tenancy.models import Role

VIEW_DASHBOARDS = "reports.view_dashboards"
VIEW_FINES = "reports.view_fines_dashboard"
VIEW_CHURN = "reports.view_churn_dashboard"

ROLE_GRANTS = {
    Role.EXECUTIVE: {VIEW_DASHBOARDS, VIEW_FINES, VIEW_CHURN},
    Role.BRANCH_MANAGER: {VIEW_DASHBOARDS, VIEW_FINES},
    Role.AUDITOR: {VIEW_FINES},
}

ANY_DASHBOARD = (VIEW_DASHBOARDS, VIEW_FINES, VIEW_CHURN)


def can_view_any(user) -> bool:
    return any(user.has_perm(perm) for perm in ANY_DASHBOARD)
