"""OpenAPI descriptions of the project's authentication classes."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class ScopedTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tenancy.api.authentication.ScopedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Token <key>` — create keys under 我的 API 令牌 / My API tokens."}


class ScopedSessionScheme(OpenApiAuthenticationExtension):
    target_class = "tenancy.api.authentication.ScopedSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


class SingleObjectListSchema(AutoSchema):
    """For a `list` that answers one object (a lookup with its own envelope), not a page of
    items: the schema says so instead of wrapping the response in an array."""

    def _is_list_view(self, serializer=None) -> bool:
        return False
