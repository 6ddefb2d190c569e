"""`{% sales_health %}`: a sales manager's accounts by churn risk, for the sales workspace page
(the page's view stays as it is; the tag reads the slice for the active membership)."""
from __future__ import annotations

from django import template

register = template.Library()


@register.inclusion_tag("reports/_sales_health.html", takes_context=True)
def sales_health(context) -> dict:
    from customers.selectors.retention import my_accounts_health
    from tenancy.models import Role

    request = context.get("request")
    membership = getattr(request, "membership", None)
    if membership is None or membership.role != Role.SALES_MANAGER:
        return {"health": None}
    return {"health": my_accounts_health(membership)}
