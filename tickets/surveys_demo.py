"""Demo satisfaction surveys of a company (call from `manage.py seed_demo` after the demo tickets
and waybills exist): answered CSAT and NPS surveys made shortly after their ticket closed or
their parcel was delivered, a few detractors with their follow-up tickets, and some surveys still pending
or sent. Phone numbers are made-up 138 numbers; consent is not consulted here because
these rows stand for surveys already sent in the past."""
from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from shipments.models import Waybill, WaybillStatus
from tenancy.scoping import tenant_scope

from .models import DONE_STATUSES, Survey, SurveyChannel, SurveyKind, SurveyStatus, Ticket
from .services.surveys import _follow_up_open

CSAT_WEIGHTS = [(5, 45), (4, 30), (3, 12), (2, 8), (1, 5)]
NPS_WEIGHTS = [(10, 25), (9, 22), (8, 18), (7, 12), (6, 8), (5, 6), (3, 5), (0, 4)]
ANSWER_SHARE = 0.6
FOLLOW_UPS = 3
COMMENTS = ["快递员态度很好", "比预计晚了一天", "客服回复很及时", "包装有点破", ""]


def _pick(rng: random.Random, weights) -> int:
    values, w = zip(*weights, strict=True)
    return rng.choices(values, weights=w)[0]


def seed_surveys_demo(tenant) -> dict:
    """Create the demo surveys of `tenant` (skips tickets and waybills that have one already)."""
    rng = random.Random(f"surveys-{tenant.pk}")  # noqa: S311 (demo data, reproducible)
    now = timezone.now()
    made = {"csat": 0, "nps": 0, "follow_ups": 0}
    with tenant_scope(tenant):
        tickets = list(Ticket.objects.filter(surveys__isnull=True, merged_into__isnull=True,
                                             status__in=DONE_STATUSES).order_by("id")[:120])
        waybills = list(Waybill.objects.filter(status=WaybillStatus.DELIVERED)
                        .exclude(pk__in=Survey.objects.filter(kind=SurveyKind.NPS).values("waybill_id"))
                        .order_by("id")[:200])
        rows = []
        for i, ticket in enumerate(tickets):
            done_at = ticket.closed_at or ticket.resolved_at or ticket.updated_at
            rows.append(_row(rng, now, i, SurveyKind.CSAT, after=done_at, ticket=ticket, branch_id=ticket.branch_id,
                             customer_id=ticket.customer_id))
        for i, waybill in enumerate(waybills):
            rows.append(_row(rng, now, i, SurveyKind.NPS, after=waybill.delivered_at or waybill.status_at or now,
                             waybill=waybill, branch_id=waybill.destination_branch_id, customer_id=waybill.receiver_id))
        Survey.objects.bulk_create(rows, ignore_conflicts=True)
        made["csat"] = sum(1 for r in rows if r.kind == SurveyKind.CSAT)
        made["nps"] = len(rows) - made["csat"]
        low = (Survey.objects.filter(status=SurveyStatus.ANSWERED, follow_up_ticket__isnull=True)
               .filter(kind=SurveyKind.CSAT, score__lte=2).select_related("ticket").order_by("-answered_at")
               [:FOLLOW_UPS])
        for survey in low:
            follow_up = _follow_up_open(survey, now=survey.answered_at)
            Survey.objects.filter(pk=survey.pk).update(follow_up_ticket=follow_up)
            made["follow_ups"] += 1
    return made


def _row(rng: random.Random, now: dt.datetime, i: int, kind: str, *, after: dt.datetime, **subject) -> Survey:
    """A survey made shortly after its ticket closed or its parcel was delivered (`after`)."""
    created = min(now, after + dt.timedelta(minutes=rng.randint(5, 120)))
    survey = Survey(kind=kind, channel=SurveyChannel.SMS, phone=f"+86138{rng.randint(0, 99999999):08d}",
                    created_at=created, **subject)
    if i % 10 == 0 and created > now - dt.timedelta(days=2):
        return survey  # still waiting to be sent
    survey.status = SurveyStatus.SENT
    survey.attempts = 1
    survey.sent_at = min(now, created + dt.timedelta(minutes=rng.randint(1, 30)))
    survey.expires_at = survey.sent_at + dt.timedelta(days=14)
    if rng.random() < ANSWER_SHARE:
        survey.status = SurveyStatus.ANSWERED
        survey.score = _pick(rng, CSAT_WEIGHTS if kind == SurveyKind.CSAT else NPS_WEIGHTS)
        survey.comment = rng.choice(COMMENTS)
        survey.answered_at = min(now, survey.sent_at + dt.timedelta(hours=rng.uniform(0.1, 48)))
    return survey
