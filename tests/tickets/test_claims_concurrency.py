"""Claims under real concurrency (DOMAIN.md §4, ARCHITECTURE.md §5): real PostgreSQL transactions,
each thread with its own connection as the application role (under row-level security), released
together by a barrier once every one is inside its tenant-scoped transaction. The claim services
lock the claim row, and the database holds the same line with its constraints:

- six people paying one approved claim at once → one payout, one paid claim, one message to the
  customer; the others are refused cleanly;
- two eligible approvers deciding at once → one decision;
- the same waybill and claim type filed at once (from one ticket, and from two tickets of the
  waybill, where only the database's partial unique index stands between them) → one claim;
- an approval racing a withdrawal → one of them, and a state that agrees with its timeline;
- straight to the database with the ORM: a second payout, a payout above the approval, an approval
  above the rules' amount without over_cap, a second standing claim → IntegrityError.
"""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tenancy.models import Role, User
from tenancy.scoping import tenant_scope
from tickets.models import (
    Claim,
    ClaimEvent,
    ClaimEventKind,
    ClaimPayout,
    ClaimStatus,
    OutboundMessage,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketStatus,
)
from tickets.services import claims, intake

from .claims_world import act, build_claims_desk, claim_under_review, insure_waybills
from .races import _empty_tables_as_the_owner, race  # noqa: F401 — the fixture is used by pytest

pytestmark = pytest.mark.django_db(transaction=True)


def kinds(outcomes) -> list[str]:
    return sorted(kind for kind, _ in outcomes)


def refusals(outcomes) -> list[ValidationError]:
    return [exc for kind, exc in outcomes if kind == "refused"]


def fresh_user(user) -> User:
    """Each thread works with its own instance of the user (permission caches live on it)."""
    return User.objects.get(pk=user.pk)


@pytest.fixture
def cw(world):
    """Tenant A's claims desk with four damaged waybills, insured for 20,000 CNY."""
    tw = world.a
    tw.claims = build_claims_desk(tw, prefix="CC", count=4)
    insure_waybills(tw, tw.claims.tickets, insured="20000")
    return tw


def approved_claim(tw, ticket, amount="300") -> Claim:
    claim = claim_under_review(tw, ticket, claimed=amount, assessed=amount)
    return act(tw, tw.claims.lead.user, claims.claim_approve, claim=claim)


def result_replies(tw, ticket_id) -> list[TicketEvent]:
    with tenant_scope(tw.tenant):
        return list(TicketEvent.objects.filter(ticket_id=ticket_id, kind=TicketEventKind.REPLY,
                                               data__stage="result"))


# --- (a) one payout ------------------------------------------------------------------------------

def test_six_people_paying_one_claim_at_once_make_one_payout(cw):
    tw = cw
    claim = approved_claim(tw, tw.claims.tickets[0])
    assert claim.status == ClaimStatus.APPROVED and claim.approved_amount == 300
    payers = [fresh_user(tw.user(role)) for role in (Role.BRANCH_MANAGER, Role.EXECUTIVE, Role.TENANT_ADMIN) * 2]
    outcomes = race(tw, *[(user, lambda i=i, user=user: claims.claim_pay(
        actor=user, claim=claim, amount="300", method="bank_transfer", payee_name="李四", reference=f"PAY-{i}"))
        for i, user in enumerate(payers)])
    assert kinds(outcomes) == ["ok"] + ["refused"] * 5
    assert all(set(exc.message_dict) == {"status"} for exc in refusals(outcomes))
    winner = next(i for i, (kind, _) in enumerate(outcomes) if kind == "ok")
    with tenant_scope(tw.tenant):
        payout = ClaimPayout.objects.get(claim_id=claim.pk)  # exactly one
        assert payout.reference == f"PAY-{winner}" and payout.paid_by_id == payers[winner].pk
        assert payout.amount == payout.approved_amount == 300
        row = Claim.objects.get(pk=claim.pk)
        assert row.status == ClaimStatus.PAID and row.paid_at is not None and row.closed_at is not None
        assert ClaimEvent.objects.filter(claim_id=claim.pk, kind=ClaimEventKind.PAID).count() == 1
        assert ClaimEvent.objects.filter(claim_id=claim.pk, to_status=ClaimStatus.PAID).count() == 1
        assert Ticket.objects.get(pk=claim.ticket_id).status == TicketStatus.RESOLVED
    replies = result_replies(tw, claim.ticket_id)
    assert len(replies) == 1 and f"PAY-{winner}" in replies[0].body
    with tenant_scope(tw.tenant):
        assert OutboundMessage.objects.filter(event=replies[0]).count() == 1


# --- (b) one decision ----------------------------------------------------------------------------

def test_two_eligible_approvers_at_once_make_one_decision(cw):
    tw = cw
    claim = claim_under_review(tw, tw.claims.tickets[0], claimed="300", assessed="300")
    lead, manager = fresh_user(tw.claims.lead.user), fresh_user(tw.user(Role.BRANCH_MANAGER))
    outcomes = race(
        tw,
        (lead, lambda: claims.claim_approve(actor=lead, claim=claim)),  # the rules' 300
        (manager, lambda: claims.claim_approve(actor=manager, claim=claim, amount="250", reason="包装不合规")))
    assert kinds(outcomes) == ["ok", "refused"]
    assert set(refusals(outcomes)[0].message_dict) == {"status"}
    lead_won = outcomes[0][0] == "ok"
    with tenant_scope(tw.tenant):
        row = Claim.objects.get(pk=claim.pk)
        decisions = list(ClaimEvent.objects.filter(claim_id=claim.pk, kind=ClaimEventKind.DECIDED))
        status_events = list(ClaimEvent.objects.filter(claim_id=claim.pk, kind=ClaimEventKind.STATUS,
                                                       from_status=ClaimStatus.UNDER_REVIEW))
    assert len(decisions) == 1 and len(status_events) == 1
    if lead_won:
        assert (row.status, row.approved_amount, row.decided_by_id, row.decision_level) == (
            ClaimStatus.APPROVED, 300, lead.pk, "team_lead")
    else:
        assert (row.status, row.approved_amount, row.decided_by_id, row.decision_level) == (
            ClaimStatus.PARTIALLY_APPROVED, 250, manager.pk, "branch_manager")
    assert decisions[0].actor_id == row.decided_by_id and status_events[0].to_status == row.status


# --- (c) one claim per waybill and type ----------------------------------------------------------

def _one_claim_filed(tw, waybill_id, outcomes) -> Claim:
    assert kinds(outcomes) == ["ok"] + ["refused"] * (len(outcomes) - 1)
    assert all(set(exc.message_dict) == {"claim_type"} for exc in refusals(outcomes))
    with tenant_scope(tw.tenant):
        filed = list(Claim.objects.filter(waybill_id=waybill_id, claim_type="loss"))
        assert len(filed) == 1
        assert ClaimEvent.objects.filter(claim__waybill_id=waybill_id, kind=ClaimEventKind.CREATED).count() == 1
        assert TicketEvent.objects.filter(ticket__waybill_id=waybill_id, kind=TicketEventKind.CLAIM).count() == 1
    winner = next(result for kind, result in outcomes if kind == "ok")
    assert filed[0].pk == winner.pk
    return filed[0]


def test_the_same_waybill_filed_four_times_at_once_from_its_ticket_makes_one_claim(cw):
    tw = cw
    ticket = tw.claims.tickets[0]
    filers = [fresh_user(tw.user(Role.AGENT)), fresh_user(tw.claims.lead.user)] * 2
    outcomes = race(tw, *[(user, lambda i=i, user=user: claims.claim_file(
        actor=user, ticket=ticket, claim_type="loss", claimant_role="sender", claimed_amount=str(100 + i)))
        for i, user in enumerate(filers)])
    _one_claim_filed(tw, ticket.waybill_id, outcomes)


def test_the_same_waybill_filed_at_once_from_two_of_its_tickets_makes_one_claim(cw):
    """Two tickets of one waybill lock different rows: here only the partial unique index
    (claim_one_standing_per_type) can stop the second claim."""
    tw = cw
    first = tw.claims.tickets[0]
    agent = tw.user(Role.AGENT)
    with tenant_scope(tw.tenant, user=agent):
        second = intake.ticket_create(actor=agent, draft=intake.TicketDraft(
            channel="phone", category="claim", subject="要求赔偿", caller_phone="13900001111",
            waybill_id=first.waybill_id))
    assert second.waybill_id == first.waybill_id and second.pk != first.pk
    users = [fresh_user(agent), fresh_user(tw.claims.lead.user)]
    outcomes = race(tw, *[(user, lambda user=user, ticket=ticket: claims.claim_file(
        actor=user, ticket=ticket, claim_type="loss", claimant_role="sender", claimed_amount="100"))
        for user, ticket in zip(users, (first, second), strict=True)])
    _one_claim_filed(tw, first.waybill_id, outcomes)


# --- (d) approval against withdrawal ------------------------------------------------------------

def test_approval_racing_withdrawal_leaves_one_consistent_outcome(cw):
    tw = cw
    for ticket in tw.claims.tickets[:3]:  # three rounds: whichever order the database picks
        claim = claim_under_review(tw, ticket, claimed="300", assessed="300")
        manager, agent = fresh_user(tw.user(Role.BRANCH_MANAGER)), fresh_user(tw.user(Role.AGENT))
        outcomes = race(
            tw,
            (manager, lambda manager=manager, claim=claim: claims.claim_approve(actor=manager, claim=claim)),
            (agent, lambda agent=agent, claim=claim: claims.claim_withdraw(actor=agent, claim=claim,
                                                                           reason="客户已自行找回")))
        assert kinds(outcomes) == ["ok", "refused"]
        assert set(refusals(outcomes)[0].message_dict) == {"status"}
        with tenant_scope(tw.tenant):
            row = Claim.objects.get(pk=claim.pk)
            chain = list(ClaimEvent.objects.filter(claim_id=claim.pk, kind=ClaimEventKind.STATUS)
                         .order_by("created_at", "id").values_list("from_status", "to_status"))
            decided = ClaimEvent.objects.filter(claim_id=claim.pk, kind=ClaimEventKind.DECIDED).count()
        assert chain[-1] == (ClaimStatus.UNDER_REVIEW, row.status)  # one step out of review, the last
        if outcomes[0][0] == "ok":
            assert row.status == ClaimStatus.APPROVED and row.approved_amount == 300
            assert row.decided_by_id == manager.pk and row.closed_at is None and decided == 1
        else:
            assert row.status == ClaimStatus.WITHDRAWN and row.closed_at is not None
            assert row.approved_amount is None and row.decided_by_id is None and decided == 0


# --- (e) the database's own constraints ----------------------------------------------------------

def _violates(constraint_names, make) -> None:
    with pytest.raises(IntegrityError) as exc, transaction.atomic():
        make()
    diag = getattr(exc.value.__cause__, "diag", None)
    assert diag is not None and diag.constraint_name in constraint_names, diag and diag.constraint_name


def test_the_database_refuses_a_second_payout_and_one_above_the_approval(cw):
    tw = cw
    manager = tw.user(Role.BRANCH_MANAGER)
    paid = approved_claim(tw, tw.claims.tickets[0])
    act(tw, manager, claims.claim_pay, claim=paid, amount="300", method="cash", payee_name="李四", reference="P1")
    unpaid = approved_claim(tw, tw.claims.tickets[1])
    with tenant_scope(tw.tenant, user=manager):
        def payout(claim, amount, approved):
            return ClaimPayout.objects.create(claim=claim, amount=amount, approved_amount=approved, method="cash",
                                              payee_name="李四", reference="DIRECT", paid_at=timezone.now(),
                                              paid_by=manager)

        # A second payout of a paid claim: refused by the guard trigger (the claim is no longer
        # approved) before the unique constraints would refuse it.
        unique_on_claim = {"claim_payout_guard", "claim_paid_once", *_unique_names_on_claim()}
        _violates(unique_on_claim, lambda: payout(paid, "1", "300"))
        # A forged copy of the approved amount does not get a larger payout past the guard.
        _violates({"claim_payout_guard"}, lambda: payout(unpaid, "400", "400"))
        _violates({"claim_payout_within_approval"}, lambda: payout(unpaid, "300.01", "300"))  # above the approval
        _violates({"claim_payout_within_approval"}, lambda: payout(unpaid, "0", "300"))  # nothing is no payout
        # above the rules' amount without over_cap
        _violates({"claim_approved_within_cap"},
                  lambda: Claim.objects.filter(pk=unpaid.pk).update(approved_amount="300.01", over_cap=False))
        # a second standing claim of the same waybill and type
        standing = Claim.objects.get(pk=unpaid.pk)
        standing.pk, standing.number, standing.status = None, "C-DIRECT-1", ClaimStatus.DRAFT
        _violates({"claim_one_standing_per_type"}, standing.save)
        assert ClaimPayout.objects.filter(claim_id=paid.pk).count() == 1
        assert not ClaimPayout.objects.filter(claim_id=unpaid.pk).exists()
        assert Claim.objects.get(pk=unpaid.pk).approved_amount == 300
        assert Claim.objects.filter(waybill_id=unpaid.waybill_id).count() == 1


def _unique_names_on_claim() -> set[str]:
    """The names of the unique constraints over claim_id alone (the one-to-one's own)."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, ClaimPayout._meta.db_table)
    return {name for name, c in found.items() if c["unique"] and c["columns"] == ["claim_id"]}
