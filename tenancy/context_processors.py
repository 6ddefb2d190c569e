from .navigation import navigation_for


def tenant_context(request):
    membership = getattr(request, "membership", None)
    return {
        "active_membership": membership,
        "active_tenant": getattr(request, "tenant", None),
        "user_memberships": getattr(request, "memberships", []),
        "nav_items": navigation_for(request) if membership else [],
    }
