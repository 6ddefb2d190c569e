"""Every write of the tenancy app: tenants, keys, branches, users, memberships, API tokens and
the logged reveal of personal data. Services are atomic, lock what they change and check
their guards; views and the API only parse input and call them."""
from __future__ import annotations

import os
import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import crypto
from .authz_cache import token_digest
from .fields import EncryptedTextField
from .jobs import DeadLetterResolution
from .models import (
    BRANCH_CHILD_KIND,
    ApiToken,
    Branch,
    BranchKind,
    DeadLetter,
    KeyPurpose,
    Membership,
    Notification,
    NumberSequence,
    Role,
    Tenant,
    TenantKey,
    User,
)
from .scoping import current_tenant_id, tenant_scope


def require_perm(actor: User, perm: str) -> None:
    if not actor.has_perm(perm):
        raise PermissionDenied(_("You do not have permission to do this."))


# --- tenants and keys --------------------------------------------------------------------------

def tenant_key_ensure(*, tenant_id: int, purpose: str) -> TenantKey:
    """The active key of a purpose, created (version 1) on first use."""
    if tenant_id != current_tenant_id():
        raise PermissionDenied("keys are only read inside their own tenant's scope")
    found = TenantKey.objects.filter(purpose=purpose, retired_at__isnull=True).order_by("-version").first()
    if found:
        return found
    raw = os.urandom(32)
    master_id, wrapped = crypto.wrap_key(raw, tenant_id=tenant_id, purpose=purpose, version=1)
    try:
        with transaction.atomic():
            return TenantKey.objects.create(
                purpose=purpose, version=1, wrapped_key=wrapped, master_key_id=master_id
            )
    except IntegrityError:  # another process created it first
        return TenantKey.objects.get(purpose=purpose, version=1)


def platform_tenant_create(*, code: str, name: str, name_en: str = "", hq_code: str = "HQ",
                           hq_name: str | None = None, province: str = "", city: str = "") -> Tenant:
    """Platform action: a new courier company with its keys and its headquarters node."""
    with transaction.atomic():
        tenant = Tenant.objects.create(code=code, name=name, name_en=name_en)
        with tenant_scope(tenant):
            for purpose in KeyPurpose.values:
                tenant_key_ensure(tenant_id=tenant.pk, purpose=purpose)
            hq = Branch(code=hq_code, name=hq_name or _("Headquarters"), kind=BranchKind.HQ,
                        province=province, city=city)
            hq.save()
            hq.path = f"/{hq.pk}/"
            hq.save(update_fields=["path"])
    return tenant


# --- branches ----------------------------------------------------------------------------------

def _validate_branch_parent(kind: str, parent: Branch | None) -> None:
    if kind == BranchKind.HQ:
        if parent is not None:
            raise ValidationError({"parent": _("Headquarters has no parent.")})
        if Branch.objects.filter(kind=BranchKind.HQ).exists():
            raise ValidationError({"kind": _("This company already has a headquarters.")})
        return
    if parent is None:
        raise ValidationError({"parent": _("Choose the parent node.")})
    if BRANCH_CHILD_KIND.get(parent.kind) != kind:
        raise ValidationError({"parent": _("A %(kind)s must sit under a %(parent)s.") % {
            "kind": BranchKind(kind).label,
            "parent": [k for k, v in BRANCH_CHILD_KIND.items() if v == kind][0].label,
        }})


def branch_create(*, actor: User, code: str, name: str, kind: str, parent: Branch | None,
                  province: str = "", city: str = "") -> Branch:
    require_perm(actor, "tenancy.manage_branches")
    code = code.strip().upper()
    with transaction.atomic():
        if parent is not None:
            parent = Branch.objects.select_for_update().get(pk=parent.pk)
        _validate_branch_parent(kind, parent)
        if Branch.objects.filter(code=code).exists():
            raise ValidationError({"code": _("A branch with this code already exists.")})
        branch = Branch(code=code, name=name.strip(), kind=kind, parent=parent,
                        province=province, city=city)
        branch.save()
        branch.path = f"{parent.path if parent else '/'}{branch.pk}/"
        branch.save(update_fields=["path"])
    return branch


def branch_update(*, actor: User, branch: Branch, name: str, province: str, city: str,
                  is_active: bool, parent: Branch | None) -> Branch:
    """Rename, re-home (same level only) or (de)activate a branch; its subtree moves along."""
    require_perm(actor, "tenancy.manage_branches")
    with transaction.atomic():
        branch = Branch.objects.select_for_update().get(pk=branch.pk)
        if not is_active and branch.is_active:
            if Branch.objects.filter(parent=branch, is_active=True).exists():
                raise ValidationError({"is_active": _("Deactivate the child branches first.")})
            if Membership.objects.filter(branch=branch, is_active=True).exists():
                raise ValidationError({"is_active": _("Move this branch's staff first.")})
        if (parent.pk if parent else None) != branch.parent_id:
            if branch.kind == BranchKind.HQ:
                raise ValidationError({"parent": _("Headquarters has no parent.")})
            if parent is None or BRANCH_CHILD_KIND.get(parent.kind) != branch.kind:
                raise ValidationError({"parent": _("The new parent is not one level up.")})
            old_path = branch.path
            new_path = f"{parent.path}{branch.pk}/"
            for node in Branch.objects.select_for_update().filter(path__startswith=old_path):
                node.path = new_path + node.path[len(old_path):]
                node.save(update_fields=["path"])
            branch.refresh_from_db()
            branch.parent = parent
        branch.name = name.strip()
        branch.province = province
        branch.city = city
        branch.is_active = is_active
        branch.save()
    return branch


# --- users and memberships ---------------------------------------------------------------------

def _check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc


def membership_create_with_user(*, actor: User, username: str, display_name: str, password: str,
                                 role: str, branch: Branch | None, title: str = "",
                                 work_phone: str = "") -> Membership:
    """A new login and its membership in the actor's tenant."""
    require_perm(actor, "tenancy.manage_members")
    username = username.strip()
    try:
        User.username_validator(username)
    except ValidationError as exc:
        raise ValidationError({"username": exc.messages}) from exc
    if not display_name.strip():
        raise ValidationError({"display_name": _("Enter the person's name.")})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This username is taken.")})
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    candidate = User(username=username, display_name=display_name.strip())
    _check_password(password, candidate)
    with transaction.atomic():
        user = User.objects.create_user(username, password, display_name=display_name.strip(),
                                        last_active_tenant_id=current_tenant_id(),
                                        home_tenant_id=current_tenant_id())
        membership = Membership(user=user, role=role, branch=branch, title=title.strip())
        membership.work_phone = work_phone or None
        membership.save()
    return membership


def membership_add_existing_user(*, actor: User, username: str, role: str,
                                 branch: Branch | None, title: str = "") -> Membership:
    """Give an existing login (e.g. an external auditor) a membership in this tenant."""
    require_perm(actor, "tenancy.manage_members")
    user = User.objects.filter(username__iexact=username.strip(), is_active=True).first()
    if user is None:
        raise ValidationError({"username": _("No active user with this username.")})
    if Membership.objects.filter(user=user).exists():
        raise ValidationError({"username": _("This user is already a member of this company.")})
    membership = Membership(user=user, role=role, branch=branch, title=title.strip())
    membership.save()
    return membership


def _active_admin_count(exclude_pk: int | None = None) -> int:
    qs = Membership.objects.filter(role=Role.TENANT_ADMIN, is_active=True, user__is_active=True)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.count()


def membership_update(*, actor: User, membership: Membership, role: str, branch: Branch | None,
                      title: str, is_active: bool, is_away: bool,
                      work_phone: str | None = None, display_name: str | None = None) -> Membership:
    require_perm(actor, "tenancy.manage_members")
    with transaction.atomic():
        membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
        demoting_admin = membership.role == Role.TENANT_ADMIN and (
            role != Role.TENANT_ADMIN or not is_active
        )
        if demoting_admin and _active_admin_count(exclude_pk=membership.pk) == 0:
            raise ValidationError({"role": _("A company needs at least one active tenant admin.")})
        membership.role = role
        membership.branch = branch
        membership.title = title.strip()
        membership.is_active = is_active
        membership.is_away = is_away
        if work_phone is not None:
            membership.work_phone = work_phone or None
        membership.save()
        if display_name is not None and display_name.strip() != membership.user.display_name:
            membership.user.display_name = display_name.strip()
            membership.user.save(update_fields=["display_name"])
    return membership


def membership_password_set(*, actor: User, membership: Membership, password: str) -> None:
    require_perm(actor, "tenancy.manage_members")
    user = membership.user
    # A login shared with other companies (an external auditor) is managed by its home company
    # only: one tenant's admin must not take over an account that opens another tenant's data.
    if user.home_tenant_id != current_tenant_id():
        raise ValidationError({"password": _(
            "This login belongs to another organisation; its password is managed there.")})
    _check_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])


def user_password_change(*, user: User, old_password: str, new_password: str) -> None:
    if not user.check_password(old_password):
        raise ValidationError({"old_password": _("Your current password is not correct.")})
    _check_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])


def user_language_set(*, user: User, language: str) -> None:
    if language not in dict(User._meta.get_field("language").choices):
        raise ValidationError({"language": _("Unknown language.")})
    user.language = language
    user.save(update_fields=["language"])


def tenant_switch(*, user: User, memberships: list[Membership], tenant_id: int) -> Membership:
    """Pick the active company among the user's own memberships."""
    for membership in memberships:
        if membership.tenant_id == tenant_id:
            User.objects.filter(pk=user.pk).update(last_active_tenant_id=tenant_id)
            return membership
    raise PermissionDenied(_("You are not a member of that company."))


# --- API tokens --------------------------------------------------------------------------------

def api_token_create(*, actor: User, name: str, for_membership: Membership | None = None) -> tuple[ApiToken, str]:
    """An integration token for the actor (or, for an admin, a colleague) in this tenant.
    The raw key is returned once and never stored."""
    membership = for_membership or Membership.objects.get(user=actor)
    if membership.user_id != actor.pk:
        require_perm(actor, "tenancy.manage_members")
    if not name.strip():
        raise ValidationError({"name": _("Give the token a name.")})
    raw = "crm_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(name=name.strip(), key_digest=token_digest(raw), prefix=raw[4:12],
                                    user_id=membership.user_id, tenant_id=membership.tenant_id)
    return token, raw


def api_token_revoke(*, actor: User, token: ApiToken) -> None:
    if token.tenant_id != current_tenant_id():
        raise PermissionDenied(_("Not found."))
    if token.user_id != actor.pk:
        require_perm(actor, "tenancy.manage_members")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])  # save(): the token cache forgets it at once


# --- personal data -----------------------------------------------------------------------------

def pii_reveal(*, actor: User, membership: Membership, obj, field_name: str, reason: str,
               request_id: str = "", ip_address: str | None = None) -> str:
    """The unmasked value of one personal field, with one access-log row in the same
    transaction. Raises PermissionDenied without the reveal permission or for a record outside
    the member's branch reach, ValidationError
    without a reason or for a field that is not personal data."""
    from compliance.models import AccessAction
    from compliance.services import access_log_record

    require_perm(actor, "tenancy.reveal_pii")
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise ValidationError({"reason": _("State why you need the full value (at least 4 characters).")})
    try:
        field = obj._meta.get_field(field_name)
    except FieldDoesNotExist as exc:
        raise ValidationError({"field": _("Unknown field.")}) from exc
    if not isinstance(field, EncryptedTextField):
        raise ValidationError({"field": _("This field is not personal data.")})
    from .selectors import record_in_reach

    if not record_in_reach(obj, membership):
        raise PermissionDenied(_("This record is outside your branch."))
    with transaction.atomic():
        value = getattr(obj, field_name)
        access_log_record(
            actor=actor, membership=membership, action=AccessAction.REVEAL,
            target_type=obj._meta.label_lower, target_id=obj.pk, target_label=str(obj)[:200],
            fields=[field_name], reason=reason, request_id=request_id, ip_address=ip_address,
        )
    return value or ""


# --- numbers and notifications ------------------------------------------------------------------

def number_next(name: str, count: int = 1) -> int:
    """Reserve `count` consecutive numbers of the tenant's sequence `name`; returns the last one.

    One upsert takes the row lock until the caller's transaction ends, so concurrent callers
    queue and numbers stay gapless (a rolled-back transaction gives its numbers back)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    table = NumberSequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (tenant_id, name, last_value) VALUES (%s, %s, %s) "
            f"ON CONFLICT (tenant_id, name) DO UPDATE SET last_value = {table}.last_value + EXCLUDED.last_value "
            "RETURNING last_value",
            [current_tenant_id(), name, count],
        )
        return cursor.fetchone()[0]


def number_sequence_raise_to(name: str, value: int) -> None:
    """Make sure the next number handed out is above `value` (after bulk loads that set numbers)."""
    table = NumberSequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (tenant_id, name, last_value) VALUES (%s, %s, %s) "
            f"ON CONFLICT (tenant_id, name) DO UPDATE SET "
            f"last_value = GREATEST({table}.last_value, EXCLUDED.last_value)",
            [current_tenant_id(), name, value],
        )


def notification_send(*, membership: Membership, title: str, dedup_key: str, body: str = "",
                      url: str = "") -> Notification | None:
    """One in-app notification per member and key; a repeat with the same key is ignored."""
    with transaction.atomic():
        obj, created = Notification.objects.get_or_create(
            membership=membership, dedup_key=dedup_key[:120],
            defaults={"title": title[:200], "body": body, "url": url[:300]},
        )
    return obj if created else None


def notifications_mark_read(*, membership: Membership, ids: list[int] | None = None) -> int:
    qs = Notification.objects.filter(membership=membership, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())


def rule_set(*, actor: User, key: str, value, effective_from, note: str = ""):
    """A new value of a business rule from a date (rules are versioned, never edited)."""
    from .models import RuleSetting
    from .rules import REGISTRY

    require_perm(actor, "tenancy.manage_rules")
    rule = REGISTRY.get(key)
    if rule is None:
        raise ValidationError({"key": _("Unknown rule.")})
    if effective_from is None:
        raise ValidationError({"effective_from": _("Enter the date the value takes effect.")})
    parsed = rule.parse(value)
    return RuleSetting.objects.create(key=key, value=rule.to_json(parsed), effective_from=effective_from,
                                      note=(note or "").strip()[:300], created_by=actor)


# --- dead letters (background jobs) ------------------------------------------------------------

def _dead_letter_lock_open(dead_letter: DeadLetter) -> DeadLetter:
    locked = DeadLetter.objects.select_for_update().get(pk=dead_letter.pk)
    if locked.resolved_at is not None:
        raise ValidationError({"dead_letter": _("This failed task was already handled.")})
    return locked


def dead_letter_retry(*, actor: User, dead_letter: DeadLetter) -> DeadLetter:
    """Send the failed task again with its arguments (after the commit) and mark it retried.

    The task runs in the current company whatever its stored kwargs say: the tenant is never taken
    from the stored row."""
    from celery import current_app

    from .tasks import TenantTask, enqueue_on_commit

    require_perm(actor, "tenancy.change_deadletter")
    with transaction.atomic():
        locked = _dead_letter_lock_open(dead_letter)
        task = current_app.tasks.get(locked.task)
        if task is None or not isinstance(task, TenantTask):
            raise ValidationError({"task": _("This task no longer exists; dismiss the failure instead.")})
        if locked.args:
            raise ValidationError({"task": _("This task took positional arguments and cannot be sent again.")})
        kwargs = {**(locked.kwargs or {}), "tenant_id": current_tenant_id()}
        enqueue_on_commit(task, **kwargs)
        locked.resolved_at = timezone.now()
        locked.resolved_by = actor
        locked.resolution = DeadLetterResolution.RETRIED
        locked.save(update_fields=["resolved_at", "resolved_by", "resolution"])
    return locked


def dead_letter_dismiss(*, actor: User, dead_letter: DeadLetter) -> DeadLetter:
    """Close a failed task without sending it again (its cause is handled another way)."""
    require_perm(actor, "tenancy.change_deadletter")
    with transaction.atomic():
        locked = _dead_letter_lock_open(dead_letter)
        locked.resolved_at = timezone.now()
        locked.resolved_by = actor
        locked.resolution = DeadLetterResolution.DISMISSED
        locked.save(update_fields=["resolved_at", "resolved_by", "resolution"])
    return locked
