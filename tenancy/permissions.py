"""The role matrix: which Django permissions each tenant role holds.

Each app declares `ROLE_GRANTS = {Role.X: {"app.codename", ...}}` in its own permissions.py;
`role_permissions()` merges them. Permissions are checked against the *active membership* in
the current tenant scope (tenancy.auth_backends), never globally.
"""
from __future__ import annotations

from functools import cache
from importlib import import_module

from django.apps import apps

from .models import Role

_VIEW_COMMON = {"tenancy.view_branch", "tenancy.view_directory"}

ROLE_GRANTS = {
    Role.AGENT: _VIEW_COMMON | {"tenancy.reveal_pii"},
    Role.SALES_MANAGER: _VIEW_COMMON | {"tenancy.reveal_pii", "tenancy.export_data"},
    Role.BRANCH_MANAGER: _VIEW_COMMON | {"tenancy.reveal_pii", "tenancy.view_membership"},
    # Auditors see background jobs and failed tasks (read-only: they never send or dismiss one).
    Role.AUDITOR: _VIEW_COMMON | {"tenancy.view_membership", "tenancy.export_data", "tenancy.view_jobs"},
    Role.EXECUTIVE: _VIEW_COMMON | {"tenancy.view_membership", "tenancy.export_data"},
    Role.TENANT_ADMIN: _VIEW_COMMON | {
        "tenancy.view_membership", "tenancy.manage_members", "tenancy.manage_branches",
        "tenancy.add_branch", "tenancy.change_branch", "tenancy.reveal_pii", "tenancy.export_data",
        "tenancy.view_jobs", "tenancy.change_deadletter",
    },
}

# Roles that never write business data (ARCHITECTURE.md §3).
READ_ONLY_ROLES = frozenset({Role.AUDITOR})


@cache
def role_permissions(role: str) -> frozenset[str]:
    granted: set[str] = set()
    for config in apps.get_app_configs():
        try:
            module = import_module(f"{config.name}.permissions")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.permissions":
                raise
            continue
        granted |= set(getattr(module, "ROLE_GRANTS", {}).get(role, ()))
    return frozenset(granted)


def all_granted_permissions() -> set[str]:
    return set().union(*(role_permissions(r) for r in Role.values))
