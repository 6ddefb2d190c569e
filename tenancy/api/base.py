"""Building blocks every app's API uses: the tenant-scoped viewset and related fields."""
from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers, viewsets

from .permissions import RolePermission

# The largest id a bigint column holds: a larger one in a path or payload is "no such row", not a
# database error.
MAX_ID = 2**63 - 1


def parse(serializer_class, data, **kwargs) -> dict:
    """A request body checked by `serializer_class`: its validated data, or a 400 naming the field."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class AllFieldsOptional:
    """Mixin for the input serializer of a PATCH: every field optional, and a field left out
    keeps its stored value (no default is filled in) — except those named in `keep_defaults`."""

    keep_defaults: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name not in self.keep_defaults:
                field.required = False
                field.default = serializers.empty


@extend_schema_field(OpenApiTypes.INT)
class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key in a payload, resolved inside the current tenant only: another tenant's id
    is "does not exist" (400), exactly like an id that was never used."""

    def __init__(self, model, **kwargs):
        self.model = model
        kwargs.pop("queryset", None)
        if not kwargs.get("read_only"):
            kwargs["queryset"] = None
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.model._default_manager.all()

    def use_pk_only_optimization(self):
        return True


class TenantScopedViewSet(viewsets.GenericViewSet):
    """Base of every tenant-owned API resource.

    - runs inside the request's tenant scope (middleware), so querysets are the tenant's only;
    - `read_perm` / `write_perm` name the role permissions; objects of other tenants are 404;
    - subclasses set `model`, implement `scoped_queryset()` with a selector and write
      through services."""

    permission_classes = [RolePermission]
    model = None
    read_perm: str | None = None
    write_perm: str | None = None
    lookup_value_converter = "int"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            # Schema generation runs outside any tenant: describe the model, touch no rows.
            return QuerySet(model=self.model).none()
        return self.scoped_queryset()

    def scoped_queryset(self):
        raise ImproperlyConfigured(f"{type(self).__name__} must define scoped_queryset() with a selector")

    def get_object(self):
        """An id no row can have (0, or past bigint) is 404 like an id never used."""
        value = str(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field))
        if not value.isdecimal() or not 0 < int(value) <= MAX_ID:
            raise exceptions.NotFound()
        return super().get_object()

    @property
    def membership(self):
        return self.request._request.membership
