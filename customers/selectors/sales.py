"""Reads of the sales flow. Leads and opportunities are filtered to what the actor may see:
their own and their team's (django-guardian object rights), or all with
`customers.view_all_leads`."""
from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from tenancy.models import User

from ..models import Activity, Customer, CustomerKind, CustomerStatus, Lead, LeadStatus, Opportunity, SalesTeam
from ..models.sales import OPEN_STAGES, OpportunityStage


def _visible(actor: User, qs: QuerySet, perm: str) -> QuerySet:
    if not actor.has_perm(perm):
        return qs.none()
    if actor.has_perm("customers.view_all_leads"):
        return qs
    return get_objects_for_user(actor, perm, klass=qs, accept_global_perms=False, with_superuser=False)


def lead_list(*, actor: User, status: str = "", owner_id: int | None = None, search: str = "",
              unassigned: bool = False, open_only: bool = False) -> QuerySet[Lead]:
    qs = Lead.objects.select_related("owner__user", "team").order_by("-id")
    qs = _visible(actor, qs, "customers.view_lead")
    if status:
        qs = qs.filter(status=status)
    if open_only:
        qs = qs.exclude(status__in=[LeadStatus.QUALIFIED, LeadStatus.DISQUALIFIED])
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if unassigned:
        qs = qs.filter(owner__isnull=True)
    if search.strip():
        qs = qs.filter(company_name__icontains=search.strip())
    return qs


def lead_get(*, actor: User, pk: int) -> Lead:
    lead = lead_list(actor=actor).filter(pk=pk).select_related("customer").first()
    if lead is None:
        raise Http404
    return lead


def opportunity_list(*, actor: User, stage: str = "", owner_id: int | None = None, customer_id: int | None = None,
                     open_only: bool = False, search: str = "") -> QuerySet[Opportunity]:
    qs = Opportunity.objects.select_related("owner__user", "customer", "team").order_by("-id")
    qs = _visible(actor, qs, "customers.view_opportunity")
    if stage:
        qs = qs.filter(stage=stage)
    if open_only:
        qs = qs.filter(stage__in=OPEN_STAGES)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if search.strip():
        qs = qs.filter(name__icontains=search.strip())
    return qs


def opportunity_get(*, actor: User, pk: int) -> Opportunity:
    opportunity = (opportunity_list(actor=actor).filter(pk=pk)
                   .select_related("lead", "contract").prefetch_related("quote_lines").first())
    if opportunity is None:
        raise Http404
    return opportunity


def pipeline_board(*, actor: User, owner_id: int | None = None, closed_days: int = 30) -> list[dict]:
    """Columns of the pipeline board: open stages, plus deals won / lost in the last N days."""
    since = timezone.now() - dt.timedelta(days=closed_days)
    qs = opportunity_list(actor=actor, owner_id=owner_id).filter(
        Q(stage__in=OPEN_STAGES) | Q(closed_at__gte=since))
    columns = {stage: [] for stage in OpportunityStage.values}
    for opportunity in qs.order_by("-expected_monthly_revenue", "-id")[:500]:
        columns[opportunity.stage].append(opportunity)
    return [{"stage": stage, "label": OpportunityStage(stage).label, "cards": cards,
             "total": sum((c.expected_monthly_revenue for c in cards), start=0)}
            for stage, cards in columns.items()]


def activity_list(*, lead: Lead | None = None, opportunity: Opportunity | None = None,
                  customer: Customer | None = None) -> QuerySet[Activity]:
    qs = Activity.objects.select_related("owner__user").order_by("-occurred_at", "-id")
    if lead is not None:
        qs = qs.filter(lead=lead)
    if opportunity is not None:
        qs = qs.filter(opportunity=opportunity)
    if customer is not None:
        qs = qs.filter(customer=customer)
    return qs


def followups_due(*, membership, today: dt.date | None = None) -> dict:
    """The member's open next actions: overdue, due today, and the next 7 days."""
    today = today or timezone.localdate()
    qs = (Activity.objects.filter(owner=membership, next_action_date__isnull=False, next_action_done_at__isnull=True,
                                  next_action_date__lte=today + dt.timedelta(days=7))
          .select_related("lead", "opportunity", "customer").order_by("next_action_date", "id"))
    rows = list(qs[:200])
    return {
        "overdue": [a for a in rows if a.next_action_date < today],
        "today": [a for a in rows if a.next_action_date == today],
        "upcoming": [a for a in rows if a.next_action_date > today],
    }


def my_accounts_with_trend(*, owner_id: int, weeks: int = 12, limit: int = 50) -> list[dict]:
    """The owner's B-end accounts with parcels per week over the last `weeks` weeks (one query
    for the accounts, one for all their volumes)."""
    from shipments.selectors import weekly_parcels

    accounts = list(Customer.objects.filter(owner_id=owner_id, kind=CustomerKind.ACCOUNT).select_related("churn")
                    .exclude(status=CustomerStatus.MERGED).order_by("name")[:limit])
    series = weekly_parcels(customer_ids=[a.pk for a in accounts], weeks=weeks)
    rows = []
    for account in accounts:
        points = series.get(account.pk, [0] * weeks)
        # Complete weeks only: the current week has just begun.
        recent, earlier = sum(points[-5:-1]), sum(points[-9:-5])
        change = None if not earlier else round(100 * (recent - earlier) / earlier)
        rows.append({"account": account, "points": points, "last4": recent, "change_pct": change})
    return rows


def sales_team_list() -> QuerySet[SalesTeam]:
    return (SalesTeam.objects.select_related("leader__user")
            .prefetch_related("team_members__membership__user")
            .annotate(open_leads=Count("leads", filter=~Q(leads__status__in=["qualified", "disqualified"])))
            .order_by("priority", "id"))

