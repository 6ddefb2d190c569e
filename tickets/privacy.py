"""What the tickets app holds about a person (compliance.subject), and the anonymisation of tickets
and claims shared by deletion requests and the retention job.

Anonymising a ticket blanks who called and what they wrote (caller details, description, every
timeline text, outbound recipients, attachment files); its category, priority, branch, team,
clocks and timeline times stay, so SLA and complaint figures are unchanged. A claim keeps its
amounts, decision and payout (the money), and loses the claimant's and payee's details."""
from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _

from compliance.subject import Subject, collect_sources, count_sources

from .models import (
    Claim,
    ClaimEvent,
    ClaimEvidence,
    ClaimPayout,
    OutboundMessage,
    Survey,
    Ticket,
    TicketAttachment,
    TicketEvent,
)

TICKET_FIELDS = ("number", "category", "channel", "priority", "status", "customer", "contact", "caller_name",
                 "caller_email", "caller_phone", "waybill", "subject", "description", "created_at", "closed_at")
CLAIM_FIELDS = ("number", "ticket", "waybill", "claim_type", "claimant_role", "claimant", "claimant_name",
                "claimed_amount", "description", "status", "approved_amount", "decision_reason", "decided_at")
# Timeline kinds whose structured data may repeat what a person wrote or was sent.
TEXT_EVENT_KINDS = ("created", "reply", "customer_message", "note", "updated", "attachment", "survey_answered",
                    "merged", "split", "claim")


SURVEY_FIELDS = ("kind", "channel", "phone", "email", "status", "created_at", "sent_at", "score", "comment",
                 "answered_at")


def tickets_of(subject: Subject):
    match = Q(customer_id__in=subject.customer_ids) | Q(contact_id__in=subject.contact_ids)
    if subject.phone_bidxs:
        match |= Q(caller_phone_bidx__in=subject.phone_bidxs)
    return Ticket.objects.filter(match)


def claims_of(subject: Subject, ticket_ids):
    return Claim.objects.filter(Q(ticket_id__in=ticket_ids) | Q(claimant_id__in=subject.customer_ids))


def surveys_of(subject: Subject, ticket_ids):
    """Surveys sent to the person (by customer or phone) or about their tickets."""
    match = Q(customer_id__in=subject.customer_ids) | Q(ticket_id__in=ticket_ids)
    if subject.phone_bidxs:
        match |= Q(phone_bidx__in=subject.phone_bidxs)
    return Survey.objects.filter(match)


def sources(subject: Subject) -> dict:
    ticket_ids = tickets_of(subject).values("pk")
    claim_ids = claims_of(subject, ticket_ids).values("pk")
    return {
        "tickets": (tickets_of(subject).order_by("pk"), TICKET_FIELDS),
        "ticket_messages": (TicketEvent.objects.filter(ticket_id__in=ticket_ids).exclude(body="").order_by("pk"),
                            ("ticket", "kind", "body", "created_at")),
        "outbound_messages": (OutboundMessage.objects.filter(ticket_id__in=ticket_ids).order_by("pk"),
                              ("ticket", "channel", "recipient", "status", "sent_at")),
        "attachments": (TicketAttachment.objects.filter(ticket_id__in=ticket_ids).order_by("pk"),
                        ("ticket", "name", "content_type", "sha256")),
        "claims": (claims_of(subject, ticket_ids).order_by("pk"), CLAIM_FIELDS),
        "claim_messages": (ClaimEvent.objects.filter(claim_id__in=claim_ids).exclude(body="").order_by("pk"),
                           ("claim", "kind", "body", "created_at")),
        "claim_payouts": (ClaimPayout.objects.filter(claim_id__in=claim_ids).order_by("pk"),
                          ("claim", "amount", "method", "payee_name", "payee_account", "paid_at")),
        "surveys": (surveys_of(subject, ticket_ids).order_by("pk"), SURVEY_FIELDS),
    }


def collect(subject: Subject) -> dict[str, list[dict]]:
    return collect_sources(sources(subject))


def count(subject: Subject) -> dict[str, int]:
    return count_sources(sources(subject))


def erase_claims(*, claim_ids) -> int:
    from tenancy.privileged import redact_rows

    claim_ids = list(claim_ids)
    if not claim_ids:
        return 0
    changed = Claim.objects.filter(pk__in=claim_ids).update(claimant_name="", description="", assessment_note="")
    ClaimEvidence.objects.filter(claim_id__in=claim_ids).update(note="")
    events = list(ClaimEvent.objects.filter(claim_id__in=claim_ids).values_list("pk", flat=True))
    redact_rows(ClaimEvent, ["body", "data"], events)
    payouts = list(ClaimPayout.objects.filter(claim_id__in=claim_ids).values_list("pk", flat=True))
    redact_rows(ClaimPayout, ["payee_name", "payee_account", "note"], payouts)
    return changed


def erase_tickets(*, ticket_ids, now) -> int:
    """Anonymise the given tickets and their claims; returns the tickets changed. Safe to repeat."""
    from tenancy.privileged import redact_rows

    ticket_ids = list(ticket_ids)
    if not ticket_ids:
        return 0
    events = TicketEvent.objects.filter(ticket_id__in=ticket_ids)
    redact_rows(TicketEvent, ["body"], list(events.exclude(body="").values_list("pk", flat=True)))
    redact_rows(TicketEvent, ["data"], list(events.filter(kind__in=TEXT_EVENT_KINDS).exclude(data={})
                                            .values_list("pk", flat=True)))
    OutboundMessage.objects.filter(ticket_id__in=ticket_ids).update(recipient=None, last_error="")
    for attachment in TicketAttachment.objects.filter(ticket_id__in=ticket_ids).exclude(file=""):
        attachment.file.delete(save=False)
        TicketAttachment.objects.filter(pk=attachment.pk).update(file="", name="")
    erase_claims(claim_ids=Claim.objects.filter(ticket_id__in=ticket_ids).values_list("pk", flat=True))
    erase_surveys(survey_ids=Survey.objects.filter(ticket_id__in=ticket_ids).values_list("pk", flat=True), now=now)
    return Ticket.objects.filter(pk__in=ticket_ids).update(
        caller_name="", caller_email=None, caller_phone=None, caller_phone_bidx=None, subject=_("[anonymised]"),
        description="", personal_data_erased_at=now)


def erase_surveys(*, survey_ids, now) -> int:
    """Wipe the contact details and comment of surveys; the score and dates stay for the figures."""
    from .services.surveys import survey_erase

    return survey_erase(survey_ids=survey_ids, now=now)


def erase(subject: Subject, now) -> dict[str, int]:
    ticket_ids = list(tickets_of(subject).values_list("pk", flat=True))
    surveys = erase_surveys(survey_ids=surveys_of(subject, ticket_ids).values_list("pk", flat=True), now=now)
    tickets = erase_tickets(ticket_ids=ticket_ids, now=now)
    other_claims = Claim.objects.filter(claimant_id__in=subject.customer_ids).exclude(ticket_id__in=ticket_ids)
    return {"tickets": tickets, "claims": erase_claims(claim_ids=other_claims.values_list("pk", flat=True)),
            "surveys": surveys}
