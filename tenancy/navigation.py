"""The navigation of the base layout, per role. Later apps add their entries here."""
from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: str
    perm: str | tuple[str, ...] | None = None  # a tuple: any one of them


NAV_ITEMS = [
    NavItem("home", _("Home")),
    NavItem("reports:dashboards", _("Dashboards"),
            ("reports.view_dashboards", "reports.view_fines_dashboard", "reports.view_churn_dashboard")),
    NavItem("tickets:console", _("Console"), "tickets.change_ticket"),
    NavItem("customers:workspace", _("Sales"), "customers.view_lead"),
    NavItem("customers:list", _("Customers"), "customers.view_customer"),
    NavItem("shipments:list", _("Waybills"), "shipments.view_waybill"),
    NavItem("tickets:exceptions", _("Exceptions"), "tickets.resolve_exception"),
    NavItem("tickets:claims", _("Claims"), "tickets.view_claim"),
    NavItem("penalties:cases", _("Fines"), "penalties.view_own_fines"),
    NavItem("penalties:ledger", _("Fine ledger"), "penalties.view_ledger"),
    NavItem("tickets:kb", _("Knowledge base"), "tickets.view_kbarticle"),
    NavItem("tickets:survey_list", _("Satisfaction surveys"), "tickets.view_survey"),
    NavItem("customers:pipeline", _("Pipeline"), "customers.view_opportunity"),
    NavItem("customers:retention", _("Retention tasks"), "customers.view_retentiontask"),
    NavItem("customers:contracts", _("Contracts"), "customers.view_contract"),
    NavItem("tenancy:members", _("Users & roles"), "tenancy.manage_members"),
    NavItem("tenancy:branches", _("Branches"), "tenancy.view_branch"),
    NavItem("tenancy:rules", _("Rules"), "tenancy.manage_rules"),
    NavItem("tickets:desk", _("Service desk"), "tickets.manage_service_desk"),
    NavItem("compliance:overview", _("Compliance"), "compliance.view_compliance"),
    NavItem("compliance:access_log", _("Access log"), "compliance.view_access_log"),
    NavItem("compliance:dsr_new", _("Privacy request"), "compliance.register_dsr"),
    NavItem("compliance:consent", _("Consent"), "compliance.view_consent"),
    NavItem("tenancy:jobs", _("Background jobs"), "tenancy.view_jobs"),
    NavItem("tenancy:api_tokens", _("API tokens")),
    NavItem("api-docs", _("API docs")),
]


def navigation_for(request) -> list[dict]:
    user = request.user
    current = request.path
    items = []
    for item in NAV_ITEMS:
        perms = (item.perm,) if isinstance(item.perm, str) else item.perm or ()
        if perms and not any(user.has_perm(perm) for perm in perms):
            continue
        url = reverse(item.url_name)
        active = current == url if url == "/" else current.startswith(url)
        items.append({"url": url, "label": item.label, "active": active})
    return items
