"""API permission classes: a tenant membership is required, then a role permission per action."""
from rest_framework.permissions import SAFE_METHODS, BasePermission


class IsTenantMember(BasePermission):
    message = "This endpoint needs a login with an active membership."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated
                    and getattr(request._request, "membership", None) is not None)


class RolePermission(BasePermission):
    """Reads need `view.read_perm`, writes `view.write_perm` (role matrix in permissions.py)."""

    message = "Your role does not allow this."

    def has_permission(self, request, view):
        if not IsTenantMember().has_permission(request, view):
            return False
        perm = view.read_perm if request.method in SAFE_METHODS else view.write_perm
        return perm is None or request.user.has_perm(perm)
