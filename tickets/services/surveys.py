"""Writes of satisfaction surveys (DOMAIN.md §7, ARCHITECTURE.md §5–6).

Creation. A CSAT survey follows a closed ticket (the close queues `survey_csat_create` after
commit; the sweep finds closed tickets of the last SURVEY_CSAT_WINDOW_HOURS without one); an NPS
survey follows a sampled delivery (the sweep, set-based). Either is made only with the person's
consent for surveys (default: no) and at most once per person (customer or phone) per
SURVEY_PERSON_COOLDOWN_DAYS, counting the surveys of the same batch. The partial unique
constraints (one per ticket, one per delivery) and INSERT … ON CONFLICT DO NOTHING make creating
twice harmless, whoever runs first.

Sending. `survey_deliver` locks a pending survey with SKIP LOCKED (a second worker holding the
same id moves on), sends through the gateway with the survey's public id as idempotency key (a
provider that saw the key drops the repeat), and marks it sent; a batch (`surveys_send`) commits
each survey on its own. A transient gateway error counts an attempt and the survey is tried again
with backoff; after SURVEY_MAX_SEND_ATTEMPTS, or on a permanent error, the survey is failed.

Answering. One answer per survey, by a conditional UPDATE (… WHERE answered_at IS NULL); a low
score opens a follow-up ticket for a person in the same transaction."""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import random
from dataclasses import dataclass
from urllib.parse import urljoin

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, IntegerField, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from compliance.selectors.consent import consent_allowed
from tenancy.models import Tenant
from tenancy.scoping import current_tenant_id, tenant_scope
from tenancy.tasks import enqueue_on_commit

from .. import rules
from ..gateways import GatewayPermanentError, GatewayTransientError, SurveyMessage, get_gateway
from ..models import (
    Survey,
    SurveyChannel,
    SurveyKind,
    SurveyStatus,
    Ticket,
    TicketCategory,
    TicketChannel,
    TicketEvent,
    TicketEventKind,
    TicketStatus,
)
from ..survey_tokens import survey_token

logger = logging.getLogger(__name__)

DISPATCH_CHUNK = 100
# One sweep queues at most this many surveys; the next sweep takes the rest.
DISPATCH_MAX = 50_000
CONSENT_PURPOSE = "surveys"


# --- creation ---------------------------------------------------------------------------------

@dataclass
class SurveyCandidate:
    kind: str
    channel: str
    ticket_id: int | None = None
    waybill_id: int | None = None
    customer_id: int | None = None
    branch_id: int | None = None
    phone: str | None = None
    phone_bidx: str | None = None
    email: str | None = None

    @property
    def person(self) -> tuple[int | None, str | None]:
        return (self.customer_id, self.phone_bidx)


def nps_sampled(*, tenant_id: int, waybill_id: int, percent: int) -> bool:
    """Whether a delivery is in the NPS sample: the same answer every time it is asked (the SQL of
    `_nps_candidates` computes the same bucket)."""
    digest = hashlib.md5(f"{tenant_id}:{waybill_id}".encode(), usedforsecurity=False).hexdigest()
    return int(digest[:8], 16) % 100 < percent


def _first_customer_phone(customer) -> tuple[str | None, str | None]:
    if customer is None:
        return None, None
    phone = customer.phones.order_by("id").first()
    return (phone.phone, phone.phone_bidx) if phone else (None, None)


def _csat_candidate(ticket: Ticket) -> SurveyCandidate | None:
    """Who is asked about a ticket, and how: WeChat tickets on WeChat; else email; else SMS."""
    customer = ticket.customer
    email = ticket.caller_email or (customer.email if customer else None)
    phone, phone_bidx = ticket.caller_phone, ticket.caller_phone_bidx
    if not phone:
        phone, phone_bidx = _first_customer_phone(customer)
    if ticket.channel == TicketChannel.WECHAT and ticket.external_ref:
        channel = SurveyChannel.WECHAT
    elif email:
        channel = SurveyChannel.EMAIL
    elif phone:
        channel = SurveyChannel.SMS
    else:
        return None
    return SurveyCandidate(kind=SurveyKind.CSAT, channel=channel, ticket_id=ticket.pk, customer_id=ticket.customer_id,
                           branch_id=ticket.branch_id, phone=phone, phone_bidx=phone_bidx,
                           email=email if channel == SurveyChannel.EMAIL else None)


def _cooldown_busy(candidates: list[SurveyCandidate], now: dt.datetime) -> tuple[set[int], set[str]]:
    """Customers and phones asked within the cooldown already (one query)."""
    days = rules.SURVEY_PERSON_COOLDOWN_DAYS.value()
    customers = {c.customer_id for c in candidates if c.customer_id}
    phones = {c.phone_bidx for c in candidates if c.phone_bidx}
    if days <= 0 or not (customers or phones):
        return set(), set()
    recent = Survey.objects.filter(created_at__gt=now - dt.timedelta(days=days)).filter(
        Q(customer_id__in=customers) | Q(phone_bidx__in=phones))
    busy_customers, busy_phones = set(), set()
    for customer_id, phone_bidx in recent.values_list("customer_id", "phone_bidx"):
        if customer_id:
            busy_customers.add(customer_id)
        if phone_bidx:
            busy_phones.add(phone_bidx)
    return busy_customers, busy_phones


def surveys_create(candidates: list[SurveyCandidate], *, now: dt.datetime | None = None) -> list[int]:
    """Create the surveys among `candidates` that consent and the per-person cap allow; returns
    the ids created (a candidate whose ticket or delivery has a survey already adds nothing)."""
    if not candidates:
        return []
    now = now or timezone.now()
    allowed = consent_allowed(CONSENT_PURPOSE, [c.person for c in candidates])
    candidates = [c for c in candidates if c.person in allowed]
    busy_customers, busy_phones = _cooldown_busy(candidates, now)
    cooldown = rules.SURVEY_PERSON_COOLDOWN_DAYS.value() > 0
    rows = []
    for c in candidates:
        if c.customer_id in busy_customers or c.phone_bidx in busy_phones:
            continue
        if cooldown:  # the same person twice in this batch: only the first is asked
            if c.customer_id:
                busy_customers.add(c.customer_id)
            if c.phone_bidx:
                busy_phones.add(c.phone_bidx)
        rows.append(Survey(kind=c.kind, channel=c.channel, ticket_id=c.ticket_id, waybill_id=c.waybill_id,
                           customer_id=c.customer_id, branch_id=c.branch_id, phone=c.phone, email=c.email,
                           created_at=now))
    if not rows:
        return []
    with transaction.atomic():
        # Ids are allocated before the insert (sealed values name their row), so the rows a
        # conflict skipped are simply the ids that are not there afterwards.
        Survey.objects.bulk_create(rows, ignore_conflicts=True)
        created = list(Survey.objects.filter(pk__in=[r.pk for r in rows]).values_list("pk", flat=True))
    return created


def survey_csat_create(*, ticket_id: int, now: dt.datetime | None = None) -> Survey | None:
    """The CSAT survey of a closed ticket (None when not allowed, no address, or made before)."""
    if not rules.SURVEY_CSAT_ENABLED.value():
        return None
    ticket = (Ticket.objects.select_related("customer").filter(pk=ticket_id, status=TicketStatus.CLOSED,
                                                               merged_into__isnull=True).first())
    if ticket is None:
        return None
    candidate = _csat_candidate(ticket)
    created = surveys_create([candidate], now=now) if candidate else []
    if not created:
        return None
    _queue_send(created)
    return Survey.objects.get(pk=created[0])


def _csat_candidates(now: dt.datetime) -> list[SurveyCandidate]:
    if not rules.SURVEY_CSAT_ENABLED.value():
        return []
    since = now - dt.timedelta(hours=rules.SURVEY_CSAT_WINDOW_HOURS.value())
    has_survey = Survey.objects.filter(kind=SurveyKind.CSAT, ticket_id=OuterRef("pk"))
    tickets = (Ticket.objects.filter(status=TicketStatus.CLOSED, closed_at__gte=since, merged_into__isnull=True,
                                     personal_data_erased_at__isnull=True)
               .exclude(Exists(has_survey)).select_related("customer").order_by("closed_at", "id"))
    return [c for c in map(_csat_candidate, tickets) if c is not None]


def _nps_candidates(now: dt.datetime) -> list[SurveyCandidate]:
    """Deliveries of the window without a survey, in the sample: one query (the bucket in SQL)."""
    from shipments.models import Waybill, WaybillStatus

    percent = rules.SURVEY_NPS_SAMPLE_PERCENT.value()
    if percent <= 0:
        return []
    since = now - dt.timedelta(hours=rules.SURVEY_NPS_WINDOW_HOURS.value())
    table = Waybill._meta.db_table
    has_survey = Survey.objects.filter(kind=SurveyKind.NPS, waybill_id=OuterRef("pk"))
    waybills = (Waybill.objects.filter(status=WaybillStatus.DELIVERED, delivered_at__gte=since,
                                       personal_data_erased_at__isnull=True)
                .filter(Q(receiver_phone__isnull=False) | Q(receiver__isnull=False))
                .exclude(Exists(has_survey))
                .alias(sample_bucket=RawSQL(  # noqa: S611 (only the model's own table name is formatted in)
                    f"(('x' || substr(md5({table}.tenant_id::text || ':' || {table}.id::text), 1, 8))"
                    f"::bit(32)::bigint %% 100)", [], output_field=IntegerField()))
                .filter(sample_bucket__lt=percent)
                .select_related("receiver").order_by("delivered_at", "id"))
    candidates = []
    for waybill in waybills:
        phone, phone_bidx = waybill.receiver_phone, waybill.receiver_phone_bidx
        if not phone:
            phone, phone_bidx = _first_customer_phone(waybill.receiver)
        email = waybill.receiver.email if waybill.receiver else None
        if phone:
            channel = SurveyChannel.SMS
        elif email:
            channel = SurveyChannel.EMAIL
        else:
            continue
        candidates.append(SurveyCandidate(
            kind=SurveyKind.NPS, channel=channel, waybill_id=waybill.pk, customer_id=waybill.receiver_id,
            branch_id=waybill.destination_branch_id, phone=phone, phone_bidx=phone_bidx,
            email=email if channel == SurveyChannel.EMAIL else None))
    return candidates


def surveys_create_due(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The sweep's creation step: CSAT for recently closed tickets, NPS for sampled deliveries."""
    now = now or timezone.now()
    csat = surveys_create(_csat_candidates(now), now=now)
    nps = surveys_create(_nps_candidates(now), now=now)
    return {"csat": len(csat), "nps": len(nps)}


# --- sending ----------------------------------------------------------------------------------

def survey_link(survey: Survey) -> str:
    token = survey_token(tenant_id=survey.tenant_id, public_id=survey.public_id)
    return urljoin(settings.CRM_PUBLIC_BASE_URL, reverse("public:survey_answer", args=[token]))


def _message(survey: Survey, tenant: Tenant) -> SurveyMessage:
    if survey.channel == SurveyChannel.EMAIL:
        recipient = survey.email or ""
    elif survey.channel == SurveyChannel.WECHAT:
        recipient = survey.ticket.external_ref if survey.ticket_id else ""
    else:
        recipient = survey.phone or ""
    link = survey_link(survey)
    with translation.override(settings.LANGUAGE_CODE):
        if survey.kind == SurveyKind.CSAT:
            subject = _("How did we do? Ticket %(number)s") % {"number": survey.ticket.number}
            body = _("%(company)s: please rate the service you received (1–5), it takes a few seconds: %(link)s")
        else:
            subject = _("Would you recommend %(company)s?") % {"company": tenant.name}
            body = _("%(company)s: how likely are you to recommend us to a friend (0–10)? %(link)s")
        body = body % {"company": tenant.name, "link": link}
    return SurveyMessage(channel=survey.channel, recipient=recipient, subject=subject, body=body, link=link,
                         tenant_code=tenant.code, kind=survey.kind)


SENT, SKIPPED, RETRY, FAILED = "sent", "skipped", "retry", "failed"


@dataclass(frozen=True)
class SendContext:
    """What every send of a batch needs from the company, read once per batch."""

    tenant: Tenant
    link_valid_days: int
    max_attempts: int


def send_context() -> SendContext:
    return SendContext(tenant=Tenant.objects.get(pk=current_tenant_id()),
                       link_valid_days=rules.SURVEY_LINK_VALID_DAYS.value(),
                       max_attempts=rules.SURVEY_MAX_SEND_ATTEMPTS.value())


# The per-survey statements of a batch in plain SQL: they run a hundred times per batch, and the
# ORM's compilation of them cost more than the database's work (benchmarks/bench_surveys.py).
# Row-level security still applies: they run inside the tenant scope.
_CLAIM_SQL = f"SELECT 1 FROM {Survey._meta.db_table} WHERE id = %s AND status = 'pending' FOR UPDATE SKIP LOCKED"
_SENT_SQL = (f"UPDATE {Survey._meta.db_table} SET attempts = attempts + 1, status = 'sent', sent_at = %s, "
             "expires_at = %s, last_error = '' WHERE id = %s")
_FAILED_SQL = (f"UPDATE {Survey._meta.db_table} SET attempts = attempts + 1, last_error = %s, "
               "status = CASE WHEN %s OR attempts + 1 >= %s THEN 'failed' ELSE 'pending' END "
               "WHERE id = %s RETURNING status")


def _claim(survey_id: int) -> bool:
    """Lock the survey if it is still pending; False if it is not, or another worker holds it."""
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [survey_id])
        return cursor.fetchone() is not None


def _deliver_claimed(survey: Survey, context: SendContext) -> str:
    now = timezone.now()
    try:
        get_gateway(survey.channel).send(_message(survey, context.tenant), idempotency_key=str(survey.public_id))
    except (GatewayPermanentError, GatewayTransientError) as exc:
        permanent = isinstance(exc, GatewayPermanentError)
        with connection.cursor() as cursor:
            cursor.execute(_FAILED_SQL, [str(exc)[:300], permanent, context.max_attempts, survey.pk])
            status = cursor.fetchone()[0]
        return FAILED if status == SurveyStatus.FAILED else RETRY
    with connection.cursor() as cursor:
        cursor.execute(_SENT_SQL, [now, now + dt.timedelta(days=context.link_valid_days), survey.pk])
    if survey.kind == SurveyKind.CSAT:
        TicketEvent.objects.create(ticket_id=survey.ticket_id, kind=TicketEventKind.SURVEY_SENT,
                                   created_at=now, data={"survey": survey.pk, "channel": survey.channel})
    return SENT


def survey_deliver(*, survey_id: int, context: SendContext) -> str:
    """Send one pending survey in the caller's transaction; returns SENT, SKIPPED (not pending, or
    another worker holds it), RETRY (a transient error, attempt counted) or FAILED."""
    if not _claim(survey_id):
        return SKIPPED
    return _deliver_claimed(Survey.objects.select_related("ticket").get(pk=survey_id), context)


def survey_send(*, survey_id: int) -> bool:
    """Send one pending survey (its own savepoint inside the caller's scope); True if this call
    sent it. A transient gateway error is raised after the counted attempt is written, for the
    caller to retry; the caller's transaction keeps the count when it commits."""
    with transaction.atomic():
        outcome = survey_deliver(survey_id=survey_id, context=send_context())
    if outcome == RETRY:
        raise GatewayTransientError(Survey.objects.values_list("last_error", flat=True).get(pk=survey_id))
    return outcome == SENT


def surveys_send(*, tenant_id: int, survey_ids: list[int]) -> tuple[int, list[int]]:
    """Send a batch, each survey in its own transaction: what the gateway accepted is committed
    at once, so a worker killed (or a later survey failing) never undoes a survey already
    delivered, and a redelivered batch finds those no longer pending. Runs outside a tenant
    scope and opens one per survey. The batch's rows are read once up front; each survey is then
    claimed (locked while still pending) in its own transaction before it is sent. Returns
    (sent, ids to try again)."""
    with tenant_scope(tenant_id):
        context = send_context()
        batch = list(Survey.objects.select_related("ticket")
                     .filter(pk__in=survey_ids, status=SurveyStatus.PENDING).order_by("pk"))
    sent, retry = 0, []
    for survey in batch:
        with tenant_scope(tenant_id):
            outcome = _deliver_claimed(survey, context) if _claim(survey.pk) else SKIPPED
        sent += outcome == SENT
        if outcome == RETRY:
            retry.append(survey.pk)
    return sent, retry


def survey_retry_countdown(survey_ids: list[int]) -> int:
    """Seconds before the failed ones of a batch are tried again: exponential in their attempts,
    capped at ten minutes, with jitter."""
    attempts = max(Survey.objects.filter(pk__in=survey_ids).values_list("attempts", flat=True), default=1)
    return min(600, 15 * 2 ** max(attempts - 1, 0)) + random.randint(0, 10)  # noqa: S311 (jitter)


def _queue_send(survey_ids: list[int]) -> None:
    from ..tasks import surveys_send_batch

    tenant_id = current_tenant_id()
    for start in range(0, len(survey_ids), DISPATCH_CHUNK):
        enqueue_on_commit(surveys_send_batch, tenant_id=tenant_id, survey_ids=survey_ids[start:start + DISPATCH_CHUNK])


def surveys_dispatch_pending(*, older_than: dt.timedelta) -> int:
    """Queue every pending survey created at least `older_than` ago (its message may have been
    lost), in chunks of DISPATCH_CHUNK ids after commit; returns how many were queued."""
    ids = list(Survey.objects.filter(status=SurveyStatus.PENDING, created_at__lte=timezone.now() - older_than)
               .order_by("created_at", "id").values_list("pk", flat=True)[:DISPATCH_MAX])
    _queue_send(ids)
    return len(ids)


def survey_sweep(*, pending_older_than: dt.timedelta | None = None) -> dict[str, int]:
    """The periodic job of one tenant: create due surveys, then queue pending ones."""
    created = surveys_create_due()
    if pending_older_than is None:
        pending_older_than = dt.timedelta(minutes=rules.SURVEY_RESEND_AFTER_MINUTES.value())
    return {**created, "queued": surveys_dispatch_pending(older_than=pending_older_than)}


# --- answering --------------------------------------------------------------------------------

class SurveyAlreadyAnswered(Exception):
    """A second answer: nothing changes."""


class SurveyExpired(Exception):
    """The link's time is up."""


def survey_score_range(kind: str) -> range:
    return range(1, 6) if kind == SurveyKind.CSAT else range(0, 11)


def survey_is_low(kind: str, score: int) -> bool:
    limit = (rules.SURVEY_CSAT_FOLLOW_UP_AT_MOST if kind == SurveyKind.CSAT else rules.SURVEY_NPS_FOLLOW_UP_AT_MOST)
    return score <= limit.value()


def survey_answer(*, survey: Survey, score, comment: str = "", now: dt.datetime | None = None) -> Survey:
    """Record the one answer of a survey (public page, no actor). Raises ValidationError for a
    bad score or comment, SurveyExpired, SurveyAlreadyAnswered."""
    now = now or timezone.now()
    comment = (comment or "").strip()
    errors = {}
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = None
    valid = survey_score_range(survey.kind)
    if score is None or score not in valid:
        errors["score"] = [_("Choose a score from %(low)s to %(high)s.") % {"low": valid[0], "high": valid[-1]}]
    if len(comment) > rules.SURVEY_COMMENT_MAX_LENGTH.value():
        errors["comment"] = [_("At most %(n)s characters.") % {"n": rules.SURVEY_COMMENT_MAX_LENGTH.value()}]
    if errors:
        raise ValidationError(errors)
    if survey.expires_at is not None and survey.expires_at <= now and survey.answered_at is None:
        raise SurveyExpired()
    with transaction.atomic():
        changed = (Survey.objects.filter(pk=survey.pk, answered_at__isnull=True)
                   .exclude(status=SurveyStatus.FAILED)
                   .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
                   .update(score=score, comment=comment, answered_at=now, status=SurveyStatus.ANSWERED))
        if not changed:
            raise SurveyAlreadyAnswered()
        survey = Survey.objects.select_related("ticket", "customer").get(pk=survey.pk)
        if survey.kind == SurveyKind.CSAT:
            TicketEvent.objects.create(ticket_id=survey.ticket_id, kind=TicketEventKind.SURVEY_ANSWERED,
                                       created_at=now, body=comment,
                                       data={"survey": survey.pk, "score": score})
        if survey_is_low(survey.kind, score):
            follow_up = _follow_up_open(survey, now=now)
            Survey.objects.filter(pk=survey.pk).update(follow_up_ticket=follow_up)
            survey.follow_up_ticket = follow_up
    return survey


def _follow_up_open(survey: Survey, *, now: dt.datetime) -> Ticket:
    """A complaint ticket for a person to call the unhappy customer back."""
    from shipments.models import Waybill

    from .intake import TicketDraft, ticket_create

    waybill_id = survey.waybill_id or (survey.ticket.waybill_id if survey.ticket_id else None)
    if waybill_id and not Waybill.objects.filter(pk=waybill_id).exists():
        waybill_id = None
    if survey.kind == SurveyKind.CSAT:
        subject = _("Low satisfaction score %(score)s/5 after ticket %(number)s") % {
            "score": survey.score, "number": survey.ticket.number}
    else:
        subject = _("Detractor: recommendation score %(score)s/10 after a delivery") % {"score": survey.score}
    lines = [_("Survey answer: %(score)s.") % {"score": survey.score}]
    if survey.kind == SurveyKind.CSAT:
        lines.append(_("Original ticket: %(number)s.") % {"number": survey.ticket.number})
    lines.append(_("Comment: %(comment)s") % {"comment": survey.comment} if survey.comment
                 else _("No comment was left."))
    draft = TicketDraft(
        channel=TicketChannel.WEB, category=TicketCategory.COMPLAINT, subject=subject[:200],
        description="\n".join(lines), customer_id=survey.customer_id, caller_phone=survey.phone or "",
        caller_email=survey.email or "", waybill_id=waybill_id,
        branch_id=survey.branch_id, tags=["survey-follow-up"])
    return ticket_create(actor=None, draft=draft, now=now, acknowledge=False)


def survey_erase(*, survey_ids, now: dt.datetime) -> int:
    """Wipe a survey's contact details and comment; the score and dates stay for the figures."""
    return Survey.objects.filter(pk__in=list(survey_ids)).update(
        phone=None, phone_bidx=None, email=None, comment="", personal_data_erased_at=now)


__all__ = [
    "SurveyAlreadyAnswered", "SurveyCandidate", "SurveyExpired", "nps_sampled", "survey_answer",
    "survey_csat_create", "survey_deliver", "survey_erase", "survey_link", "survey_send", "survey_sweep",
    "surveys_create", "surveys_send",
    "surveys_create_due", "surveys_dispatch_pending",
]
