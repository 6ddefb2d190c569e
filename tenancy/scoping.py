"""The ORM wall: a tenant scope that every tenant-owned query needs, failing closed without one.

A scope is a context variable plus a database transaction in which the tenant id is set with
`set_config('app.tenant_id', …, true)`: transaction-local, so a pooled connection can never carry
one request's tenant into the next. Row-level security in PostgreSQL (the second wall) reads the
same setting.

Entering a scope:
- web requests: `tenancy.middleware.TenantScopeMiddleware` from the active membership;
- API requests: the same middleware, after token or session authentication;
- Celery tasks: `tenancy.tasks.TenantTask` from the `tenant_id` argument;
- management commands: `tenancy.management.base.TenantCommand` from `--tenant`.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import connection, transaction


class TenantScopeError(RuntimeError):
    """A tenant-owned table was queried with no tenant scope active."""


class CrossTenantReference(ValueError):
    """A row was about to point at, or be saved into, another tenant."""


@dataclass(frozen=True)
class ScopeState:
    tenant_id: int | None = None
    user_id: int | None = None
    membership_id: int | None = None


_state: ContextVar[ScopeState] = ContextVar("crm_scope_state", default=ScopeState())  # noqa: B039


def current_state() -> ScopeState:
    return _state.get()


def current_tenant_id() -> int:
    """The active tenant's id; raises TenantScopeError when no scope is active."""
    tenant_id = _state.get().tenant_id
    if tenant_id is None:
        raise TenantScopeError(
            "No tenant scope is active. Enter one with tenancy.scoping.tenant_scope(...) "
            "(web requests, API views, tasks and commands do this for you)."
        )
    return tenant_id


def current_tenant_id_or_none() -> int | None:
    return _state.get().tenant_id


def current_user_id() -> int | None:
    return _state.get().user_id


def _set_db_settings(state: ScopeState) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('app.tenant_id', %s, true), set_config('app.user_id', %s, true)",
            [
                "" if state.tenant_id is None else str(state.tenant_id),
                "" if state.user_id is None else str(state.user_id),
            ],
        )


@contextmanager
def _enter(state: ScopeState) -> Iterator[ScopeState]:
    outer = _state.get()
    token = _state.set(state)
    try:
        with transaction.atomic():
            _set_db_settings(state)
            yield state
    finally:
        _state.reset(token)
        # A nested scope ran inside an outer transaction: give the outer scope its settings
        # back (the inner transaction-local values survive a released savepoint).
        if connection.in_atomic_block and not connection.needs_rollback:
            _set_db_settings(outer)


@contextmanager
def tenant_scope(tenant, *, user=None, membership=None) -> Iterator[ScopeState]:
    """Run the block as `tenant` (a Tenant or its id), in one transaction."""
    tenant_id = getattr(tenant, "pk", tenant)
    if tenant_id is None:
        raise TenantScopeError("tenant_scope() needs a saved tenant")
    user_id = getattr(user, "pk", user)
    if membership is not None and user_id is None:
        user_id = membership.user_id
    with _enter(
        ScopeState(
            tenant_id=int(tenant_id),
            user_id=user_id,
            membership_id=getattr(membership, "pk", None),
        )
    ) as state:
        yield state


@contextmanager
def user_scope(user) -> Iterator[ScopeState]:
    """Only the user's own memberships are visible: what login and the tenant switcher need
    before a tenant is chosen. No tenant-owned table is readable here."""
    with _enter(ScopeState(tenant_id=None, user_id=int(getattr(user, "pk", user)))) as state:
        yield state


@contextmanager
def activated(state: ScopeState) -> Iterator[ScopeState]:
    """Set the scope inside a transaction the caller already opened (the request middleware
    does this so one request is one transaction, without an extra savepoint)."""
    if not connection.in_atomic_block:
        raise TenantScopeError("activated() must run inside transaction.atomic()")
    token = _state.set(state)
    try:
        _set_db_settings(state)
        yield state
    finally:
        _state.reset(token)
