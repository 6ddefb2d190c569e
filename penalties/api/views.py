"""Penalties API (DOMAIN.md §5): the violation catalogue, fines (violation cases) with their whole
way — proposal, four-eyes confirmation, the one appeal and its decision, void, payments, evidence,
notes — the appeals queue, and the auditor's fine ledger: entries by sequence, totals, the logged
CSV/XLSX export, signed checkpoints with the public key, verification runs and the chain badge.

Who sees what is the selectors' business (employees their own fines, branch managers their
subtree, auditors / executives / tenant admins everything); each write needs its own permission
(penalties.permissions) and the services check the rest: four-eyes and the branch reach answer
403 with the service's message, the state machine and the inputs 400 naming the field. Another
company's id is 404. Thin: parse → service / selector → serialize."""
from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from tenancy.api.base import TenantScopedViewSet, parse
from tenancy.api.pagination import IdCursorPagination, TabCountsCursorPagination
from tenancy.api.permissions import RolePermission
from tenancy.views import client_ip

from .. import rules, selectors, services
from ..exporting import FORMATS, ledger_export
from ..models import (
    Appeal,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerVerification,
    ViolationCase,
    ViolationType,
)
from ..services.catalogue import EDITABLE
from . import serializers as s

# The permission each write action needs (the services check it again).
CASE_WRITE_PERMS = {
    "create": "penalties.add_violationcase", "confirm": "penalties.confirm_violation",
    "appeal": "penalties.appeal_violation", "decide_appeal": "penalties.decide_appeal",
    "void": "penalties.void_violation", "payments": "penalties.record_fine_payment",
    "evidence": "penalties.add_violationevidence", "notes": "penalties.add_violationcase",
}


class ExportThrottle(UserRateThrottle):
    scope = "export"


class VerifyThrottle(UserRateThrottle):
    scope = "ledger_verify"


class _NoFormatOverride:
    URL_FORMAT_OVERRIDE = None


class FileFormatNegotiation(DefaultContentNegotiation):
    """On the export, `?format=` names the file's format (csv, xlsx), not the API's renderer."""

    settings = _NoFormatOverride()


class LedgerPagination(IdCursorPagination):
    ordering = ("-sequence",)


class CheckpointPagination(IdCursorPagination):
    ordering = ("-sequence",)


class AppealPagination(IdCursorPagination):
    ordering = ("-created_at", "-id")


class VerificationPagination(IdCursorPagination):
    ordering = ("-requested_at", "-id")


class CasePagination(TabCountsCursorPagination):
    """Newest fine first; with `counts=true` the page carries the tab counts."""

    ordering = ("-created_at", "-id")
    tabs = tuple(selectors.CASE_TABS)
    counts_description = _("How many fines each tab holds (with counts=true)")


class PenaltiesViewSet(TenantScopedViewSet):
    """Per-action permissions: `action_perms` names what an action needs instead of the
    viewset's read_perm / write_perm."""

    action_perms: dict[str, str] = {}

    def get_permissions(self):
        perm = self.action_perms.get(self.action)
        if perm is not None:
            self.read_perm = self.write_perm = perm
        return super().get_permissions()


# --- the catalogue ----------------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(parameters=[s.ViolationTypeListQuerySerializer], responses=s.ViolationTypeSerializer(many=True)),
    retrieve=extend_schema(responses=s.ViolationTypeSerializer))
class ViolationTypeViewSet(mixins.RetrieveModelMixin, PenaltiesViewSet):
    """The violation catalogue: what a fine can be for, with its amount range and default. Everyone
    reads it; the tenant admin adds and changes entries (each change is a new version)."""

    model = ViolationType
    read_perm = "penalties.view_violationtype"
    write_perm = "penalties.manage_catalogue"
    serializer_class = s.ViolationTypeSerializer
    pagination_class = None
    filter_backends: list = []

    def scoped_queryset(self):
        return selectors.catalogue_list()

    def list(self, request, *args, **kwargs):
        query = parse(s.ViolationTypeListQuerySerializer, request.query_params)
        rows = selectors.catalogue_list(include_inactive=not query["active"])
        return Response(s.ViolationTypeSerializer(rows, many=True).data)

    def _reloaded(self, vt, code=status.HTTP_200_OK) -> Response:
        return Response(s.ViolationTypeSerializer(selectors.catalogue_list().get(pk=vt.pk)).data, status=code)

    @extend_schema(request=s.ViolationTypeCreateSerializer, responses={201: s.ViolationTypeSerializer})
    def create(self, request, *args, **kwargs):
        """Add a catalogue entry (version 1)."""
        vt = services.violation_type_create(actor=request.user, **parse(s.ViolationTypeCreateSerializer, request.data))
        return self._reloaded(vt, status.HTTP_201_CREATED)

    @extend_schema(request=s.ViolationTypeUpdateSerializer, responses=s.ViolationTypeSerializer)
    def partial_update(self, request, *args, **kwargs):
        """Change an entry: what is left out keeps its value; any change is a new version (fines
        keep the version they were proposed under)."""
        vt = self.get_object()
        data = parse(s.ViolationTypeUpdateSerializer, request.data)
        note = data.pop("note", "")
        values = {name: getattr(vt, name) for name in EDITABLE}
        values.update(data)
        vt = services.violation_type_update(actor=request.user, violation_type=vt, note=note, **values)
        return self._reloaded(vt)

    @extend_schema(responses=s.ViolationTypeVersionSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def versions(self, request, *args, **kwargs):
        """Every version of the entry, newest first."""
        vt = self.get_object()
        return Response(s.ViolationTypeVersionSerializer(selectors.catalogue_versions(vt), many=True).data)


# --- fines ------------------------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(parameters=[s.FineListQuerySerializer], responses=s.FineSerializer(many=True)),
    retrieve=extend_schema(responses=s.FineDetailSerializer))
class CaseViewSet(mixins.RetrieveModelMixin, PenaltiesViewSet):
    """Fines in the caller's reach: an employee sees their own, a branch manager their branch
    subtree (and their own), auditors, executives and tenant admins the whole company."""

    model = ViolationCase
    read_perm = "penalties.view_own_fines"
    write_perm = "penalties.add_violationcase"
    action_perms = CASE_WRITE_PERMS
    serializer_class = s.FineSerializer
    pagination_class = CasePagination
    filter_backends: list = []

    def scoped_queryset(self):
        return selectors.case_list(actor=self.request.user, membership=self.membership)

    def _detail_queryset(self, qs: QuerySet) -> QuerySet:
        return qs.select_related("confirmed_by", "voided_by", "ticket", "waybill")

    def get_queryset(self):
        qs = super().get_queryset()
        if self.action != "list" and not getattr(self, "swagger_fake_view", False):
            qs = self._detail_queryset(qs)
        return qs

    def get_serializer_class(self):
        return s.FineDetailSerializer if self.action != "list" else s.FineSerializer

    @staticmethod
    def detail_data(case) -> dict:
        return s.FineDetailSerializer(case, context={"detail": selectors.case_detail(case)}).data

    def _done(self, case, code=status.HTTP_200_OK) -> Response:
        """The case read back with everything the detail shows (also when the write took it out
        of the caller's reach)."""
        fresh = self._detail_queryset(self.scoped_queryset()).filter(pk=case.pk).first()
        if fresh is None:
            fresh = self._detail_queryset(selectors.with_outstanding(
                ViolationCase.objects.select_related("violation_type", "branch", "subject_membership__user",
                                                     "proposed_by"))).get(pk=case.pk)
        return Response(self.detail_data(fresh), status=code)

    def list(self, request, *args, **kwargs):
        query = parse(s.FineListQuerySerializer, request.query_params)
        with_counts = query.pop("counts")
        for name in ("status", "tier", "category", "detector"):
            query[name] = query[name] or None
        qs = selectors.case_list(actor=request.user, membership=self.membership, **query)
        page = self.paginate_queryset(qs)
        counts = (selectors.case_tab_counts(actor=request.user, membership=self.membership) if with_counts
                  else None)
        return self.paginator.get_paginated_response(s.FineSerializer(page, many=True).data, counts=counts)

    def retrieve(self, request, *args, **kwargs):
        return Response(self.detail_data(self.get_object()))

    @extend_schema(request=s.FineProposeSerializer, responses={201: s.FineDetailSerializer})
    def create(self, request, *args, **kwargs):
        """Propose a fine against an employee or a branch (a branch manager within their subtree,
        never against themselves). Someone else confirms it."""
        data = parse(s.FineProposeSerializer, request.data)
        case = services.case_propose(actor=request.user, **data)
        return self._done(case, status.HTTP_201_CREATED)

    @extend_schema(request=s.FineConfirmSerializer, responses=s.FineDetailSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, *args, **kwargs):
        """Four-eyes: confirmed by someone other than the proposer (403 otherwise) and not the
        person fined. Issues the fine in the ledger and opens the appeal window."""
        case = self.get_object()
        data = parse(s.FineConfirmSerializer, request.data)
        return self._done(services.case_confirm(actor=request.user, case=case, **data))

    @extend_schema(request=s.FineAppealInputSerializer, responses=s.FineDetailSerializer)
    @action(detail=True, methods=["post"])
    def appeal(self, request, *args, **kwargs):
        """The one appeal of a confirmed fine, within the appeal window and before any payment: by
        the employee fined, or by a manager on their behalf."""
        case = self.get_object()
        data = parse(s.FineAppealInputSerializer, request.data)
        services.case_appeal(actor=request.user, case=case, **data)
        return self._done(case)

    @extend_schema(request=s.FineDecideAppealSerializer, responses=s.FineDetailSerializer)
    @action(detail=True, methods=["post"], url_path="decide-appeal")
    def decide_appeal(self, request, *args, **kwargs):
        """Uphold, reduce (to `reduced_to`) or overturn the pending appeal. Four-eyes: not by whoever
        confirmed the fine, filed the appeal or is fined (403). A reduction or an overturn writes
        the reversing ledger entry."""
        case = self.get_object()
        data = parse(s.FineDecideAppealSerializer, request.data)
        services.appeal_decide(actor=request.user, case=case, **data)
        return self._done(case)

    @extend_schema(request=s.FineVoidSerializer, responses=s.FineDetailSerializer)
    @action(detail=True, methods=["post"])
    def void(self, request, *args, **kwargs):
        """Void a fine raised in error: a proposal, or a fine in force before any payment (its issue
        is reversed in the ledger)."""
        case = self.get_object()
        data = parse(s.FineVoidSerializer, request.data)
        return self._done(services.case_void(actor=request.user, case=case, **data))

    @extend_schema(request=s.FinePaymentSerializer, responses=s.FineDetailSerializer)
    @action(detail=True, methods=["post"])
    def payments(self, request, *args, **kwargs):
        """A payment received on a fine in force (at most what is still owed); paid in full, the
        fine is settled."""
        case = self.get_object()
        data = parse(s.FinePaymentSerializer, request.data)
        return self._done(services.case_payment_record(actor=request.user, case=case, **data))

    @extend_schema(request={"multipart/form-data": s.FineEvidenceUploadSerializer},
                   responses={201: s.FineEvidenceSerializer})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser, JSONParser])
    def evidence(self, request, *args, **kwargs):
        """Add a file that shows what happened (multipart: `file`, `description`); evidence is
        never replaced or removed."""
        case = self.get_object()
        data = parse(s.FineEvidenceUploadSerializer, request.data)
        upload = data["file"]
        # Never more than one byte past the company's limit in memory: the service refuses it by size.
        limit = rules.EVIDENCE_MAX_MB.value() * 1024 * 1024
        evidence = services.case_evidence_add(actor=request.user, case=case, name=upload.name,
                                              content=upload.read(limit + 1), description=data["description"])
        return Response(s.FineEvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.FineNoteSerializer, responses=s.FineDetailSerializer)
    @action(detail=True, methods=["post"])
    def notes(self, request, *args, **kwargs):
        """An internal note on the fine's timeline."""
        case = self.get_object()
        data = parse(s.FineNoteSerializer, request.data)
        services.case_note(actor=request.user, case=case, **data)
        return self._done(case)


@extend_schema_view(list=extend_schema(parameters=[s.FineAppealListQuerySerializer],
                                       responses=s.FineAppealListSerializer(many=True)))
class AppealViewSet(PenaltiesViewSet):
    """Appeals of the fines in the caller's reach, newest first."""

    model = Appeal
    read_perm = "penalties.view_appeal"
    write_perm = "penalties.decide_appeal"
    serializer_class = s.FineAppealListSerializer
    pagination_class = AppealPagination
    filter_backends: list = []

    def scoped_queryset(self):
        return selectors.appeal_list(actor=self.request.user, membership=self.membership)

    def list(self, request, *args, **kwargs):
        query = parse(s.FineAppealListQuerySerializer, request.query_params)
        qs = selectors.appeal_list(actor=request.user, membership=self.membership, status=query["status"] or None)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(s.FineAppealListSerializer(page, many=True).data)


# --- the ledger -----------------------------------------------------------------------------------

def _ledger_filters(query_params, serializer_class=s.LedgerQuerySerializer) -> tuple[dict, dict]:
    """(ledger_list's filters, the whole validated query) from the query string; 400 naming the field."""
    query = serializer_class(data=query_params)
    query.is_valid(raise_exception=True)
    return query.filters(), dict(query.validated_data)


@extend_schema_view(list=extend_schema(parameters=[s.LedgerQuerySerializer],
                                       responses=s.LedgerEntrySerializer(many=True)))
class LedgerViewSet(PenaltiesViewSet):
    """The fine ledger: insert-only, hash-chained per company, newest sequence first. A branch
    manager reads their subtree's entries."""

    model = LedgerEntry
    read_perm = "penalties.view_ledger"
    action_perms = {"export": "penalties.export_ledger"}
    serializer_class = s.LedgerEntrySerializer
    pagination_class = LedgerPagination
    filter_backends: list = []

    def scoped_queryset(self):
        return selectors.ledger_list(actor=self.request.user, membership=self.membership)

    def _entries(self, filters: dict) -> QuerySet:
        return selectors.ledger_list(actor=self.request.user, membership=self.membership, **filters)

    def list(self, request, *args, **kwargs):
        filters, _query = _ledger_filters(request.query_params)
        page = self.paginate_queryset(self._entries(filters))
        return self.get_paginated_response(s.LedgerEntrySerializer(page, many=True).data)

    @extend_schema(parameters=[s.LedgerQuerySerializer], responses=s.LedgerTotalsSerializer)
    @action(detail=False, methods=["get"], pagination_class=None)
    def totals(self, request, *args, **kwargs):
        """Totals of the filtered entries: overall and by tier, branch, violation type and month —
        issued (+), reduced / reversed (−), paid (−) and the balance still owed."""
        filters, _query = _ledger_filters(request.query_params)
        return Response(s.LedgerTotalsSerializer(selectors.ledger_totals(self._entries(filters))).data)

    @extend_schema(parameters=[s.LedgerExportQuerySerializer],
                   responses={(200, content_type.split(";")[0]): OpenApiTypes.BINARY
                              for content_type, _extension in FORMATS.values()})
    @action(detail=False, methods=["get"], pagination_class=None, throttle_classes=[ExportThrottle],
            content_negotiation_class=FileFormatNegotiation)
    def export(self, request, *args, **kwargs):
        """The filtered entries as a CSV or Excel file in sequence order, with every chained field,
        the previous hash and the hash (to recompute the chain outside the system). Each export
        writes one access-log row (ids, count, the file's SHA-256)."""
        filters, query = _ledger_filters(request.query_params, s.LedgerExportQuerySerializer)
        django_request = request._request
        result = ledger_export(actor=request.user, membership=self.membership, filters=filters,
                               file_format=query["format"], request_id=getattr(django_request, "request_id", ""),
                               ip_address=client_ip(django_request))
        response = HttpResponse(result.content, content_type=result.content_type)
        response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
        response["Cache-Control"] = "no-store"
        return response


@extend_schema_view(list=extend_schema(responses=s.LedgerCheckpointSerializer(many=True)))
class CheckpointViewSet(mixins.ListModelMixin, PenaltiesViewSet):
    """Signed checkpoints of the company's chain (sequence, head hash, Ed25519 signature), newest
    first."""

    model = LedgerCheckpoint
    read_perm = "penalties.view_ledger"
    serializer_class = s.LedgerCheckpointSerializer
    pagination_class = CheckpointPagination
    filter_backends: list = []

    def scoped_queryset(self):
        return selectors.checkpoint_list()

    @extend_schema(responses=s.LedgerCheckpointDocumentSerializer)
    @action(detail=False, methods=["get"], pagination_class=None)
    def document(self, request, *args, **kwargs):
        """Every checkpoint (oldest first) with its signature and the public keys, as auditors keep
        it outside the system — the same document as the ledger page's download."""
        rows = selectors.checkpoint_list().order_by("sequence")
        return Response(selectors.checkpoints_document(request._request.membership.tenant, rows))


@extend_schema_view(list=extend_schema(responses=s.LedgerVerificationSerializer(many=True)),
                    retrieve=extend_schema(responses=s.LedgerVerificationSerializer))
class VerificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PenaltiesViewSet):
    """Runs of the chain verifier (nightly, on request, before a checkpoint) and what they found,
    newest first. POST queues a run ("verify now"); a worker runs it after the commit."""

    model = LedgerVerification
    read_perm = "penalties.view_ledger"
    write_perm = "penalties.verify_ledger"
    serializer_class = s.LedgerVerificationSerializer
    pagination_class = VerificationPagination
    filter_backends: list = []

    def scoped_queryset(self):
        return selectors.verification_list()

    def get_throttles(self):
        return [VerifyThrottle()] if self.action == "create" else super().get_throttles()

    @extend_schema(request=None, responses={201: s.LedgerVerificationSerializer})
    def create(self, request, *args, **kwargs):
        verification = services.ledger_verification_request(actor=request.user)
        verification = selectors.verification_list().get(pk=verification.pk)
        return Response(s.LedgerVerificationSerializer(verification).data, status=status.HTTP_201_CREATED)


class ChainStatusView(APIView):
    """The chain's badge: intact, broken or unverified (by the last finished verification), the
    head's sequence number, entries added since, a queued or running verification and the last
    checkpoint."""

    permission_classes = [RolePermission]
    read_perm = "penalties.view_ledger"
    write_perm = "penalties.verify_ledger"

    @extend_schema(responses=s.LedgerChainStatusSerializer)
    def get(self, request, *args, **kwargs):
        chain = selectors.chain_status()
        return Response(s.LedgerChainStatusSerializer({
            "state": chain.state, "head_sequence": chain.head_sequence,
            "unverified_entries": chain.unverified_entries, "last_verification": chain.last_verification,
            "pending": chain.pending, "last_checkpoint": chain.last_checkpoint}).data)

