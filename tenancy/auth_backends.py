"""Authentication by username/password; authorisation by the active membership's role."""
from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from .permissions import role_permissions
from .scoping import current_state


class TenantRoleBackend(ModelBackend):
    """`user.has_perm("app.codename")` is true when the user's membership in the *current*
    tenant scope has a role that grants it. Outside a scope nobody has any permission."""

    def _active_role(self, user_obj) -> str | None:
        state = current_state()
        if state.tenant_id is None or state.user_id != user_obj.pk:
            return None
        membership = getattr(user_obj, "_crm_active_membership", None)
        if membership is None or membership.tenant_id != state.tenant_id:
            # Outside a request (a task or command acting for a user): look the membership up.
            from .models import Membership

            membership = Membership.objects.filter(user_id=user_obj.pk).first()
            if membership is None:
                return None
            user_obj._crm_active_membership = membership
        return membership.role if membership.is_active else None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        role = self._active_role(user_obj)
        return set(role_permissions(role)) if role else set()

    def has_perm(self, user_obj, perm, obj=None):
        return perm in self.get_all_permissions(user_obj, obj)

    def has_module_perms(self, user_obj, app_label):
        return any(p.startswith(app_label + ".") for p in self.get_all_permissions(user_obj))
