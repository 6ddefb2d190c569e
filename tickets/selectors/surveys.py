"""Reads of satisfaction surveys: the staff list and the ticket's panel, the public page's lookup,
and the monthly trends and an agent's CSAT the reports read (DOMAIN.md §7).

Response rate = answered / sent (a survey counts as sent in the month of its sent_at). NPS =
%promoters (9–10) − %detractors (0–6) of the answers; CSAT average of the 1–5 answers."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from tenancy.models import Branch, Membership, Role

from ..models import Survey, SurveyKind, SurveyStatus, Ticket

TWO_PLACES = Decimal("0.01")
ONE_PLACE = Decimal("0.1")


class ScoreBand:
    """The list's score filter: the same bands as the follow-up rule and the NPS groups."""

    LOW = "low"          # CSAT ≤ 2 / NPS detractor 0–6
    MIDDLE = "middle"    # CSAT 3 / NPS passive 7–8
    HIGH = "high"        # CSAT 4–5 / NPS promoter 9–10
    NONE = "none"        # not answered

    @staticmethod
    def q(band: str) -> Q:
        return {
            ScoreBand.LOW: Q(kind=SurveyKind.CSAT, score__lte=2) | Q(kind=SurveyKind.NPS, score__lte=6),
            ScoreBand.MIDDLE: Q(kind=SurveyKind.CSAT, score=3) | Q(kind=SurveyKind.NPS, score__in=(7, 8)),
            ScoreBand.HIGH: Q(kind=SurveyKind.CSAT, score__gte=4) | Q(kind=SurveyKind.NPS, score__gte=9),
            ScoreBand.NONE: Q(score__isnull=True),
        }[band]


def _branch_subtree_q(membership: Membership | None) -> Q:
    """A branch manager sees the surveys of their branch subtree; everybody else the tenant's."""
    if membership is None or membership.role != Role.BRANCH_MANAGER or membership.branch_id is None:
        return Q()
    return Q(branch__path__startswith=membership.branch.path)


def survey_list(*, membership: Membership | None = None, kind: str | None = None, status: str | None = None,
                band: str | None = None, date_from: dt.date | None = None, date_to: dt.date | None = None,
                branch_id: int | None = None) -> QuerySet[Survey]:
    qs = Survey.objects.filter(_branch_subtree_q(membership))
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if band:
        qs = qs.filter(ScoreBand.q(band))
    if date_from:
        qs = qs.filter(created_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(created_at__date__lte=date_to)
    if branch_id:
        qs = qs.filter(branch_id=branch_id)
    return (qs.select_related("ticket", "waybill", "customer", "branch", "follow_up_ticket")
            .order_by("-created_at", "-id"))


def survey_get(*, pk: int, membership: Membership | None = None) -> Survey | None:
    return survey_list(membership=membership).filter(pk=pk).first()


def survey_for_ticket(ticket: Ticket) -> Survey | None:
    """The CSAT survey of a ticket (the ticket page's panel)."""
    return (Survey.objects.filter(kind=SurveyKind.CSAT, ticket=ticket).select_related("follow_up_ticket")
            .first())


def survey_by_public_id(public_id) -> Survey | None:
    """The public page's lookup (inside the link's tenant scope)."""
    return Survey.objects.filter(public_id=public_id).select_related("ticket").first()


def survey_branch_choices() -> list[tuple[int, str]]:
    return list(Branch.objects.order_by("path").values_list("pk", "name"))


def _percent(part: int, whole: int, quantum: Decimal = ONE_PLACE) -> Decimal:
    if not whole:
        return Decimal("0").quantize(quantum)
    return (Decimal(part) * 100 / Decimal(whole)).quantize(quantum, rounding=ROUND_HALF_UP)


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    month, last, out = start.replace(day=1), end.replace(day=1), []
    while month <= last:
        out.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return out


def survey_trend(*, kind: str, start: dt.date, end: dt.date, branch_ids: list[int] | None = None) -> list[dict]:
    """One row per month from `start` to `end` (inclusive, by sent_at in the local time zone):
    month, sent, answered, response_rate (Decimal %), and for CSAT `average`, for NPS `promoters`,
    `passives`, `detractors` and `nps` (Decimal). Two grouped queries whatever the range."""
    tz = timezone.get_current_timezone()
    since = dt.datetime.combine(start.replace(day=1), dt.time.min, tzinfo=tz)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    base = Survey.objects.filter(kind=kind, sent_at__gte=since, sent_at__lt=until)
    if branch_ids is not None:
        base = base.filter(branch_id__in=branch_ids)
    rows = {
        r["month"].date() if isinstance(r["month"], dt.datetime) else r["month"]: r
        for r in base.annotate(month=TruncMonth("sent_at", tzinfo=tz)).values("month").annotate(
            sent=Count("id"), answered=Count("id", filter=Q(answered_at__isnull=False)),
            average=Avg("score", filter=Q(answered_at__isnull=False)),
            promoters=Count("id", filter=Q(answered_at__isnull=False, score__gte=9)),
            passives=Count("id", filter=Q(answered_at__isnull=False, score__in=(7, 8))),
            detractors=Count("id", filter=Q(answered_at__isnull=False, score__lte=6)),
        ).order_by("month")
    }
    out = []
    for month in _months(start, end):
        r = rows.get(month, {})
        sent, answered = r.get("sent", 0), r.get("answered", 0)
        row = {"month": month, "sent": sent, "answered": answered, "response_rate": _percent(answered, sent)}
        if kind == SurveyKind.CSAT:
            average = r.get("average")
            row["average"] = (Decimal(str(average)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
                              if average is not None else None)
        else:
            promoters, passives, detractors = r.get("promoters", 0), r.get("passives", 0), r.get("detractors", 0)
            row.update(promoters=promoters, passives=passives, detractors=detractors,
                       nps=_percent(promoters, answered) - _percent(detractors, answered))
        out.append(row)
    return out


def agent_csat(*, membership: Membership, days: int = 30) -> dict:
    """CSAT answers of the last `days` days about tickets this member was the assignee of."""
    since = timezone.now() - dt.timedelta(days=days)
    result = Survey.objects.filter(kind=SurveyKind.CSAT, ticket__assignee=membership, answered_at__gte=since,
                                   status=SurveyStatus.ANSWERED).aggregate(answered=Count("id"), average=Avg("score"))
    average = result["average"]
    return {"answered": result["answered"],
            "average": Decimal(str(average)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP) if average is not None
            else None}
