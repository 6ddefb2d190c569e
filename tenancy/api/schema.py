"""OpenAPI descriptions of the project's authentication classes."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension


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
