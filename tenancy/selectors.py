"""Every read of the tenancy app used by pages, the API and tasks."""
from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from . import crypto
from .models import ApiToken, Branch, Membership, Role, User
from .normalize import normalize
from .scoping import current_state, current_tenant_id


def branch_reach(membership: Membership | None) -> Branch | None:
    """The branch whose subtree limits what this member works on (a branch manager's own branch),
    or None for the whole company. Tickets, claims and fines all follow it."""
    if membership is not None and membership.role == Role.BRANCH_MANAGER and membership.branch_id:
        return membership.branch
    return None


def in_branch_reach(qs: QuerySet, membership: Membership | None) -> QuerySet:
    """The rows of `qs` (anything with a branch) within this member's reach."""
    branch = branch_reach(membership)
    return qs.filter(branch__path__startswith=branch.path) if branch is not None else qs


# Where a record sits in the branch tree: its own branch fields, else those of the record it hangs
# off (a claim's payout, a ticket's message). A record with neither is company-wide (a customer).
REACH_BRANCH_FIELDS = ("branch", "responsible_branch", "origin_branch", "destination_branch")
REACH_PARENT_FIELDS = ("claim", "ticket", "waybill")


def record_in_reach(obj, membership: Membership | None) -> bool:
    """Is this record within the member's branch reach? (A branch manager reveals personal data of
    their subtree's records only; everyone else works company-wide.)"""
    reach = branch_reach(membership)
    if reach is None:
        return True
    names = {f.name for f in obj._meta.concrete_fields}
    own = [name for name in REACH_BRANCH_FIELDS if name in names]
    if own:
        branches = [getattr(obj, name) for name in own if getattr(obj, f"{name}_id") is not None]
        return any(branch.path.startswith(reach.path) for branch in branches)
    for name in REACH_PARENT_FIELDS:
        if name in names and getattr(obj, f"{name}_id") is not None:
            return record_in_reach(getattr(obj, name), membership)
    return True


def acting_membership(actor: User | None) -> Membership | None:
    """The membership the actor works under here: the scope's (a request's active one), or outside a
    request (a task, a script) their active membership in this company."""
    if actor is None:
        return None
    membership_id = current_state().membership_id
    qs = Membership.objects.select_related("branch").filter(user=actor, is_active=True)
    return (qs.filter(pk=membership_id).first() if membership_id else None) or qs.first()


def _normalised(kind: str, value: str) -> str | None:
    try:
        return normalize(kind, value)
    except Exception:  # noqa: BLE001 — any unparsable input simply matches nothing
        return None


def blind_index_for(kind: str, value: str) -> str | None:
    """The blind index of a typed value under the active index key of the current tenant, or None
    if it does not parse. For *lookups* use blind_indexes_for: during an index-key rotation stored
    rows carry indexes under the old key or the new one."""
    normalised = _normalised(kind, value)
    if normalised is None:
        return None
    return crypto.blind_index(normalised, tenant_id=current_tenant_id(), kind=kind)


def blind_indexes_for(kind: str, value: str) -> list[str]:
    """The blind indexes of a typed value under every unretired index key of the current tenant
    (filter with `<field>_bidx__in=`), or [] if it does not parse."""
    normalised = _normalised(kind, value)
    if normalised is None:
        return []
    return crypto.blind_indexes(normalised, tenant_id=current_tenant_id(), kind=kind)


def branch_list(*, search: str = "", kind: str = "", include_inactive: bool = True) -> QuerySet[Branch]:
    qs = Branch.objects.all().annotate(
        staff_count=Count("memberships", filter=Q(memberships__is_active=True))
    ).order_by("path")
    if not include_inactive:
        qs = qs.filter(is_active=True)
    if kind:
        qs = qs.filter(kind=kind)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(code__icontains=search) | Q(city__icontains=search))
    return qs


def branch_get(*, pk: int) -> Branch:
    return Branch.objects.get(pk=pk)


def branch_subtree(branch: Branch) -> QuerySet[Branch]:
    """The branch and everything under it (a branch manager's reach)."""
    return Branch.objects.filter(path__startswith=branch.path).order_by("path")


def branch_choices(*, kinds=None) -> QuerySet[Branch]:
    qs = Branch.objects.filter(is_active=True).order_by("path")
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return qs


def membership_list(*, role: str = "", branch_id: int | None = None, search: str = "",
                    active: bool | None = None, branch_subtree_of: Branch | None = None) -> QuerySet[Membership]:
    qs = Membership.objects.select_related("user", "branch").order_by("user__display_name", "id")
    if role:
        qs = qs.filter(role=role)
    if branch_id:
        qs = qs.filter(branch_id=branch_id)
    if branch_subtree_of is not None:
        qs = qs.filter(branch__path__startswith=branch_subtree_of.path)
    if active is not None:
        qs = qs.filter(is_active=active)
    if search:
        qs = qs.filter(Q(user__username__icontains=search) | Q(user__display_name__icontains=search)
                       | Q(title__icontains=search))
    return qs


def membership_get(*, pk: int) -> Membership:
    return Membership.objects.select_related("user", "branch").get(pk=pk)


def membership_find_by_work_phone(phone: str) -> QuerySet[Membership]:
    bidxs = blind_indexes_for("phone", phone)
    if not bidxs:
        return Membership.objects.none()
    return Membership.objects.filter(work_phone_bidx__in=bidxs).select_related("user", "branch")


def colleagues_of(membership: Membership) -> QuerySet[Membership]:
    if membership.branch_id is None:
        return Membership.objects.none()
    return (Membership.objects.filter(branch_id=membership.branch_id, is_active=True)
            .exclude(pk=membership.pk).select_related("user").order_by("role", "user__display_name"))


def role_counts() -> dict[str, int]:
    counts = dict(Membership.objects.filter(is_active=True).values_list("role").annotate(n=Count("id")))
    return {role: counts.get(role, 0) for role in Role.values}


def api_tokens_of(*, user: User, all_in_tenant: bool = False) -> QuerySet[ApiToken]:
    qs = ApiToken.objects.filter(tenant_id=current_tenant_id()).select_related("user").order_by("-created_at")
    return qs if all_in_tenant else qs.filter(user=user)
