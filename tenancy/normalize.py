"""Normalisation of personal values before they are sealed and indexed, so that the same phone
typed two ways gives one blind index. Invalid input raises django ValidationError."""
from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

DEFAULT_PHONE_REGION = "CN"
_SPACES = re.compile(r"\s+")


def normalize_phone(value: str, region: str = DEFAULT_PHONE_REGION) -> str:
    """E.164 (+8613812345678). Accepts national, international and spaced/dashed forms."""
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("Enter a valid phone number."), code="invalid_phone") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(_("Enter a valid phone number."), code="invalid_phone")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(value: str) -> str:
    value = value.strip().lower()
    validate_email(value)
    return value


_ID_RE = re.compile(r"^\d{17}[\dX]$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def normalize_id_number(value: str) -> str:
    """Mainland resident ID (18 characters, ISO 7064 MOD 11-2 check character)."""
    value = _SPACES.sub("", value).upper()
    if not _ID_RE.match(value):
        raise ValidationError(_("An ID number has 17 digits and a check character."), code="invalid_id")
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != value[17]:
        raise ValidationError(_("The ID number's check character is wrong."), code="invalid_id")
    return value


def normalize_text(value: str) -> str:
    return _SPACES.sub(" ", value).strip()


NORMALIZERS = {
    "phone": normalize_phone,
    "email": normalize_email,
    "id_number": normalize_id_number,
    "address": normalize_text,
    "name": normalize_text,
    "text": normalize_text,
    "account": normalize_text,
}


def normalize(kind: str, value: str) -> str:
    return NORMALIZERS[kind](value)
