"""DRF authentication that trusts what TenantScopeMiddleware already established.

The middleware authenticates token requests *before* entering the tenant scope (so the whole
API view runs inside both walls); these classes only hand that result to DRF."""
from rest_framework.authentication import BaseAuthentication, CSRFCheck
from rest_framework.exceptions import PermissionDenied


class ScopedTokenAuthentication(BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        django_request = request._request
        token = getattr(django_request, "api_token", None)
        if token is None:
            return None
        return (django_request.token_user, token)

    def authenticate_header(self, request):
        return self.keyword


class ScopedSessionAuthentication(BaseAuthentication):
    """Session login for the browser; writes need the CSRF token like any form."""

    def authenticate(self, request):
        django_request = request._request
        if getattr(django_request, "api_token", None) is not None:
            return None
        user = getattr(django_request, "user", None)
        if not user or not user.is_active or not user.is_authenticated:
            return None
        self.enforce_csrf(django_request)
        return (user, None)

    def enforce_csrf(self, request):
        def dummy_get_response(request):  # pragma: no cover - never called
            return None

        check = CSRFCheck(dummy_get_response)
        check.process_request(request)
        reason = check.process_view(request, None, (), {})
        if reason:
            raise PermissionDenied(f"CSRF Failed: {reason}")
