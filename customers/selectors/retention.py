"""Reads of churn risk and retention tasks: the work lists, one task, the customer 360 panel,
the retention rate and risk counts the dashboards show, a sales manager's accounts' health, and
the churn reasons said in words."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tenancy.models import Branch, Membership

from ..models import (
    ChurnAlert,
    ChurnRisk,
    Customer,
    CustomerStatus,
    RetentionOutcome,
    RetentionStatus,
    RetentionTask,
    SalesTeamMember,
)

RETENTION_TABS = ("mine", "team", "open", "closed")


def _team_ids(membership: Membership | None) -> list[int]:
    if membership is None:
        return []
    return list(SalesTeamMember.objects.filter(membership=membership).values_list("team_id", flat=True))


def retention_task_list(*, membership: Membership | None, tab: str = "mine", risk: str = "",
                        overdue: bool = False, today: dt.date | None = None) -> QuerySet[RetentionTask]:
    """One tab of the retention work list: `mine` (open, assigned to me), `team` (open, waiting in a
    queue of one of my teams), `open` (every open task), `closed` (every closed task, newest
    first). `risk` filters on the customer's current risk; `overdue` keeps open tasks past due."""
    qs = RetentionTask.objects.select_related("customer__churn", "assignee__user", "team", "alert")
    if tab == "mine":
        qs = qs.filter(status=RetentionStatus.OPEN, assignee=membership)
    elif tab == "team":
        qs = qs.filter(status=RetentionStatus.OPEN, assignee__isnull=True, team_id__in=_team_ids(membership))
    elif tab == "closed":
        qs = qs.filter(status=RetentionStatus.DONE).order_by("-closed_at", "-id")
    else:
        qs = qs.filter(status=RetentionStatus.OPEN)
    if risk:
        # no churn row means low (never a signal)
        qs = qs.filter(Q(customer__churn__risk=risk) | Q(customer__churn__isnull=True)) if risk == ChurnRisk.LOW \
            else qs.filter(customer__churn__risk=risk)
    if overdue:
        qs = qs.filter(status=RetentionStatus.OPEN, due_date__lt=today or timezone.localdate())
    return qs


def retention_tab_counts(*, membership: Membership | None) -> dict[str, int]:
    """How many tasks each tab holds (one query)."""
    teams = _team_ids(membership)
    open_ = Q(status=RetentionStatus.OPEN)
    return RetentionTask.objects.aggregate(
        mine=Count("id", filter=open_ & Q(assignee=membership)),
        team=Count("id", filter=open_ & Q(assignee__isnull=True, team_id__in=teams)),
        open=Count("id", filter=open_),
        closed=Count("id", filter=Q(status=RetentionStatus.DONE)),
    )


def retention_task_get(*, pk: int) -> RetentionTask:
    """One task with its customer, alert, people and team; another tenant's is 404."""
    return get_object_or_404(RetentionTask.objects.select_related(
        "customer__churn", "alert", "assignee__user", "team", "closed_by"), pk=pk)


@dataclass
class ChurnPanel:
    customer: Customer
    reasons: list[str]
    open_task: RetentionTask | None
    alerts: list[ChurnAlert]


def churn_reasons(customer: Customer) -> list[dict]:
    """The customer's stored churn reasons; none without a churn row (low, never a signal)."""
    churn = getattr(customer, "churn", None)
    return churn.reasons if churn is not None else []


def customer_churn_panel(*, customer: Customer, alerts: int = 10) -> ChurnPanel:
    """The customer 360's churn card: the current reasons in words, the open task and the recent
    alerts (one query: each alert with its task)."""
    rows = list(ChurnAlert.objects.filter(customer=customer).select_related("task__assignee__user", "task__team")
                .order_by("-raised_on", "-id")[:alerts])
    open_task = next((a.task for a in rows if hasattr(a, "task") and a.task.status == RetentionStatus.OPEN), None)
    return ChurnPanel(customer=customer, reasons=reason_sentences(churn_reasons(customer)),
                      open_task=open_task, alerts=rows)


def _rate(retained: int, lost: int, no_action: int) -> Decimal | None:
    decided = retained + lost + no_action
    if not decided:
        return None
    return (Decimal(retained) / decided).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _local_day_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    return (dt.datetime.combine(start, dt.time.min, tzinfo=tz),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz))


def retention_summary(*, start: dt.date, end: dt.date, branch: Branch | None = None) -> dict:
    """Tasks open now, and the outcomes of tasks closed between `start` and `end` (inclusive,
    local days); `rate` = retained / (retained + lost + no action), None when none was closed.
    With `branch`, only tasks assigned to members of that branch's subtree."""
    since, until = _local_day_bounds(start, end)
    qs = RetentionTask.objects.all()
    if branch is not None:
        qs = qs.filter(assignee__branch__path__startswith=branch.path)
    closed = Q(status=RetentionStatus.DONE, closed_at__gte=since, closed_at__lt=until)
    counts = qs.aggregate(
        open=Count("id", filter=Q(status=RetentionStatus.OPEN)),
        retained=Count("id", filter=closed & Q(outcome=RetentionOutcome.RETAINED)),
        lost=Count("id", filter=closed & Q(outcome=RetentionOutcome.LOST)),
        no_action=Count("id", filter=closed & Q(outcome=RetentionOutcome.NO_ACTION)),
    )
    counts["rate"] = _rate(counts["retained"], counts["lost"], counts["no_action"])
    return counts


def retention_rate(start: dt.date, end: dt.date, branch: Branch | None = None) -> Decimal | None:
    """Retained / (retained + lost + no action) of the tasks closed in the range (0–1), or None."""
    return retention_summary(start=start, end=end, branch=branch)["rate"]


def churn_risk_counts() -> dict[str, int]:
    """Customers (not merged) per current churn risk; customers without a churn row (never a
    signal) count as low."""
    counts = Customer.objects.exclude(status=CustomerStatus.MERGED).aggregate(
        high=Count("id", filter=Q(churn__risk=ChurnRisk.HIGH)),
        medium=Count("id", filter=Q(churn__risk=ChurnRisk.MEDIUM)),
        all=Count("id"),
    )
    return {"low": counts["all"] - counts["high"] - counts["medium"], "medium": counts["medium"],
            "high": counts["high"]}


def my_accounts_health(membership: Membership, *, top: int = 5) -> dict:
    """A sales manager's slice: how many of the customers they own are at each risk, the riskiest
    ones (high first, by score) and their open retention tasks."""
    owned = Customer.objects.filter(owner=membership).exclude(status=CustomerStatus.MERGED)
    counts = owned.aggregate(high=Count("id", filter=Q(churn__risk=ChurnRisk.HIGH)),
                             medium=Count("id", filter=Q(churn__risk=ChurnRisk.MEDIUM)), all=Count("id"))
    # churn_score as an attribute of each customer, as the sales home template reads it
    riskiest = list(owned.filter(churn__risk=ChurnRisk.HIGH).select_related("churn")
                    .annotate(churn_score=F("churn__score")).order_by("-churn__score", "-id")
                    .only("id", "number", "name", "kind", "churn__risk", "churn__score", "churn__reasons")[:top])
    return {
        "counts": {"low": counts["all"] - counts["high"] - counts["medium"], "medium": counts["medium"],
                   "high": counts["high"]},
        "total": counts["all"],
        "top_high_risk": riskiest,
        "open_tasks": RetentionTask.objects.filter(assignee=membership, status=RetentionStatus.OPEN).count(),
    }


def reason_sentence(reason: dict) -> str:
    """One churn reason (as the scan stores it) said in the reader's language."""
    code = reason.get("code")
    if code == "volume_drop":
        return _("Parcels in the last %(days)s days: %(recent)s, against %(baseline)s per %(days)s days before "
                 "— down %(drop)s %%.") % {"days": reason.get("days", 30), "recent": reason.get("recent"),
                                           "baseline": reason.get("baseline"), "drop": reason.get("drop_pct")}
    if code == "open_complaints":
        count = reason.get("count") or 0
        return ngettext("%(count)s complaint is still unresolved.", "%(count)s complaints are still unresolved.",
                        count) % {"count": count}
    if code == "low_satisfaction":
        count = reason.get("count") or 0
        scores = []
        if reason.get("csat") is not None:
            scores.append(_("lowest CSAT %(score)s of 5") % {"score": reason["csat"]})
        if reason.get("nps") is not None:
            scores.append(_("lowest NPS %(score)s of 10") % {"score": reason["nps"]})
        return ngettext("%(count)s low satisfaction answer in the last %(days)s days (%(scores)s).",
                        "%(count)s low satisfaction answers in the last %(days)s days (%(scores)s).", count) % {
            "count": count, "days": reason.get("days", 30), "scores": ", ".join(scores)}
    if code == "claims_paid":
        count = reason.get("count") or 0
        return ngettext("%(count)s claim paid in the last %(days)s days, %(amount)s CNY in all.",
                        "%(count)s claims paid in the last %(days)s days, %(amount)s CNY in all.", count) % {
            "count": count, "days": reason.get("days", 30), "amount": reason.get("amount")}
    if code == "under_commitment":
        return _("Parcels in the last 30 days: %(recent)s, against a contract commitment of %(commitment)s a "
                 "month — %(short)s %% short.") % {"recent": reason.get("recent"),
                                                   "commitment": reason.get("commitment"),
                                                   "short": reason.get("shortfall_pct")}
    return _("Other signal: %(code)s") % {"code": code}


def reason_sentences(reasons: list[dict]) -> list[str]:
    return [reason_sentence(reason) for reason in reasons if isinstance(reason, dict)]
