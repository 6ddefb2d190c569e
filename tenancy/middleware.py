"""Request middleware: a request id for the logs and the access log, and the tenant scope.

One authenticated request is one database transaction in which the active tenant is set
(transaction-locally) before the view runs. Token-authenticated API calls are authenticated
here, before the scope is entered, so the API runs inside the same walls as the pages."""
from __future__ import annotations

import re
import uuid

from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from .authz_cache import memberships_of, token_lookup
from .models import Membership
from .scoping import ScopeState, activated

SESSION_TENANT_KEY = "crm_tenant_id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


def _api_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)


def choose_membership(memberships: list[Membership], *, wanted_tenant_id, fallback_tenant_id):
    by_tenant = {m.tenant_id: m for m in memberships}
    for tenant_id in (wanted_tenant_id, fallback_tenant_id):
        if tenant_id in by_tenant:
            return by_tenant[tenant_id]
    return memberships[0] if memberships else None


class TenantScopeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.tenant = None
        request.membership = None
        request.memberships = []
        request.api_token = None
        user = request.user
        wanted_tenant = None
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.startswith("Token ") and request.path.startswith("/api/"):
            token = token_lookup(header[6:].strip())
            if token is None:
                return _api_error(401, "not_authenticated", _("Invalid or revoked API token."))
            user = token.user
            request.api_token = token
            request.token_user = user
            wanted_tenant = token.tenant_id
        if not user.is_authenticated:
            return self.get_response(request)
        if request.api_token is None and hasattr(request, "session"):
            wanted_tenant = request.session.get(SESSION_TENANT_KEY)

        memberships = memberships_of(user)
        request.memberships = memberships
        if request.api_token is not None:
            memberships = [m for m in memberships if m.tenant_id == wanted_tenant]
        membership = choose_membership(
            memberships, wanted_tenant_id=wanted_tenant, fallback_tenant_id=user.last_active_tenant_id,
        )
        if membership is None:
            return self._no_membership(request)
        with transaction.atomic():
            return self._run_in_scope(request, user, membership)

    def _run_in_scope(self, request, user, membership):
        """The view, inside the tenant scope of the caller's transaction. A server error rolls
        the request's writes back (like ATOMIC_REQUESTS)."""
        membership.user = user
        user._crm_active_membership = membership
        request.membership = membership
        request.tenant = membership.tenant
        state = ScopeState(tenant_id=membership.tenant_id, user_id=user.pk, membership_id=membership.pk)
        with activated(state):
            response = self.get_response(request)
        if response.status_code >= 500:
            transaction.set_rollback(True)
        return response

    def _no_membership(self, request):
        if request.path.startswith("/api/"):
            return _api_error(403, "no_membership", _("This login has no active membership."))
        from django.contrib.auth import logout

        logout(request)
        return render(request, "tenancy/no_membership.html", status=403)


# Pages a half-logged-in user (password accepted, second factor pending) may still open.
TWO_FACTOR_OPEN_PATHS = ("/login/", "/logout/", "/two-factor/", "/i18n/", "/static/", "/favicon.ico")


def two_factor_step_due(request) -> str | None:
    """The second-factor page this browser session still has to pass ("two_factor_verify" or
    "two_factor_setup"), or None. API tokens are integration credentials and never asked."""
    user = request.user
    if getattr(request, "api_token", None) is not None or not user.is_authenticated or user.is_verified():
        return None
    from django.conf import settings
    from django_otp import user_has_device

    if user_has_device(user, confirmed=True):
        return "two_factor_verify"
    membership = getattr(request, "membership", None)
    if membership is not None and membership.role in settings.CRM_TWO_FACTOR_REQUIRED_ROLES:
        return "two_factor_setup"
    return None


class TwoFactorMiddleware:
    """Second factor for browser sessions (django-otp TOTP).

    - A user with a confirmed authenticator must enter a code after the password.
    - Roles in CRM_TWO_FACTOR_REQUIRED_ROLES (tenant admins) must enrol at their first login.
    API tokens are integration credentials and are not asked for a code."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(TWO_FACTOR_OPEN_PATHS):
            return self.get_response(request)
        target = two_factor_step_due(request)
        if target is None:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return _api_error(403, "two_factor_required", _("Complete the two-factor login in the browser first."))
        from django.shortcuts import redirect
        from django.urls import reverse
        from django.utils.http import urlencode

        return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
