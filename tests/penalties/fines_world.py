"""Builders of the fines tests: the default catalogue in both companies, and fines at any step."""
from __future__ import annotations

import datetime as dt

from penalties import services
from penalties.models import ViolationType
from tenancy.models import Role
from tenancy.scoping import tenant_scope

# Small file heads (the type of evidence is read from the bytes).
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4 test evidence"


def act(tw, user, service, **kwargs):
    """Call a service as `user` inside the tenant's scope (permissions follow the scope's user)."""
    with tenant_scope(tw.tenant, user=user):
        return service(actor=user, **kwargs)


def seed_catalogue(world) -> None:
    for tw in (world.a, world.b):
        with tenant_scope(tw.tenant):
            services.catalogue_defaults_ensure()


def vtype(tw, code: str = "FAKE_SCAN") -> ViolationType:
    with tenant_scope(tw.tenant):
        return ViolationType.objects.get(code=code)


def proposed(tw, *, amount="1000.00", code="FAKE_SCAN", subject_role=Role.AGENT, by=Role.BRANCH_MANAGER, **kwargs):
    """A fine proposed by `by` (branch manager by default) against the member of `subject_role`."""
    if subject_role is None:
        fields = {"subject_kind": "branch", "branch": tw.branch}
    else:
        fields = {"subject_kind": "employee", "subject_membership": tw.members[subject_role]}
    fields.update(kwargs)
    return act(tw, tw.user(by), services.case_propose, violation_type=vtype(tw, code), amount=amount,
               description=kwargs.pop("description", "扫描记录与实际不符"), occurred_on=dt.date.today(),
               **{k: v for k, v in fields.items() if k != "description"})


def confirmed(tw, *, by=Role.EXECUTIVE, **kwargs):
    case = proposed(tw, **kwargs)
    return act(tw, tw.user(by), services.case_confirm, case=case)
