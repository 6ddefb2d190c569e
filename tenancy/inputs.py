"""Cleaning of typed-in values that services share: money, free text, a choice. Each problem is
raised as a ValidationError naming the field, so forms and the API show it where it belongs."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_AMOUNT = Decimal("9999999999.99")
MAX_TEXT = 5_000


def clean_amount(value, field: str, *, positive: bool = True) -> Decimal:
    """An amount in CNY with at most two decimals; a problem names the field."""
    try:
        amount = Decimal(str(value).strip()) if value not in (None, "") else None
    except (InvalidOperation, ValueError, TypeError):
        amount = None
    if amount is None or not amount.is_finite():
        raise ValidationError({field: _("Enter an amount in CNY, e.g. 199.50.")})
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError({field: _("An amount has at most two decimals (fen).")})
    if amount < 0 or (positive and amount == 0):
        raise ValidationError({field: _("Enter an amount above zero.") if positive else
                               _("Enter an amount of zero or more.")})
    if amount > MAX_AMOUNT:
        raise ValidationError({field: _("The amount is too large.")})
    return amount.quantize(Decimal("0.01"))


def clean_text(value, field: str, *, required: bool = False, limit: int = MAX_TEXT, message: str = "") -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if required and not text:
        raise ValidationError({field: message or _("This field is required.")})
    if len(text) > limit:
        raise ValidationError({field: _("At most %(n)d characters.") % {"n": limit}})
    if "\x00" in text or not text.isprintable() and _unencodable(text):
        raise ValidationError({field: _("The text contains characters that are not allowed.")})
    return text


def _unencodable(text: str) -> bool:
    """A lone surrogate (JSON can carry "\\ud800") cannot be stored as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def clean_choice(value, field: str, choices) -> str:
    if value not in choices.values:
        raise ValidationError({field: _("Choose one of: %(choices)s.") % {
            "choices": ", ".join(str(label) for label in choices.labels)}})
    return value
