"""Small display helpers of the fines pages."""
from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

register = template.Library()

_STATUS = {
    "proposed": "text-bg-warning", "confirmed": "text-bg-danger", "appealed": "text-bg-info",
    "upheld": "text-bg-danger", "reduced": "text-bg-primary", "overturned": "text-bg-success",
    "settled": "text-bg-secondary", "voided": "text-bg-light border",
}
_TIER = {"minor": "text-bg-light border", "general": "text-bg-warning", "serious": "text-bg-danger"}


@register.filter
def fine_badge(status: str) -> str:
    return _STATUS.get(status, "text-bg-light border")


@register.filter
def tier_badge(tier: str) -> str:
    return _TIER.get(tier, "text-bg-light border")


@register.filter
def short_hash(value) -> str:
    """The first 12 hex digits of a hash (the full value is in the title attribute)."""
    text = bytes(value).hex() if isinstance(value, bytes | memoryview) else str(value or "")
    return text[:12]


@register.filter
def hex_of(value) -> str:
    return bytes(value).hex() if isinstance(value, bytes | memoryview) else str(value or "")


@register.simple_tag
def signed_amount(amount):
    """An entry's amount with its sign, coloured: issued adds to what is owed, the rest takes from it."""
    css = "text-danger" if amount > 0 else "text-success"
    return format_html('<span class="{}">{}{}</span>', css, "+" if amount > 0 else "", amount)


@register.simple_tag
def chain_state_label(state: str) -> str:
    return {"intact": _("Chain intact"), "broken": _("Chain broken"), "unverified": _("Not verified yet")}.get(
        state, state)


@register.filter
def case_status_label(value: str) -> str:
    from ..models import CaseStatus

    return str(CaseStatus(value).label) if value in CaseStatus.values else value


@register.filter
def tier_label(value: str) -> str:
    from ..models import Tier

    return str(Tier(value).label) if value in Tier.values else value


@register.filter
def type_name(row: dict) -> str:
    """The violation's name in the page's language, from a totals row."""
    from django.utils import translation

    english = (translation.get_language() or "").startswith("en")
    return row.get("violation_type__name_en") if english and row.get("violation_type__name_en") else row.get(
        "violation_type__name_zh", "")
