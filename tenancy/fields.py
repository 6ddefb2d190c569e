"""Model fields for personal data: sealed (AES-GCM) at rest, with an optional blind index.

Usage::

    phone = EncryptedTextField(_("phone"), kind="phone", blank=True, null=True)
    phone_bidx = BlindIndexField(source="phone")

Reading `obj.phone` gives the plaintext (decrypted lazily, inside the tenant scope) — for
services only. Screens and the API use `masked(obj, "phone")`; full values come only from
`tenancy.services.pii_reveal`, which logs the access. Encrypted columns cannot be filtered by
value (that would send plaintext to the database): look up through the blind index instead
(`tenancy.selectors.blind_index_for`).
"""
from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db import connection, models

from . import crypto
from .masking import mask
from .normalize import normalize


class Sealed(bytes):
    """A ciphertext as read from the database (not yet decrypted)."""


def _plain_cache(name: str) -> str:
    return f"_plain_{name}"


class EncryptedDescriptor:
    def __init__(self, field: EncryptedTextField) -> None:
        self.field = field

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        name = self.field.attname
        value = instance.__dict__.get(name)
        if isinstance(value, Sealed):
            cache = _plain_cache(name)
            if cache not in instance.__dict__:
                instance.__dict__[cache] = self.field.unseal(instance, value)
            return instance.__dict__[cache]
        return value

    def __set__(self, instance, value):
        name = self.field.attname
        instance.__dict__.pop(_plain_cache(name), None)
        if isinstance(value, memoryview):
            value = Sealed(bytes(value))
        if isinstance(value, str):
            value = value.strip()
            value = normalize(self.field.kind, value) if value else None
        instance.__dict__[name] = value


class EncryptedTextField(models.BinaryField):
    """A personal value stored sealed. `kind` picks normalisation, blind index and masking."""

    KINDS = ("phone", "email", "id_number", "address", "name", "text", "account")

    def __init__(self, *args, kind: str = "text", **kwargs):
        if kind not in self.KINDS:
            raise ValueError(f"unknown personal-data kind {kind!r}")
        self.kind = kind
        kwargs.setdefault("editable", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["kind"] = self.kind
        if kwargs.get("editable") is True:
            kwargs.pop("editable")
        return name, path, args, kwargs

    def contribute_to_class(self, cls, name, **kwargs):
        super().contribute_to_class(cls, name, **kwargs)
        setattr(cls, self.attname, EncryptedDescriptor(self))

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return Sealed(bytes(value))

    def get_lookup(self, lookup_name):
        # Only IS NULL makes sense on a ciphertext; anything else would leak plaintext into SQL.
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)

    def get_db_prep_value(self, value, connection, prepared=False):
        if isinstance(value, str):
            raise TypeError(
                f"{self.model.__name__}.{self.name} is encrypted: plaintext never goes to SQL"
            )
        return super().get_db_prep_value(value, connection, prepared)

    def _aad_parts(self, instance) -> dict:
        if instance.pk is None or instance.tenant_id is None:
            raise ValueError("a sealed value needs the row's tenant and id")
        return {
            "tenant_id": instance.tenant_id,
            "table": self.model._meta.db_table,
            "column": self.column,
            "row_id": instance.pk,
        }

    def unseal(self, instance, blob: bytes) -> str:
        return crypto.unseal(blob, **self._aad_parts(instance))

    def seal_instance(self, instance) -> bytes | None:
        """Seal a pending plaintext (idempotent) and refresh dependent blind indexes."""
        name = self.attname
        value = instance.__dict__.get(name)
        if value is None:
            for bidx in self.blind_index_fields:
                instance.__dict__[bidx.attname] = None
            return None
        if isinstance(value, Sealed):
            return bytes(value)
        sealed = Sealed(crypto.seal(value, **self._aad_parts(instance)))
        instance.__dict__[name] = sealed
        instance.__dict__[_plain_cache(name)] = value
        for bidx in self.blind_index_fields:
            instance.__dict__[bidx.attname] = crypto.blind_index(
                value, tenant_id=instance.tenant_id, kind=self.kind
            )
        return bytes(sealed)

    @property
    def blind_index_fields(self) -> list[BlindIndexField]:
        return [
            f for f in self.model._meta.concrete_fields
            if isinstance(f, BlindIndexField) and f.source == self.name
        ]

    def pre_save(self, model_instance, add):
        return self.seal_instance(model_instance)

    def value_from_object(self, obj):
        return getattr(obj, self.attname)

    def formfield(self, **kwargs):
        defaults = {"form_class": forms.CharField, "required": not self.blank, "max_length": 255}
        defaults.update(kwargs)
        return models.Field.formfield(self, **defaults)

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            return normalize(self.kind, value.strip())
        return value

    def validate(self, value, model_instance):
        if isinstance(value, str | type(None)):
            if value is None and not self.null and not self.blank:
                raise ValidationError(self.error_messages["null"], code="null")
            return
        super().validate(value, model_instance)


class BlindIndexField(models.CharField):
    """HMAC of the normalised value of `source`, for exact-match lookup. Maintained on save."""

    def __init__(self, *args, source: str, **kwargs):
        self.source = source
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        for key, default in (("max_length", 64), ("null", True), ("blank", True), ("editable", False)):
            if kwargs.get(key) == default:
                kwargs.pop(key)
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        source = model_instance._meta.get_field(self.source)
        source.seal_instance(model_instance)
        return model_instance.__dict__.get(self.attname)


def encrypted_fields(model) -> list[EncryptedTextField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]


def masked(instance, field_name: str, mode: str = "screen") -> str:
    """The display form of a personal value: what every screen and API response shows."""
    field = instance._meta.get_field(field_name)
    return mask(field.kind, getattr(instance, field_name), mode)


def allocate_ids(model, count: int) -> list[int]:
    """Reserve primary keys before insert: a sealed value's associated data names its row."""
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, column, count],
        )
        return [row[0] for row in cursor.fetchall()]
