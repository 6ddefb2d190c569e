"""A new company starts with the default violation catalogue (DOMAIN.md §5)."""
from __future__ import annotations

from tenancy.scoping import tenant_scope


def catalogue_for_new_tenant(sender, instance, created, raw=False, **kwargs):
    if not created or raw:
        return
    from .services import catalogue_defaults_ensure

    with tenant_scope(instance):
        catalogue_defaults_ensure()
