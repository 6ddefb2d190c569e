"""A short-lived cache of who-is-who: an API token's login and company, a login's active
memberships. Every request needs them and they rarely change, so they are kept in the shared
cache (Redis) instead of costing two queries per request.

Entries are dropped when a membership, login, token or company is saved or deleted (signals,
also after commit), and expire after AUTHZ_CACHE_SECONDS in any case, which bounds how long a
write that bypasses save() (queryset.update()) can go unnoticed."""
from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from .models import ApiToken, Membership, Tenant, User
from .scoping import ScopeState, activated, tenant_scope

AUTHZ_CACHE_SECONDS = 30
TOKEN_TOUCH_SECONDS = 300


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _token_key(digest: str) -> str:
    return f"authz:token:{digest}"


def _memberships_key(user_id: int) -> str:
    return f"authz:memberships:{user_id}"


def token_lookup(raw: str) -> ApiToken | None:
    """The active token for a raw key (with its user), or None."""
    digest = token_digest(raw)
    key = _token_key(digest)
    token = cache.get(key)
    if token is None:
        token = (ApiToken.objects.select_related("user")
                 .filter(key_digest=digest, revoked_at__isnull=True, user__is_active=True).first())
        if token is None:
            return None
        cache.set(key, token, AUTHZ_CACHE_SECONDS)
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > TOKEN_TOUCH_SECONDS:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
        cache.set(key, token, AUTHZ_CACHE_SECONDS)
    return token


def memberships_of(user: User) -> list[Membership]:
    """The user's active memberships in active companies, with the company loaded."""
    key = _memberships_key(user.pk)
    found = cache.get(key)
    if found is None:
        with transaction.atomic(), activated(ScopeState(user_id=user.pk)):
            found = list(Membership.of_user.filter(is_active=True, tenant__is_active=True)
                         .select_related("tenant").order_by("tenant_id"))
        cache.set(key, found, AUTHZ_CACHE_SECONDS)
    return found


def forget_user(user_id: int) -> None:
    keys = [_memberships_key(user_id)]
    keys += [_token_key(d) for d in ApiToken.objects.filter(user_id=user_id).values_list("key_digest", flat=True)]
    cache.delete_many(keys)


def _forget_user_now_and_after_commit(user_id: int) -> None:
    forget_user(user_id)
    transaction.on_commit(lambda: forget_user(user_id))


@receiver([post_save, post_delete], sender=Membership, dispatch_uid="authz-membership")
def _membership_changed(sender, instance, **kwargs):
    _forget_user_now_and_after_commit(instance.user_id)


@receiver([post_save, post_delete], sender=User, dispatch_uid="authz-user")
def _user_changed(sender, instance, **kwargs):
    _forget_user_now_and_after_commit(instance.pk)


@receiver([post_save, post_delete], sender=ApiToken, dispatch_uid="authz-token")
def _token_changed(sender, instance, **kwargs):
    cache.delete(_token_key(instance.key_digest))
    transaction.on_commit(lambda: cache.delete(_token_key(instance.key_digest)))


@receiver(post_save, sender=Tenant, dispatch_uid="authz-tenant")
def _tenant_changed(sender, instance, created, **kwargs):
    if created:
        return
    with tenant_scope(instance):
        user_ids = list(Membership.objects.values_list("user_id", flat=True))
    for user_id in user_ids:
        _forget_user_now_and_after_commit(user_id)
