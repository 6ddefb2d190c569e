"""Checks of business identifiers entered by hand or imported."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# GB 32100-2015: 18 characters from this alphabet (no I, O, S, V, Z); the last is a check
# character computed with weights 3^i mod 31 over the first 17.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = [pow(3, i, 31) for i in range(17)]


def credit_code_check_char(first17: str) -> str:
    total = sum(CREDIT_CODE_ALPHABET.index(ch) * w for ch, w in zip(first17, _WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def normalize_credit_code(value: str) -> str:
    """The unified social credit code in canonical form; raises ValidationError when the length,
    the characters or the check character are wrong."""
    code = "".join((value or "").split()).upper()
    if not code:
        return ""
    if len(code) != 18:
        raise ValidationError(_("A unified social credit code has 18 characters."), code="credit_code_length")
    bad = sorted({ch for ch in code if ch not in CREDIT_CODE_ALPHABET})
    if bad:
        raise ValidationError(_("These characters cannot appear in a credit code: %(chars)s") % {
            "chars": " ".join(bad)}, code="credit_code_chars")
    if credit_code_check_char(code[:17]) != code[17]:
        raise ValidationError(_("The credit code's check character is wrong — please check for a typo."),
                              code="credit_code_check")
    return code
