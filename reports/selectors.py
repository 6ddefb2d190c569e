"""Reads of the reports app: one function per dashboard chart, each answering the same filter
(date range and branch subtree) with the same shape — columns, rows and how to plot them — so the
page, the JSON API and the CSV export show one set of numbers.

Shipments, tickets (complaints, appeals, SLA outcomes) and surveys are counted from the rollup
tables (reports.models), refreshed set-based by reports.services: at 10,000,000 waybills and
1,000,000 tickets, counting them live per request is far over the 300 ms budget. Claims and fines
are small enough to aggregate live through their apps' selectors (claim_list, ledger_list), which
also apply the reader's reach; churn figures come from customers.selectors.retention."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.cache import cache
from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from penalties.models import EntryKind, Tier
from penalties.selectors import ledger_list
from tenancy.models import Branch, Membership, User
from tenancy.scoping import current_tenant_id
from tickets.models import Team
from tickets.models.claims import ClaimType
from tickets.selectors.claims import claim_list

from .models import BranchDayShipments, BranchDaySurveys, BranchDayTickets
from .permissions import VIEW_CHURN, VIEW_DASHBOARDS, VIEW_FINES
from .rules import APPEALS_PER, CHURN_CACHE_MINUTES, COMPLAINTS_PER

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=16, decimal_places=2)


@dataclass(frozen=True)
class DashboardFilters:
    """Local days [start, end] (both included) and the branch whose subtree is shown (None: the
    whole company)."""

    start: dt.date
    end: dt.date
    branch: Branch | None = None
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def start_at(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.start, dt.time.min))

    @property
    def end_at(self) -> dt.datetime:
        """The first moment after the range (exclusive bound)."""
        return timezone.make_aware(dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min))

    def branch_ids(self) -> list[int] | None:
        """The ids of the branch's subtree (one query, remembered), or None for the company."""
        if self.branch is None:
            return None
        if "ids" not in self._cache:
            self._cache["ids"] = list(Branch.objects.filter(path__startswith=self.branch.path)
                                      .values_list("pk", flat=True))
        return self._cache["ids"]

    def as_dict(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "branch": self.branch.pk if self.branch else None}


def month_key(value) -> str:
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value)
    return value.strftime("%Y-%m")


def months_between(start: dt.date, end: dt.date) -> list[str]:
    keys, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return keys


def per(count: int, base: int, scale: int) -> Decimal | None:
    """`count` per `scale` of `base`, two decimals; None when there is no base to divide by."""
    if not base:
        return None
    return (Decimal(count) * scale / Decimal(base)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def percent(count: int, total: int) -> Decimal | None:
    if not total:
        return None
    return (Decimal(count) * 100 / Decimal(total)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# --- the charts ------------------------------------------------------------------------------------------

def _branch_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    return dict(Branch.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def shipments_by_branch_month(filters: DashboardFilters) -> dict[tuple[int, str], int]:
    qs = BranchDayShipments.objects.filter(day__gte=filters.start, day__lte=filters.end)
    ids = filters.branch_ids()
    if ids is not None:
        qs = qs.filter(branch_id__in=ids)
    rows = qs.order_by().annotate(month=TruncMonth("day")).values("branch_id", "month").annotate(n=Sum("shipments"))
    return {(row["branch_id"], month_key(row["month"])): row["n"] for row in rows}


def _in_branches(qs, filters: DashboardFilters):
    ids = filters.branch_ids()
    return qs.filter(branch_id__in=ids) if ids is not None else qs


def _ticket_days(filters: DashboardFilters):
    return _in_branches(BranchDayTickets.objects.filter(day__gte=filters.start, day__lte=filters.end),
                        filters).order_by()


def complaint_rates(filters: DashboardFilters, **_ignored) -> list[dict]:
    """Per branch and month: shipments picked up, complaints opened and regulator appeals (tickets
    tagged with the appeal tag), as complaints per 10,000 and appeals per million shipments. From
    the rollups (reports.services)."""
    counts = (_ticket_days(filters).filter(branch__isnull=False).annotate(month=TruncMonth("day"))
              .values("branch_id", "month").annotate(complaints=Sum("complaints"), appeals=Sum("appeals")))
    tickets = {(row["branch_id"], month_key(row["month"])): row for row in counts
               if row["complaints"] or row["appeals"]}
    shipments = shipments_by_branch_month(filters)
    keys = set(tickets) | set(shipments)
    names = _branch_names(branch for branch, _month in keys)
    rows = []
    for branch_id, month in keys:
        found = tickets.get((branch_id, month), {})
        shipped = shipments.get((branch_id, month), 0)
        complaints, appeals = found.get("complaints", 0), found.get("appeals", 0)
        rows.append({"branch_id": branch_id, "branch": names.get(branch_id, ""), "month": month,
                     "shipments": shipped, "complaints": complaints,
                     "complaint_rate": per(complaints, shipped, COMPLAINTS_PER), "appeals": appeals,
                     "appeal_rate": per(appeals, shipped, APPEALS_PER)})
    rows.sort(key=lambda r: (r["branch"], r["branch_id"], r["month"]))
    return rows


def sla_attainment(filters: DashboardFilters, **_ignored) -> list[dict]:
    """Per team, tickets opened in the range: how many met their first-response and resolution
    deadlines (a ticket whose clock has not run out yet counts as met so far) and how many broke
    them. From the tickets rollup."""
    counts = (_ticket_days(filters).values("team_id")
              .annotate(total=Sum("tickets"), fr=Sum("first_response_breaches"), rs=Sum("resolution_breaches")))
    names = dict(Team.objects.filter(pk__in=[r["team_id"] for r in counts if r["team_id"]])
                 .values_list("pk", "name"))
    rows = []
    for row in counts:
        total = row["total"]
        rows.append({"team_id": row["team_id"], "team": names.get(row["team_id"]) or str(_("No team")),
                     "tickets": total,
                     "first_response_met": percent(total - row["fr"], total), "first_response_breaches": row["fr"],
                     "resolution_met": percent(total - row["rs"], total), "resolution_breaches": row["rs"]})
    rows.sort(key=lambda r: (r["team_id"] is None, r["team"], r["team_id"] or 0))
    return rows


def survey_months(filters: DashboardFilters, kind: str) -> dict[str, dict]:
    """Per month: sent, answered, the sum of the scores and the NPS groups of `kind` surveys
    (the surveys rollup; the same counts as tickets.selectors.surveys.survey_trend)."""
    qs = _in_branches(BranchDaySurveys.objects.filter(kind=kind, day__gte=filters.start, day__lte=filters.end),
                      filters).order_by()
    rows = qs.annotate(month=TruncMonth("day")).values("month").annotate(
        sent=Sum("sent"), answered=Sum("answered"), score_total=Sum("score_total"), promoters=Sum("promoters"),
        detractors=Sum("detractors"))
    return {month_key(row["month"]): row for row in rows}


def satisfaction_trend(filters: DashboardFilters, **_ignored) -> list[dict]:
    """Per month: CSAT surveys sent and answered, response rate and average; NPS likewise with
    the score (% promoters − % detractors)."""
    csat, nps = survey_months(filters, "csat"), survey_months(filters, "nps")
    rows = []
    for month in months_between(filters.start, filters.end):
        c, n = csat.get(month, {}), nps.get(month, {})
        c_answered, n_answered = c.get("answered", 0), n.get("answered", 0)
        average = None
        if c_answered:
            average = (Decimal(c["score_total"]) / c_answered).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        score = None
        if n_answered:
            score = percent(n["promoters"], n_answered) - percent(n["detractors"], n_answered)
        rows.append({"month": month, "csat_sent": c.get("sent", 0), "csat_answered": c_answered,
                     "csat_response_rate": percent(c_answered, c.get("sent", 0)), "csat_average": average,
                     "nps_sent": n.get("sent", 0), "nps_answered": n_answered,
                     "nps_response_rate": percent(n_answered, n.get("sent", 0)), "nps": score})
    return rows


def cached_churn_risk_counts() -> dict[str, int]:
    """customers.selectors.retention.churn_risk_counts, kept a few minutes per company: it counts
    every customer (a million at benchmark size, ~250 ms), and the risks change only when the
    daily churn scan runs."""
    from customers.selectors.retention import churn_risk_counts

    key = f"reports:churn-risk-counts:{current_tenant_id()}"
    counts = cache.get(key)
    if counts is None:
        counts = churn_risk_counts()
        cache.set(key, counts, CHURN_CACHE_MINUTES.value() * 60)
    return counts


RISK_LABELS = {"low": pgettext_lazy("churn risk", "Low"), "medium": pgettext_lazy("churn risk", "Medium"),
               "high": pgettext_lazy("churn risk", "High")}


def churn_risk(filters: DashboardFilters, **_ignored) -> list[dict]:
    """Customers per churn risk level now (the latest scan), company-wide."""
    counts = cached_churn_risk_counts()
    return [{"risk": key, "label": str(label), "customers": counts.get(key, 0)} for key, label in RISK_LABELS.items()]


RETENTION_LABELS = {"retained": _("Retained"), "lost": pgettext_lazy("retention outcome", "Lost"),
                    "no_action": _("No action"),
                    "open": pgettext_lazy("retention task", "Open")}


def retention(filters: DashboardFilters, **_ignored) -> list[dict]:
    """Retention tasks closed in the range by outcome (and those open now), with the retention
    rate in percent: retained ÷ (retained + lost + no action)."""
    from customers.selectors.retention import retention_summary

    summary = retention_summary(start=filters.start, end=filters.end, branch=filters.branch)
    rate = summary.get("rate")
    rate = (rate * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if rate is not None else None
    return [{"outcome": key, "label": str(label), "tasks": summary.get(key, 0), "rate": rate}
            for key, label in RETENTION_LABELS.items()]


_APPROVED = ("approved", "partially_approved", "paid")


def claims_paid(filters: DashboardFilters, *, membership: Membership | None, **_ignored) -> list[dict]:
    """Claims filed in the range (drafts aside) by type: filed, approved, rejected, paid, and the
    amounts — the by-type part of tickets.selectors.claims.claims_report, in one query over the
    claims this member may read (tickets.selectors.claims.claim_list)."""
    qs = claim_list(membership=membership).order_by().exclude(status="draft").filter(
        created_at__gte=filters.start_at, created_at__lt=filters.end_at)
    qs = _in_branches(qs, filters)
    approved = Q(status__in=_APPROVED)
    counts = qs.values("claim_type").annotate(
        opened=Count("id"), approved=Count("id", filter=approved), rejected=Count("id", filter=Q(status="rejected")),
        paid=Count("payout"), claimed_amount=Sum("claimed_amount"),
        approved_amount=Sum("approved_amount", filter=approved), paid_amount=Sum("payout__amount"))
    found = {row["claim_type"]: row for row in counts}
    rows = []
    for claim_type in ClaimType:
        row = found.get(claim_type.value, {})
        rows.append({"claim_type": claim_type.value, "label": str(claim_type.label),
                     "opened": row.get("opened", 0), "approved": row.get("approved", 0),
                     "rejected": row.get("rejected", 0), "paid": row.get("paid", 0),
                     "claimed_amount": row.get("claimed_amount") or ZERO,
                     "approved_amount": row.get("approved_amount") or ZERO,
                     "paid_amount": row.get("paid_amount") or ZERO})
    return rows


def fines_by_tier_branch(filters: DashboardFilters, *, actor: User, membership: Membership | None,
                         **_ignored) -> list[dict]:
    """Fine ledger entries effective in the range, per branch and tier: fines issued, reduced or
    reversed, paid, and what is still owed (penalties.selectors.ledger_list, the reader's reach)."""
    qs = ledger_list(actor=actor, membership=membership, date_from=filters.start, date_to=filters.end,
                     branch=filters.branch).order_by()

    def total(*kinds):
        return Coalesce(Sum("amount", filter=Q(kind__in=kinds)), Value(ZERO), output_field=MONEY)


    counts = qs.values("branch_id", "branch__name", "tier").annotate(
        issued=total(EntryKind.FINE_ISSUED, EntryKind.REGULATOR_FINE),
        reduced=total(EntryKind.FINE_REDUCED, EntryKind.FINE_REVERSED),
        paid=total(EntryKind.PAYMENT_RECEIVED),
        balance=Coalesce(Sum("amount"), Value(ZERO), output_field=MONEY),
        entries=Count("id"))
    tiers = {value: str(label) for value, label in Tier.choices}
    order = {value: rank for rank, value in enumerate(Tier.values)}
    rows = [{"branch_id": row["branch_id"], "branch": row["branch__name"] or str(_("No branch")),
             "tier": row["tier"], "tier_label": tiers.get(row["tier"], row["tier"]), "entries": row["entries"],
             "issued": row["issued"], "reduced": row["reduced"], "paid": row["paid"], "balance": row["balance"]}
            for row in counts]
    rows.sort(key=lambda r: (r["branch"], r["branch_id"] or 0, order.get(r["tier"], 99)))
    return rows


# --- the registry the page, the API and the CSV read -----------------------------------------------------

@dataclass(frozen=True)
class Column:
    key: str
    label: str


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    perm: str
    build: object
    columns: tuple[Column, ...]
    plot: dict


def _c(key, label) -> Column:
    return Column(key, label)


CHARTS: dict[str, Chart] = {chart.key: chart for chart in (
    Chart("complaints", _("Complaints and appeals per shipments"), VIEW_DASHBOARDS, complaint_rates,
          (_c("branch", _("Branch")), _c("month", _("Month")),
           _c("shipments", pgettext_lazy("parcel count", "Shipments")),
           _c("complaints", _("Complaints")), _c("complaint_rate", _("Complaints per 10,000 shipments")),
           _c("appeals", _("Appeals")), _c("appeal_rate", _("Appeals per million shipments"))),
          {"type": "line", "x": "month", "group": "branch", "y": ["complaint_rate"]}),
    Chart("sla", _("SLA attainment by team"), VIEW_DASHBOARDS, sla_attainment,
          (_c("team", _("Team")), _c("tickets", _("Tickets")), _c("first_response_met", _("First response met (%)")),
           _c("first_response_breaches", _("First responses late")), _c("resolution_met", _("Resolution met (%)")),
           _c("resolution_breaches", _("Resolutions late"))),
          {"type": "bar", "x": "team", "y": ["first_response_met", "resolution_met"]}),
    Chart("satisfaction", _("CSAT and NPS"), VIEW_DASHBOARDS, satisfaction_trend,
          (_c("month", _("Month")), _c("csat_sent", _("CSAT sent")), _c("csat_answered", _("CSAT answered")),
           _c("csat_response_rate", _("CSAT response rate (%)")), _c("csat_average", _("CSAT average (1–5)")),
           _c("nps_sent", _("NPS sent")), _c("nps_answered", _("NPS answered")),
           _c("nps_response_rate", _("NPS response rate (%)")), _c("nps", _("NPS"))),
          {"type": "line", "x": "month", "y": ["csat_response_rate", "nps_response_rate", "nps"]}),
    Chart("churn", _("Customers by churn risk"), VIEW_CHURN, churn_risk,
          (_c("label", _("Churn risk")), _c("customers", _("Customers"))),
          {"type": "bar", "x": "label", "y": ["customers"]}),
    Chart("retention", _("Retention tasks by outcome"), VIEW_CHURN, retention,
          (_c("label", _("Outcome")), _c("tasks", _("Retention tasks")), _c("rate", _("Retention rate (%)"))),
          {"type": "bar", "x": "label", "y": ["tasks"]}),
    Chart("claims", _("Claims by type"), VIEW_DASHBOARDS, claims_paid,
          (_c("label", _("Claim type")), _c("opened", _("Claims")), _c("approved", _("Approved")),
           _c("rejected", _("Rejected")), _c("paid", _("Paid")), _c("claimed_amount", _("Claimed (CNY)")),
           _c("approved_amount", _("Approved (CNY)")), _c("paid_amount", _("Paid (CNY)"))),
          {"type": "bar", "x": "label", "y": ["paid_amount"]}),
    Chart("fines", _("Fines by tier and branch"), VIEW_FINES, fines_by_tier_branch,
          (_c("branch", _("Branch")), _c("tier_label", _("Tier")), _c("entries", _("Ledger entries")),
           _c("issued", _("Issued (CNY)")), _c("reduced", _("Reduced or reversed (CNY)")),
           _c("paid", _("Paid (CNY)")), _c("balance", _("Still owed (CNY)"))),
          {"type": "bar", "x": "branch", "group": "tier_label", "y": ["issued"], "stacked": True}),
)}


def charts_for(user: User) -> list[Chart]:
    """The charts this user may see, in page order."""
    return [chart for chart in CHARTS.values() if user.has_perm(chart.perm)]


def chart_data(chart: Chart, filters: DashboardFilters, *, actor: User, membership: Membership | None) -> dict:
    """One chart's numbers under the filter: its columns, rows and plot hints."""
    rows = chart.build(filters, actor=actor, membership=membership)
    return {"chart": chart.key, "title": str(chart.title), "filters": filters.as_dict(),
            "columns": [{"key": c.key, "label": str(c.label)} for c in chart.columns],
            "rows": rows, "plot": chart.plot}


# --- the role home pages ---------------------------------------------------------------------------------

def branch_kpis(*, start: dt.date, end: dt.date, branch: Branch | None) -> dict:
    """The headline numbers of a branch subtree (or the company) for [start, end]: shipments,
    complaints per 10,000, first-response and resolution SLA met, and the CSAT average — from the
    rollups, a handful of small sums."""
    filters = DashboardFilters(start=start, end=end, branch=branch)
    shipments = _in_branches(BranchDayShipments.objects.filter(day__gte=start, day__lte=end), filters).aggregate(
        n=Sum("shipments"))["n"] or 0
    tickets = _ticket_days(filters).aggregate(total=Sum("tickets"), complaints=Sum("complaints"),
                                              fr=Sum("first_response_breaches"), rs=Sum("resolution_breaches"))
    total, complaints = tickets["total"] or 0, tickets["complaints"] or 0
    csat = _in_branches(BranchDaySurveys.objects.filter(kind="csat", day__gte=start, day__lte=end),
                        filters).aggregate(answered=Sum("answered"), score_total=Sum("score_total"))
    answered = csat["answered"] or 0
    average = ((Decimal(csat["score_total"]) / answered).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
               if answered else None)
    return {"start": start, "end": end, "shipments": shipments, "complaints": complaints,
            "complaint_rate": per(complaints, shipments, COMPLAINTS_PER), "tickets": total,
            "first_response_met": percent(total - (tickets["fr"] or 0), total),
            "resolution_met": percent(total - (tickets["rs"] or 0), total),
            "csat_answered": answered, "csat_average": average}


def role_home_slices(*, user: User, membership: Membership) -> dict:
    """What each role's home page adds from the dashboards (tenancy.views.home): an agent's CSAT,
    a branch manager's branch KPIs this month, an executive's company KPIs and churn counts, an
    auditor's ledger chain and data-request clocks. Keys are absent when the role has no slice."""
    from tenancy.models import Role

    slices: dict = {}
    today = timezone.localdate()
    month_start = today.replace(day=1)
    if membership.role == Role.AGENT and user.has_perm("tickets.view_ticket"):
        from tickets.selectors.surveys import agent_csat

        slices["my_csat"] = agent_csat(membership=membership)
    if membership.role == Role.BRANCH_MANAGER and user.has_perm(VIEW_DASHBOARDS):
        slices["branch_kpis"] = branch_kpis(start=month_start, end=today, branch=membership.branch)
    if membership.role == Role.EXECUTIVE and user.has_perm(VIEW_DASHBOARDS):
        slices["headline_kpis"] = branch_kpis(start=month_start, end=today, branch=None)
        if user.has_perm(VIEW_CHURN):
            slices["headline_kpis"]["churn"] = cached_churn_risk_counts()
    if membership.role == Role.AUDITOR:
        status: dict = {}
        if user.has_perm("penalties.view_ledger"):
            from penalties.selectors import chain_status

            status["chain"] = chain_status()
        if user.has_perm("compliance.view_compliance"):
            from compliance.selectors.requests import dsr_overview

            status["requests"] = dsr_overview()
        if status:
            slices["audit_status"] = status
    return slices
