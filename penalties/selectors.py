"""Reads of the penalties app: cases, appeals, the ledger with its totals, the chain's status, the
catalogue. Who sees what:
- auditors, executives and tenant admins: the whole company;
- branch managers: their branch subtree;
- everyone else: their own fines only (`view_own_fines`)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.http import Http404

from tenancy.models import Branch, Membership, User
from tenancy.selectors import branch_reach

from .models import (
    OPEN_STATUSES,
    Appeal,
    AppealStatus,
    CaseStatus,
    EntryKind,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerHead,
    LedgerVerification,
    Tier,
    VerificationStatus,
    ViolationCase,
    ViolationType,
    ViolationTypeVersion,
)

ZERO = Decimal("0.00")
TIER_ORDER = {tier: rank for rank, tier in enumerate(Tier.values)}
MONEY_FIELD = DecimalField(max_digits=16, decimal_places=2)


def _visible_cases(*, actor: User, membership: Membership | None) -> QuerySet[ViolationCase]:
    qs = ViolationCase.objects.all()
    if actor.has_perm("penalties.view_violationcase"):
        reach = branch_reach(membership)
        if reach is not None:
            qs = qs.filter(Q(branch__path__startswith=reach.path) | Q(subject_membership__user=actor))
        return qs
    return qs.filter(subject_membership__user=actor)


def with_outstanding(qs: QuerySet[ViolationCase]) -> QuerySet[ViolationCase]:
    """Annotate what is still owed (the sum of each case's ledger entries) — one subquery."""
    owed = (LedgerEntry.objects.filter(case=OuterRef("pk")).values("case")
            .annotate(total=Sum("amount")).values("total"))
    return qs.annotate(outstanding=Coalesce(Subquery(owed, output_field=MONEY_FIELD), Value(ZERO),
                                            output_field=MONEY_FIELD))


CASE_TABS = ("open", "proposed", "appealed", "mine", "all")


def case_list(*, actor: User, membership: Membership | None, tab: str = "all", status: str | None = None,
              tier: str | None = None, violation_type: int | None = None, branch: Branch | None = None,
              subject_membership: int | None = None, category: str | None = None, detector: str | None = None,
              date_from: dt.date | None = None, date_to: dt.date | None = None, q: str = "") -> QuerySet:
    qs = _visible_cases(actor=actor, membership=membership)
    if tab == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif tab == "proposed":
        qs = qs.filter(status=CaseStatus.PROPOSED)
    elif tab == "appealed":
        qs = qs.filter(status=CaseStatus.APPEALED)
    elif tab == "mine":
        qs = qs.filter(subject_membership__user=actor)
    if status:
        qs = qs.filter(status=status)
    if tier:
        qs = qs.filter(tier=tier)
    if violation_type:
        qs = qs.filter(violation_type_id=violation_type)
    if branch is not None:
        qs = qs.filter(branch__path__startswith=branch.path)
    if subject_membership:
        qs = qs.filter(subject_membership_id=subject_membership)
    if category:
        qs = qs.filter(category=category)
    if detector:
        qs = qs.filter(detector=detector)
    if date_from:
        qs = qs.filter(occurred_on__gte=date_from)
    if date_to:
        qs = qs.filter(occurred_on__lte=date_to)
    if q:
        qs = qs.filter(Q(number__icontains=q.strip()) | Q(description__icontains=q.strip()))
    return with_outstanding(qs.select_related("violation_type", "branch", "subject_membership__user",
                                              "proposed_by")).order_by("-created_at", "-id")


def case_tab_counts(*, actor: User, membership: Membership | None) -> dict[str, int]:
    qs = _visible_cases(actor=actor, membership=membership)
    return qs.aggregate(
        open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
        proposed=Count("id", filter=Q(status=CaseStatus.PROPOSED)),
        appealed=Count("id", filter=Q(status=CaseStatus.APPEALED)),
        mine=Count("id", filter=Q(subject_membership__user=actor)),
        all=Count("id"),
    )


def case_get(*, actor: User, membership: Membership | None, pk: int) -> ViolationCase:
    case = case_list(actor=actor, membership=membership).filter(pk=pk).first()
    if case is None:
        raise Http404
    return case


def case_detail(case: ViolationCase) -> dict:
    """Everything the case page shows beside the case: timeline, evidence, appeal, entries and the
    catalogue entry as it stood when the fine was proposed."""
    version = (ViolationTypeVersion.objects.filter(violation_type_id=case.violation_type_id,
                                                   version=case.type_version).first())
    return {
        "events": list(case.events.select_related("actor")),
        "evidence": list(case.evidence.select_related("uploaded_by")),
        "appeal": case.appeals.select_related("filed_by", "decided_by").first(),
        "entries": list(case.entries.select_related("recorded_by").order_by("sequence")),
        "type_version": version,
    }


def appeal_list(*, actor: User, membership: Membership | None, status: str | None = None) -> QuerySet[Appeal]:
    cases = _visible_cases(actor=actor, membership=membership)
    qs = Appeal.objects.filter(case__in=cases).select_related(
        "case__violation_type", "case__branch", "case__subject_membership__user", "filed_by", "decided_by")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def appeal_pending_count(*, actor: User, membership: Membership | None) -> int:
    return appeal_list(actor=actor, membership=membership, status=AppealStatus.PENDING).count()


# --- the ledger -------------------------------------------------------------------------------------------

def ledger_list(*, actor: User, membership: Membership | None, date_from: dt.date | None = None,
                date_to: dt.date | None = None, branch: Branch | None = None, subject_membership: int | None = None,
                violation_type: int | None = None, tier: str | None = None, kind: str | None = None,
                status: str | None = None, case: int | None = None) -> QuerySet[LedgerEntry]:
    """Ledger entries in this member's reach, filtered; newest sequence first."""
    qs = LedgerEntry.objects.all()
    if not actor.has_perm("penalties.view_ledger"):
        qs = qs.filter(subject_membership__user=actor)
    else:
        reach = branch_reach(membership)
        if reach is not None:
            qs = qs.filter(branch__path__startswith=reach.path)
    if date_from:
        qs = qs.filter(effective_on__gte=date_from)
    if date_to:
        qs = qs.filter(effective_on__lte=date_to)
    if branch is not None:
        qs = qs.filter(branch__path__startswith=branch.path)
    if subject_membership:
        qs = qs.filter(subject_membership_id=subject_membership)
    if violation_type:
        qs = qs.filter(violation_type_id=violation_type)
    if tier:
        qs = qs.filter(tier=tier)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(case__status=status)
    if case:
        qs = qs.filter(case_id=case)
    return qs.select_related("case", "branch", "violation_type", "subject_membership__user",
                             "recorded_by").order_by("-sequence")


def _sums(qs: QuerySet) -> dict:
    def total(*kinds):
        return Coalesce(Sum("amount", filter=Q(kind__in=kinds)), Value(ZERO), output_field=MONEY_FIELD)

    return {
        "issued": total(EntryKind.FINE_ISSUED, EntryKind.REGULATOR_FINE),
        "reduced": total(EntryKind.FINE_REDUCED, EntryKind.FINE_REVERSED),
        "paid": total(EntryKind.PAYMENT_RECEIVED),
        "balance": Coalesce(Sum("amount"), Value(ZERO), output_field=MONEY_FIELD),
        "entries": Count("id"),
    }


def ledger_totals(qs: QuerySet[LedgerEntry]) -> dict:
    """Totals of the filtered entries: overall and by tier, branch, violation type and month. Each
    row has issued (+), reduced/reversed (−), paid (−) and balance (what is still owed) — five
    queries whatever the number of entries."""
    base = qs.order_by()
    sums = _sums(base)
    return {
        "overall": base.aggregate(**sums),
        "by_tier": sorted(base.values("tier").annotate(**sums).order_by(),
                          key=lambda row: TIER_ORDER.get(row["tier"], 9)),
        "by_branch": list(base.values("branch_id", "branch__name").annotate(**sums).order_by("branch__name")),
        "by_type": list(base.values("violation_type_id", "violation_type__code", "violation_type__name_zh",
                                    "violation_type__name_en").annotate(**sums).order_by("violation_type__code")),
        "by_month": list(base.annotate(month=TruncMonth("effective_on")).values("month").annotate(**sums)
                         .order_by("-month")),
    }


@dataclass
class ChainStatus:
    head_sequence: int
    last_checkpoint: LedgerCheckpoint | None
    last_verification: LedgerVerification | None
    pending: LedgerVerification | None

    @property
    def state(self) -> str:
        """intact | broken | unverified — what the badge says."""
        if self.last_verification is None:
            return "unverified"
        return "intact" if self.last_verification.status == VerificationStatus.PASSED else "broken"

    @property
    def unverified_entries(self) -> int:
        checked = (self.last_verification.head_sequence or 0) if self.last_verification else 0
        return max(0, self.head_sequence - checked)


def chain_status() -> ChainStatus:
    head = LedgerHead.objects.first()
    finished = (LedgerVerification.objects.filter(status__in=(VerificationStatus.PASSED, VerificationStatus.FAILED))
                .select_related("requested_by").order_by("-finished_at", "-id").first())
    pending = (LedgerVerification.objects.filter(status__in=(VerificationStatus.QUEUED, VerificationStatus.RUNNING))
               .order_by("-requested_at").first())
    return ChainStatus(head_sequence=head.last_sequence if head else 0,
                       last_checkpoint=LedgerCheckpoint.objects.order_by("-sequence").first(),
                       last_verification=finished, pending=pending)


def checkpoint_list() -> QuerySet[LedgerCheckpoint]:
    return LedgerCheckpoint.objects.order_by("-sequence")


def checkpoints_document(tenant, rows) -> dict:
    """The checkpoints as auditors keep them outside the system: each signed head with its key id
    and signature (hex), and the public key to verify them (docs/ledger.md)."""
    from . import signing

    return {
        "format": signing.MESSAGE_TAG,
        "tenant_id": tenant.pk, "tenant_code": tenant.code,
        "public_keys": {signing.current_key_id(): signing.public_key_b64()},
        "checkpoints": [{
            "sequence": c.sequence, "head_hash": c.head_hash_hex,
            "signed_at": c.signed_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "key_id": c.key_id, "signature": bytes(c.signature).hex(),
        } for c in rows],
    }


def verification_list() -> QuerySet[LedgerVerification]:
    return LedgerVerification.objects.select_related("requested_by").order_by("-requested_at", "-id")


def catalogue_list(*, include_inactive: bool = True) -> QuerySet[ViolationType]:
    qs = ViolationType.objects.select_related("updated_by").order_by("category", "code")
    return qs if include_inactive else qs.filter(is_active=True)


def catalogue_versions(violation_type: ViolationType) -> QuerySet[ViolationTypeVersion]:
    return violation_type.versions.select_related("changed_by").order_by("-version")


def my_fines_card(*, actor: User) -> dict:
    """The home page's card: the user's own fines in force and what they still owe."""
    qs = with_outstanding(ViolationCase.objects.filter(subject_membership__user=actor))
    rows = list(qs.filter(status__in=OPEN_STATUSES).select_related("violation_type").order_by("-created_at")[:5])
    owed = sum((row.outstanding for row in rows), ZERO)
    return {"rows": rows, "owed": owed}


def subject_choices(*, membership: Membership | None) -> QuerySet[Membership]:
    """Employees a fine may be proposed against, within this member's reach."""
    qs = Membership.objects.filter(is_active=True).select_related("user", "branch").order_by("user__username")
    reach = branch_reach(membership)
    return qs.filter(branch__path__startswith=reach.path) if reach is not None else qs


def branch_choices(*, membership: Membership | None) -> QuerySet[Branch]:
    qs = Branch.objects.filter(is_active=True).order_by("path")
    reach = branch_reach(membership)
    return qs.filter(path__startswith=reach.path) if reach is not None else qs


def fines_home_card(*, actor: User, membership: Membership | None) -> dict | None:
    """The home page's fines card: for managers what waits for them (to confirm, appealed); for an
    auditor the chain's state; for everyone their own open fines. None when there is nothing to say."""
    card = {"mine": my_fines_card(actor=actor)}
    if actor.has_perm("penalties.confirm_violation") or actor.has_perm("penalties.view_violationcase"):
        card["counts"] = case_tab_counts(actor=actor, membership=membership)
    if actor.has_perm("penalties.verify_ledger"):
        card["chain"] = chain_status()
    if not card["mine"]["rows"] and "counts" not in card and "chain" not in card:
        return None
    return card
