"""Building blocks every app's API uses: the tenant-scoped viewset and related fields."""
from __future__ import annotations

from rest_framework import serializers, viewsets

from .permissions import RolePermission


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key in a payload, resolved inside the current tenant only: another tenant's id
    is "does not exist" (400), exactly like an id that was never used."""

    def __init__(self, model, **kwargs):
        self.model = model
        kwargs.pop("queryset", None)
        if not kwargs.get("read_only"):
            kwargs["queryset"] = None
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.model._default_manager.all()

    def use_pk_only_optimization(self):
        return True


class TenantScopedViewSet(viewsets.GenericViewSet):
    """Base of every tenant-owned API resource.

    - runs inside the request's tenant scope (middleware), so querysets are the tenant's only;
    - `read_perm` / `write_perm` name the role permissions; objects of other tenants are 404;
    - subclasses implement `get_queryset()` with a selector and write through services."""

    permission_classes = [RolePermission]
    read_perm: str | None = None
    write_perm: str | None = None

    @property
    def membership(self):
        return self.request._request.membership
