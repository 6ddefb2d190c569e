"""Claims API (loss, damage and delay claims, DOMAIN.md §4): the claims queue by tab with the tab
counts, filing and changing a draft, evidence uploads, submission, assessment, the decision at the
right approval level, the one payout, withdrawal, notes, the timeline and the claims report.

Reading needs `tickets.view_claim` (a branch manager sees their branch subtree); each write needs
its own permission (file: add_claim; change, evidence, submit, withdraw, notes: change_claim;
review, assess: assess_claim; approve, reject: decide_claim; pay: pay_claim), and the services
check the rest: four-eyes and the approval level (403 with the service's message), the state
machine and the inputs (400 naming the field). Thin: parse → service / selector → serialize."""
from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from tenancy.api.base import TenantScopedViewSet, parse
from tenancy.api.pagination import TabCountsCursorPagination

from .. import rules
from ..models import Claim
from ..selectors import claims as selectors
from ..services import claims as services
from . import claim_serializers as s
from .tickets import renamed

READ_PERM = "tickets.view_claim"
# The permission each write action needs (the services check it again).
WRITE_PERMS = {
    "create": "tickets.add_claim",
    "partial_update": "tickets.change_claim", "evidence": "tickets.change_claim", "submit": "tickets.change_claim",
    "withdraw": "tickets.change_claim", "notes": "tickets.change_claim",
    "review": "tickets.assess_claim", "assess": "tickets.assess_claim",
    "approve": "tickets.decide_claim", "reject": "tickets.decide_claim",
    "pay": "tickets.pay_claim",
}
# Where a claim whose sort column is still empty goes in the cursor order: last, either way.
_LAST_ASCENDING = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
_LAST_DESCENDING = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NULLABLE_SORT_COLUMNS = {"decision_due", "decided_at", "closed_at"}


class ClaimCursorPagination(TabCountsCursorPagination):
    """Cursor pagination in the queue's own order (the tab's, or `sort`): the selector's first
    sort column, coalesced so an empty one sorts last, then the id."""

    ordering = ("-cursor_key", "-id")
    tabs = tuple(tab for tab in selectors.CLAIM_TABS if tab != "all")
    counts_description = _("How many claims each tab holds (with counts=true)")

    def get_ordering(self, request, queryset, view):
        return getattr(view, "cursor_ordering", self.ordering)


def cursor_ordered(qs):
    """The queue in the selector's order, as a (cursor_key, id) pair the cursor can resume from."""
    first = qs.query.order_by[0] if qs.query.order_by else "-created_at"
    column, descending = first.lstrip("-"), first.startswith("-")
    key = F(column)
    if column in _NULLABLE_SORT_COLUMNS:
        key = Coalesce(column, Value(_LAST_DESCENDING if descending else _LAST_ASCENDING,
                                     output_field=DateTimeField()))
    sign = "-" if descending else ""
    return qs.annotate(cursor_key=key), (f"{sign}cursor_key", f"{sign}id")


@extend_schema_view(
    list=extend_schema(parameters=[s.ClaimListQuerySerializer], responses=s.ClaimSerializer(many=True)),
    retrieve=extend_schema(responses=s.ClaimDetailSerializer))
class ClaimViewSet(mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Claims in the caller's reach (branch managers: their subtree). The list is the claims
    queue: one tab, the decision clock that runs out first on top (or as `sort` says)."""

    model = Claim
    read_perm = READ_PERM
    write_perm = "tickets.change_claim"
    serializer_class = s.ClaimSerializer
    pagination_class = ClaimCursorPagination
    filter_backends: list = []

    def scoped_queryset(self):
        return selectors.claim_list(membership=self.membership)

    def detail_queryset(self):
        return self.scoped_queryset().select_related("filed_by", "assessed_by", "decided_by", "payout__paid_by")

    def get_queryset(self):
        if self.action == "retrieve" and not getattr(self, "swagger_fake_view", False):
            return self.detail_queryset()
        return super().get_queryset()

    def get_permissions(self):
        # Reads (GET evidence, timeline, report) need read_perm whatever the action.
        self.write_perm = WRITE_PERMS.get(self.action, self.write_perm)
        return super().get_permissions()

    def get_serializer_class(self):
        return s.ClaimDetailSerializer if self.action == "retrieve" else s.ClaimSerializer

    def _done(self, claim, code=status.HTTP_200_OK):
        # Read back with everything the detail shows; a claim filed by a branch manager for a
        # waybill of another branch is outside their reach afterwards, but they still get the answer.
        claim = self.detail_queryset().filter(pk=claim.pk).first() or claim
        return Response(s.ClaimDetailSerializer(claim).data, status=code)

    # --- the queue -----------------------------------------------------------------------------

    def list(self, request, *args, **kwargs):
        query = parse(s.ClaimListQuerySerializer, request.query_params)
        filters = selectors.ClaimFilters(
            tab=query["tab"], claim_type=query["claim_type"], status=query["status"], branch_id=query["branch"],
            min_amount=query["min_amount"], max_amount=query["max_amount"], search=query["search"],
            sort=query["sort"])
        queue, self.cursor_ordering = cursor_ordered(selectors.claims_queue(membership=self.membership,
                                                                            filters=filters))
        page = self.paginate_queryset(queue)
        counts = selectors.claims_tab_counts(membership=self.membership) if query["counts"] else None
        return self.paginator.get_paginated_response(s.ClaimSerializer(page, many=True).data, counts=counts)

    # --- filing and changing a draft -----------------------------------------------------------

    @extend_schema(request=s.ClaimCreateSerializer, responses={201: s.ClaimDetailSerializer})
    def create(self, request, *args, **kwargs):
        """File a draft claim for a ticket's waybill (the waybill's declared value, insured amount
        and service fee are captured); submit it once the evidence is complete."""
        data = parse(s.ClaimCreateSerializer, request.data, context={"membership": self.membership})
        claim = services.claim_file(actor=request.user, **data)
        return self._done(claim, status.HTTP_201_CREATED)

    @extend_schema(request=s.ClaimUpdateSerializer, responses=s.ClaimDetailSerializer)
    def partial_update(self, request, *args, **kwargs):
        """Change a draft's amount, description or claimant."""
        claim = self.get_object()
        data = parse(s.ClaimUpdateSerializer, request.data)
        return self._done(services.claim_update(actor=request.user, claim=claim, **data))

    # --- evidence ------------------------------------------------------------------------------

    @extend_schema(methods=["GET"], responses=s.ClaimEvidenceSerializer(many=True))
    @extend_schema(methods=["POST"], request={"multipart/form-data": s.ClaimEvidenceUploadSerializer},
                   responses={201: s.ClaimEvidenceSerializer})
    @action(detail=True, methods=["get", "post"], parser_classes=[MultiPartParser, FormParser, JSONParser],
            pagination_class=None)
    def evidence(self, request, pk=None):
        """The claim's evidence files (GET), or add one (POST multipart: `kind`, `file`, `note`);
        the file is stored as an attachment of the claim's ticket."""
        claim = self.get_object()
        if request.method == "GET":
            return Response(s.ClaimEvidenceSerializer(selectors.claim_evidence(claim=claim), many=True).data)
        data = parse(s.ClaimEvidenceUploadSerializer, request.data)
        upload = data["file"]
        # Never more than one byte past the tenant's limit in memory: the service refuses it by size.
        limit = rules.ATTACHMENT_MAX_MB.value() * 1024 * 1024
        try:
            evidence = services.claim_evidence_add(actor=request.user, claim=claim, kind=data["kind"],
                                                   name=upload.name, content=upload.read(limit + 1),
                                                   note=data["note"])
        except DjangoValidationError as exc:
            raise renamed(exc, {"body": "file"}) from exc
        return Response(s.ClaimEvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED)

    # --- the way through -----------------------------------------------------------------------

    @extend_schema(request=None, responses=s.ClaimDetailSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """Draft → submitted once the evidence checklist is complete (else a 400 naming
        `evidence`); starts the decision clock."""
        return self._done(services.claim_submit(actor=request.user, claim=self.get_object()))

    @extend_schema(request=None, responses=s.ClaimDetailSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        """Submitted → under review: the assessor takes the claim."""
        return self._done(services.claim_review_start(actor=request.user, claim=self.get_object()))

    @extend_schema(request=s.ClaimAssessSerializer, responses=s.ClaimDetailSerializer)
    @action(detail=True, methods=["post"])
    def assess(self, request, pk=None):
        """Record the assessment (cause, value of the goods, damaged share): the rules in force on
        the day of submission compute the payable amount. Assessing again recomputes."""
        claim = self.get_object()
        data = parse(s.ClaimAssessSerializer, request.data)
        return self._done(services.claim_assess(actor=request.user, claim=claim, **data))

    @extend_schema(request=s.ClaimApproveSerializer, responses=s.ClaimDetailSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve paying `amount` (default: what the rules allow). The approver needs the level
        the amount requires and must not have filed the claim (403); less than the rules allow is
        a partial approval, more needs headquarters; either needs a reason."""
        claim = self.get_object()
        data = parse(s.ClaimApproveSerializer, request.data)
        return self._done(services.claim_approve(actor=request.user, claim=claim, **data))

    @extend_schema(request=s.ClaimReasonSerializer, responses=s.ClaimDetailSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject with a reason the customer is told (the ticket is resolved with it)."""
        claim = self.get_object()
        data = parse(s.ClaimReasonSerializer, request.data)
        return self._done(services.claim_reject(actor=request.user, claim=claim, **data))

    @extend_schema(request=s.ClaimPaySerializer, responses=s.ClaimDetailSerializer)
    @action(detail=True, methods=["post"])
    def pay(self, request, pk=None):
        """Record the one payout of an approved claim (at most the approved amount): the claim is
        paid, the ticket resolved and the customer told. A second payout is a 400."""
        claim = self.get_object()
        data = parse(s.ClaimPaySerializer, request.data)
        services.claim_pay(actor=request.user, claim=claim, **data)
        return self._done(claim)

    @extend_schema(request=s.ClaimReasonSerializer, responses=s.ClaimDetailSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """The claimant withdraws; only until the claim is decided."""
        claim = self.get_object()
        data = parse(s.ClaimReasonSerializer, request.data)
        return self._done(services.claim_withdraw(actor=request.user, claim=claim, **data))

    @extend_schema(request=s.ClaimNoteSerializer, responses=s.ClaimDetailSerializer)
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        """An internal note on the claim's timeline."""
        claim = self.get_object()
        data = parse(s.ClaimNoteSerializer, request.data)
        services.claim_note(actor=request.user, claim=claim, **data)
        return self._done(claim)

    # --- reading more --------------------------------------------------------------------------

    @extend_schema(responses=s.ClaimEventSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def timeline(self, request, pk=None):
        """Every step of the claim, oldest first."""
        return Response(s.ClaimEventSerializer(selectors.claim_timeline(claim=self.get_object()), many=True).data)

    @extend_schema(parameters=[s.ClaimsReportQuerySerializer], responses=s.ClaimsReportSerializer)
    @action(detail=False, methods=["get"], pagination_class=None)
    def report(self, request):
        """Claims filed in the period (drafts not counted) and what became of them: counts and
        amounts by type, branch and month, the average days from submission to decision and the
        top causes. A branch manager's report covers their subtree."""
        query = parse(s.ClaimsReportQuerySerializer, request.query_params)
        report = selectors.claims_report(membership=self.membership, date_from=query["date_from"],
                                         date_to=query["date_to"], branch_id=query["branch"])
        return Response(s.ClaimsReportSerializer({**query, **report}).data)


urlpatterns: list = []


def register(router) -> None:
    """Add this area's viewsets to the tickets API router."""
    router.register("claims", ClaimViewSet, basename="claim")
