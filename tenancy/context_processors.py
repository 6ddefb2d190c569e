from .middleware import two_factor_step_due
from .navigation import navigation_for


def tenant_context(request):
    membership = getattr(request, "membership", None)
    return {
        "active_membership": membership,
        "active_tenant": getattr(request, "tenant", None),
        "user_memberships": getattr(request, "memberships", []),
        "nav_items": navigation_for(request) if membership else [],
        # The second-factor pages show the layout; nothing there may poll pages behind the step.
        "two_factor_pending": bool(membership) and two_factor_step_due(request) is not None,
    }
