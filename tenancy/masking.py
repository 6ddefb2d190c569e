"""Masking for display (GB/T 41833-2022 privacy waybills, DOMAIN.md §6).

Two modes: "screen" (lists and pages) and "print" (printed / exported material, stricter).
- name: at least one character hidden (张*、张*明、J*** S****);
- phone: screen shows the first 3 and last 4 of a mainland mobile (138****5678); print hides
  all but the last 4;
- ID number: first 3 and last 4 kept on screen, last 4 only in print;
- address: every digit hidden (house, building, unit and room numbers); the region and street
  names stay readable so an agent can still confirm the area;
- email: first character of the local part and the domain.
"""
from __future__ import annotations

import re

import phonenumbers

MASK = "*"
_DIGIT = re.compile(r"\d")


def mask_name(value: str | None, mode: str = "screen") -> str:
    if not value:
        return ""
    words = value.split()
    if len(words) > 1:  # Latin-script names: mask each word after its first letter
        return " ".join(w[0] + MASK * max(len(w) - 1, 1) for w in words)
    if len(value) == 1:
        return MASK
    if len(value) == 2:
        return value[0] + MASK
    return value[0] + MASK * (len(value) - 2) + value[-1]


def _national_digits(value: str) -> tuple[str, str]:
    if value.startswith("+86") and len(value) == 14 and value[3:].isdigit():
        return "+86", value[3:]  # stored mainland mobiles (E.164): no parse needed on every list row
    try:
        parsed = phonenumbers.parse(value, "CN")
        return f"+{parsed.country_code}", str(parsed.national_number)
    except phonenumbers.NumberParseException:
        return "", re.sub(r"\D", "", value)


def mask_phone(value: str | None, mode: str = "screen") -> str:
    if not value:
        return ""
    country, digits = _national_digits(value)
    prefix = "" if country in ("+86", "") else country + " "
    if len(digits) <= 4:
        return prefix + MASK * len(digits)
    if mode == "print" or len(digits) < 11:
        return prefix + MASK * (len(digits) - 4) + digits[-4:]
    return prefix + digits[:3] + MASK * (len(digits) - 7) + digits[-4:]


def mask_id_number(value: str | None, mode: str = "screen") -> str:
    if not value:
        return ""
    if mode == "print" or len(value) < 10:
        return MASK * (len(value) - 4) + value[-4:]
    return value[:3] + MASK * (len(value) - 7) + value[-4:]


def mask_address(value: str | None, mode: str = "screen") -> str:
    if not value:
        return ""
    return _DIGIT.sub(MASK, value)


def mask_email(value: str | None, mode: str = "screen") -> str:
    if not value:
        return ""
    local, _, domain = value.partition("@")
    if not domain:
        return mask_name(value)
    return (local[:1] or "") + MASK * 3 + "@" + domain


def mask_account(value: str | None, mode: str = "screen") -> str:
    """A bank card, Alipay or WeChat account: only its last four characters, so two accounts can
    be told apart (as banks print them)."""
    if not value:
        return ""
    tail = value[-4:] if len(value) > 6 else ""
    return MASK * 6 + tail


MASKERS = {
    "phone": mask_phone,
    "email": mask_email,
    "id_number": mask_id_number,
    "address": mask_address,
    "name": mask_name,
    "text": lambda value, mode="screen": MASK * 6 if value else "",
    "account": mask_account,
}


def mask(kind: str, value: str | None, mode: str = "screen") -> str:
    return MASKERS[kind](value, mode)
