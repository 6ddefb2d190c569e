"""Every read of claims used by pages, the API and tasks: the claims queue by tab, one claim
with its evidence checklist and timeline, claims of a customer or waybill, the home card and the
claims report (data for the dashboards).

A branch manager sees the claims of their branch subtree; everyone else who may read claims
sees the whole company's (the same reach as tickets)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import timezone

from tenancy.models import Branch, Membership

from .. import claim_rules
from ..models import (
    AWAITING_DECISION,
    AWAITING_PAYOUT,
    CLAIM_DONE,
    Claim,
    ClaimCause,
    ClaimEvent,
    ClaimEvidence,
    ClaimStatus,
    ClaimType,
    EvidenceKind,
)
from .exceptions import in_reach

# The queue's tabs: what each shows and in which order (the clock that runs out first on top).
CLAIM_TABS = {
    "open": Q(status__in=AWAITING_DECISION),
    "due": Q(status__in=AWAITING_DECISION) & (Q(decision_warned=True) | Q(decision_breached=True)),
    "decide": Q(status=ClaimStatus.UNDER_REVIEW, computed_amount__isnull=False),
    "pay": Q(status__in=AWAITING_PAYOUT),
    "drafts": Q(status=ClaimStatus.DRAFT),
    "closed": Q(status__in=CLAIM_DONE),
    "all": Q(),
}
TAB_ORDER = {
    "open": ("decision_due", "id"), "due": ("decision_due", "id"), "decide": ("decision_due", "id"),
    "pay": ("decided_at", "id"), "drafts": ("-created_at", "-id"), "closed": ("-closed_at", "-id"),
    "all": ("-created_at", "-id"),
}
SORTS = {"clock": ("decision_due", "id"), "amount": ("-claimed_amount", "-id"), "new": ("-created_at", "-id")}


def _in_branch(qs: QuerySet[Claim], branch_id: int | None) -> QuerySet[Claim]:
    """Only the claims of one branch's subtree (no branch: all)."""
    if not branch_id:
        return qs
    branch = Branch.objects.filter(pk=branch_id).first()
    return qs.filter(branch__path__startswith=branch.path) if branch else qs.none()


def claim_list(*, membership: Membership | None) -> QuerySet[Claim]:
    """The claims this member may read, newest first."""
    qs = Claim.objects.select_related("ticket", "waybill", "branch", "team", "claimant").order_by("-created_at", "-id")
    return in_reach(qs, membership)


def claim_get(*, membership: Membership | None, pk: int) -> Claim:
    """One claim this member may read, or 404 (another company's, or outside a manager's subtree)."""
    claim = (claim_list(membership=membership)
             .select_related("filed_by", "assessed_by", "decided_by", "team__lead__user").filter(pk=pk).first())
    if claim is None:
        raise Http404
    return claim


@dataclass(frozen=True)
class ClaimFilters:
    tab: str = "open"
    claim_type: str = ""
    status: str = ""
    branch_id: int | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    search: str = ""
    sort: str = ""


def claims_queue(*, membership: Membership | None, filters: ClaimFilters) -> QuerySet[Claim]:
    """The claims queue: one tab's claims in this member's reach, filtered, the clock that runs
    out first on top (or as sorted)."""
    qs = claim_list(membership=membership).filter(CLAIM_TABS.get(filters.tab, CLAIM_TABS["open"]))
    if filters.claim_type:
        qs = qs.filter(claim_type=filters.claim_type)
    if filters.status:
        qs = qs.filter(status=filters.status)
    qs = _in_branch(qs, filters.branch_id)
    if filters.min_amount is not None:
        qs = qs.filter(claimed_amount__gte=filters.min_amount)
    if filters.max_amount is not None:
        qs = qs.filter(claimed_amount__lte=filters.max_amount)
    search = filters.search.strip()
    if search:
        qs = qs.filter(Q(number__iexact=search) | Q(waybill__number__iexact=search) | Q(ticket__number__iexact=search))
    order = SORTS.get(filters.sort) or TAB_ORDER.get(filters.tab, TAB_ORDER["open"])
    return qs.order_by(*order)


def claims_tab_counts(*, membership: Membership | None) -> dict[str, int]:
    """How many claims each tab holds, in one query."""
    qs = claim_list(membership=membership).order_by()
    return qs.aggregate(**{tab: Count("id", filter=q) for tab, q in CLAIM_TABS.items() if tab != "all"})


def claim_timeline(*, claim: Claim) -> list[ClaimEvent]:
    return list(ClaimEvent.objects.filter(claim=claim).select_related("actor").order_by("created_at", "id"))


def claim_evidence(*, claim: Claim) -> list[ClaimEvidence]:
    return list(ClaimEvidence.objects.filter(claim=claim).select_related("attachment", "added_by")
                .order_by("created_at", "id"))


@dataclass(frozen=True)
class ChecklistItem:
    kind: str
    label: str
    required: bool
    count: int

    @property
    def done(self) -> bool:
        return self.count > 0


def evidence_checklist(*, claim: Claim, evidence: list[ClaimEvidence]) -> list[ChecklistItem]:
    """Each evidence kind with whether the claim's type needs it and how many files show it."""
    required = claim_rules.evidence_required(claim.claim_type, on=timezone.localdate(claim.created_at))
    counts: dict[str, int] = {}
    for item in evidence:
        counts[item.kind] = counts.get(item.kind, 0) + 1
    kinds = [*required, *[k for k in EvidenceKind.values if k not in required and counts.get(k)]]
    return [ChecklistItem(kind=k, label=str(EvidenceKind(k).label), required=k in required, count=counts.get(k, 0))
            for k in kinds]


def claims_of_customer(*, membership: Membership | None, customer_id: int, limit: int = 10) -> dict:
    """The customer 360's claims card: totals and the latest `limit`, in this member's reach."""
    qs = claim_list(membership=membership).filter(claimant_id=customer_id)
    totals = qs.order_by().aggregate(total=Count("id"), open=Count("id", filter=~Q(status__in=CLAIM_DONE)),
                                     paid=Sum("payout__amount"))
    return {"claims": list(qs[:limit]), "total": totals["total"], "open": totals["open"],
            "paid": totals["paid"] or Decimal("0.00")}


def claims_of_waybill(*, membership: Membership | None, waybill_id: int) -> list[Claim]:
    return list(claim_list(membership=membership).filter(waybill_id=waybill_id))


def claims_of_ticket(*, ticket_id: int) -> list[Claim]:
    return list(Claim.objects.filter(ticket_id=ticket_id).order_by("-created_at", "-id"))


def claims_home_card(*, membership: Membership | None) -> dict:
    """The home card: claims waiting for a decision, how many are nearing or past their clock,
    and approved ones waiting for the payout."""
    qs = claim_list(membership=membership).order_by()
    return qs.aggregate(
        open=Count("id", filter=Q(status__in=AWAITING_DECISION)),
        due=Count("id", filter=Q(status__in=AWAITING_DECISION, decision_warned=True, decision_breached=False)),
        late=Count("id", filter=Q(status__in=AWAITING_DECISION, decision_breached=True)),
        to_pay=Count("id", filter=Q(status__in=AWAITING_PAYOUT)),
    )


# --- the claims report -------------------------------------------------------------------------

def _report_base(membership: Membership | None, date_from: dt.date | None, date_to: dt.date | None,
                 branch_id: int | None) -> QuerySet[Claim]:
    qs = claim_list(membership=membership).order_by().exclude(status=ClaimStatus.DRAFT)
    if date_from:
        qs = qs.filter(created_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(created_at__date__lte=date_to)
    return _in_branch(qs, branch_id)


_APPROVED = Q(status__in=[ClaimStatus.APPROVED, ClaimStatus.PARTIALLY_APPROVED, ClaimStatus.PAID])
_MEASURES = {
    "opened": Count("id"),
    "claimed_amount": Sum("claimed_amount"),
    "approved": Count("id", filter=_APPROVED),
    "approved_amount": Sum("approved_amount", filter=_APPROVED),
    "rejected": Count("id", filter=Q(status=ClaimStatus.REJECTED)),
    "paid": Count("payout"),
    "paid_amount": Sum("payout__amount"),
}


def _rows(qs: QuerySet[Claim], *keys: str) -> list[dict]:
    rows = []
    for row in qs.values(*keys).annotate(**_MEASURES).order_by(*keys):
        for money in ("claimed_amount", "approved_amount", "paid_amount"):
            row[money] = row[money] or Decimal("0.00")
        rows.append(row)
    return rows


def claims_report(*, membership: Membership | None, date_from: dt.date | None = None,
                  date_to: dt.date | None = None, branch_id: int | None = None, top: int = 5) -> dict:
    """Claims filed in the period (by filing date) and what became of them: counts and amounts by
    type, by branch and by month; the average days from submission to decision; the top causes."""
    qs = _report_base(membership, date_from, date_to, branch_id)
    decided = qs.filter(decided_at__isnull=False, submitted_at__isnull=False)
    average = decided.aggregate(avg=Avg(ExpressionWrapper(F("decided_at") - F("submitted_at"),
                                                          output_field=DurationField())))["avg"]
    by_type = _rows(qs, "claim_type")
    for row in by_type:
        row["label"] = str(ClaimType(row["claim_type"]).label)
    by_branch = _rows(qs, "branch_id", "branch__name")
    for row in by_branch:
        row["label"] = row["branch__name"] or ""
    by_month = _rows(qs.annotate(month=TruncMonth("created_at")), "month")
    for row in by_month:
        row["month"] = timezone.localtime(row["month"]).strftime("%Y-%m") if row["month"] else ""
        row["label"] = row["month"]
    causes = []
    for row in (qs.exclude(cause="").values("cause").annotate(claims=Count("id"), paid_amount=Sum("payout__amount"))
                .order_by("-claims", "cause")[:top]):
        row["label"] = str(ClaimCause(row["cause"]).label)
        row["paid_amount"] = row["paid_amount"] or Decimal("0.00")
        causes.append(row)
    totals = qs.aggregate(**_MEASURES)
    for money in ("claimed_amount", "approved_amount", "paid_amount"):
        totals[money] = totals[money] or Decimal("0.00")
    return {
        "totals": totals,
        "average_days_to_decision": (round(Decimal(average.total_seconds()) / Decimal(86400), 1)
                                     if average is not None else None),
        "by_type": by_type,
        "by_branch": by_branch,
        "by_month": by_month,
        "top_causes": causes,
    }
