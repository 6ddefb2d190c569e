"""Data-subject requests API (/api/v1/compliance/requests/): the queue with its clocks, one request
(personal values masked, its timeline and exports), registering a request, and the handler's
steps — assign, link the customer, verify the identity, notes, the access export (POST builds it
in the background; `exports/<id>/download/` hands the file over once, logged), correction, the
deletion preview and the deletion itself (confirmed by the request number), the objection, and
closing.

Who: compliance staff (view_compliance, handle_dsr) read every request; a front-line colleague
(register_dsr) registers requests and reads the ones they registered; every step needs
handle_dsr. Another company's id is 404; the services' refusals are 400 naming the field."""
from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from compliance.models import ConsentPurpose, DataSubjectRequest, DsrEvent, DsrExport, DsrKind, DsrRegime, DsrStatus
from compliance.models.requests import IdentityMethod
from compliance.selectors.requests import dsr_events, dsr_exports, dsr_list
from compliance.services import requests as services
from customers.models import Customer
from tenancy.api.base import MAX_ID, ScopedPrimaryKeyRelatedField, TenantScopedViewSet, parse
from tenancy.api.pagination import IdCursorPagination
from tenancy.api.permissions import IsTenantMember
from tenancy.fields import masked
from tenancy.models import Membership
from tenancy.views import client_ip

QUEUE_PERMS = ("compliance.view_compliance", "compliance.handle_dsr")
CLOCKS = ("overdue", "at_risk", "on_track", "closed")
CLOSE_STATUSES = (DsrStatus.COMPLETED, DsrStatus.REJECTED, DsrStatus.WITHDRAWN)


def can_see_queue(user) -> bool:
    return any(user.has_perm(perm) for perm in QUEUE_PERMS)


class DsrPermission(BasePermission):
    """The list needs compliance staff; one request also its registrar (the queryset narrows them
    to their own); registering needs register_dsr; every other step handle_dsr."""

    message = "Your role does not allow this."

    def has_permission(self, request, view):
        if not IsTenantMember().has_permission(request, view):
            return False
        user = request.user
        if view.action in ("list", "exports"):
            return can_see_queue(user)
        if view.action == "retrieve":
            return can_see_queue(user) or user.has_perm("compliance.register_dsr")
        if view.action == "create":
            return user.has_perm("compliance.register_dsr")
        return user.has_perm("compliance.handle_dsr")


# --- serializers -----------------------------------------------------------------------------------

@extend_schema_field(OpenApiTypes.STR)
class MaskedField(serializers.Field):
    """A personal field as every screen shows it (DOMAIN.md §6)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("source", "*")
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def bind(self, field_name, parent):
        super().bind(field_name, parent)
        self.personal_field = field_name

    def to_representation(self, obj):
        return masked(obj, self.personal_field)


class DsrSerializer(serializers.ModelSerializer):
    clock = serializers.ChoiceField(choices=[(c, c) for c in CLOCKS], read_only=True)
    owner_username = serializers.CharField(source="owner.user.username", read_only=True,
                                           default=None, allow_null=True)
    customer_number = serializers.CharField(source="customer.number", read_only=True,
                                            default=None, allow_null=True)
    subject_name = MaskedField()
    subject_phone = MaskedField()
    subject_email = MaskedField()
    subject_id_number = MaskedField()

    class Meta:
        model = DataSubjectRequest
        fields = ["id", "number", "kind", "regime", "status", "clock", "channel", "received_at", "due_at",
                  "owner", "owner_username", "customer", "customer_number", "subject_name", "subject_phone",
                  "subject_email", "subject_id_number", "identity_verified_at", "completed_at", "subject_erased_at"]
        read_only_fields = fields


class DsrEventSerializer(serializers.ModelSerializer):
    actor_username = serializers.CharField(source="actor.username", read_only=True,
                                           default=None, allow_null=True)

    class Meta:
        model = DsrEvent
        fields = ["id", "kind", "actor", "actor_username", "from_status", "to_status", "body", "data", "created_at"]
        read_only_fields = fields


class DsrExportSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)
    requested_by_username = serializers.CharField(source="requested_by.username", read_only=True)
    downloaded_by_username = serializers.CharField(source="downloaded_by.username", read_only=True,
                                                   default=None, allow_null=True)

    class Meta:
        model = DsrExport
        fields = ["id", "status", "steps_done", "steps_total", "percent", "current_step", "record_count", "sha256",
                  "error", "requested_by", "requested_by_username", "created_at", "started_at", "finished_at",
                  "downloaded_at", "downloaded_by", "downloaded_by_username"]
        read_only_fields = fields


class DsrDetailSerializer(DsrSerializer):
    details = MaskedField()
    identity_method = serializers.ChoiceField(choices=IdentityMethod.choices, allow_blank=True, read_only=True)
    created_by_username = serializers.CharField(source="created_by.username", read_only=True)
    events = serializers.SerializerMethodField()
    exports = serializers.SerializerMethodField()

    class Meta(DsrSerializer.Meta):
        fields = [*DsrSerializer.Meta.fields, "details", "identity_method", "identity_note", "identity_verified_by",
                  "resolution", "created_by", "created_by_username", "events", "exports"]
        read_only_fields = fields

    @extend_schema_field(DsrEventSerializer(many=True))
    def get_events(self, obj):
        return DsrEventSerializer(dsr_events(obj), many=True).data

    @extend_schema_field(DsrExportSerializer(many=True))
    def get_exports(self, obj):
        return DsrExportSerializer(dsr_exports(obj), many=True).data


class DsrListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[("open", "open"), *DsrStatus.choices], required=False,
                                     help_text="`open`: received, verified or in progress.")
    kind = serializers.ChoiceField(choices=DsrKind.choices, required=False)
    clock = serializers.ChoiceField(choices=[(c, c) for c in CLOCKS], required=False)
    owner = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, help_text="Membership id.")
    number = serializers.CharField(max_length=24, required=False)


class DsrCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DsrKind.choices)
    regime = serializers.ChoiceField(choices=DsrRegime.choices, default=DsrRegime.PIPL)
    channel = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    subject_name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    subject_phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    subject_email = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    subject_id_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    details = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    received_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    customer = ScopedPrimaryKeyRelatedField(Customer, required=False, allow_null=True, default=None)
    owner = ScopedPrimaryKeyRelatedField(Membership, required=False, allow_null=True, default=None)


class DsrAssignSerializer(serializers.Serializer):
    owner = ScopedPrimaryKeyRelatedField(Membership, help_text="The membership who handles the request.")


class DsrLinkCustomerSerializer(serializers.Serializer):
    customer = ScopedPrimaryKeyRelatedField(Customer, allow_null=True)


class DsrVerifySerializer(serializers.Serializer):
    identity_method = serializers.ChoiceField(choices=IdentityMethod.choices)
    identity_note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class DsrNoteSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=4000)


class DsrCorrectSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    email = serializers.CharField(max_length=200, required=False, allow_blank=True)
    id_number = serializers.CharField(max_length=40, required=False, allow_blank=True)
    delivery_notes = serializers.CharField(max_length=500, required=False, allow_blank=True)


class DsrEraseSerializer(serializers.Serializer):
    confirm_number = serializers.CharField(max_length=24, help_text="The request's number, typed to confirm.")


class DsrObjectSerializer(serializers.Serializer):
    purposes = serializers.ListField(child=serializers.ChoiceField(choices=ConsentPurpose.choices), min_length=1,
                                     default=[ConsentPurpose.MARKETING])


class DsrCloseSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[(s.value, s.label) for s in CLOSE_STATUSES])
    resolution = serializers.CharField(max_length=4000)


class DsrCountsSerializer(serializers.Serializer):
    counts = serializers.DictField(child=serializers.IntegerField())
    total = serializers.IntegerField()


class DsrObjectionResultSerializer(serializers.Serializer):
    withdrawals = serializers.IntegerField()
    request = DsrDetailSerializer()


# --- the viewset -------------------------------------------------------------------------------------

class DsrPagination(IdCursorPagination):
    ordering = ("due_at", "id")


@extend_schema_view(list=extend_schema(parameters=[DsrListQuerySerializer], responses=DsrSerializer(many=True)),
                    retrieve=extend_schema(responses=DsrDetailSerializer))
class DsrViewSet(mixins.RetrieveModelMixin, TenantScopedViewSet):
    model = DataSubjectRequest
    permission_classes = [DsrPermission]
    serializer_class = DsrSerializer
    pagination_class = DsrPagination
    filter_backends: list = []

    def scoped_queryset(self):
        qs = dsr_list().select_related("identity_verified_by", "created_by")
        if not can_see_queue(self.request.user):
            qs = qs.filter(created_by=self.request.user)
        return qs

    def get_serializer_class(self):
        return DsrSerializer if self.action == "list" else DsrDetailSerializer

    def _detail(self, dsr, code=status.HTTP_200_OK) -> Response:
        fresh = self.scoped_queryset().filter(pk=dsr.pk).first() or dsr_list().get(pk=dsr.pk)
        return Response(DsrDetailSerializer(fresh).data, status=code)

    def list(self, request, *args, **kwargs):
        query = parse(DsrListQuerySerializer, request.query_params)
        status_filter = query.get("status", "")
        qs = dsr_list(status="" if status_filter == "open" else status_filter, kind=query.get("kind", ""),
                      clock=query.get("clock", ""), owner_id=query.get("owner"), number=query.get("number", ""),
                      open_only=status_filter == "open")
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(DsrSerializer(page, many=True).data)

    @extend_schema(request=DsrCreateSerializer, responses={201: DsrDetailSerializer})
    def create(self, request, *args, **kwargs):
        """Register a request as the person made it; its clock starts when it was received."""
        data = parse(DsrCreateSerializer, request.data)
        dsr = services.dsr_register(actor=request.user, **data)
        return self._detail(dsr, status.HTTP_201_CREATED)

    @extend_schema(request=DsrAssignSerializer, responses=DsrDetailSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, *args, **kwargs):
        dsr = self.get_object()
        return self._detail(services.dsr_assign(actor=request.user, dsr=dsr,
                                                **parse(DsrAssignSerializer, request.data)))

    @extend_schema(request=DsrLinkCustomerSerializer, responses=DsrDetailSerializer)
    @action(detail=True, methods=["post"], url_path="link-customer")
    def link_customer(self, request, *args, **kwargs):
        dsr = self.get_object()
        return self._detail(services.dsr_link_customer(actor=request.user, dsr=dsr,
                                                       **parse(DsrLinkCustomerSerializer, request.data)))

    @extend_schema(request=DsrVerifySerializer, responses=DsrDetailSerializer)
    @action(detail=True, methods=["post"], url_path="verify-identity")
    def verify_identity(self, request, *args, **kwargs):
        """Record how the person proved who they are (nothing is handed out or changed before)."""
        dsr = self.get_object()
        data = parse(DsrVerifySerializer, request.data)
        return self._detail(services.dsr_verify_identity(actor=request.user, dsr=dsr, method=data["identity_method"],
                                                         note=data["identity_note"]))

    @extend_schema(request=DsrNoteSerializer, responses={201: DsrDetailSerializer})
    @action(detail=True, methods=["post"])
    def notes(self, request, *args, **kwargs):
        dsr = self.get_object()
        services.dsr_add_note(actor=request.user, dsr=dsr, **parse(DsrNoteSerializer, request.data))
        return self._detail(dsr, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={202: DsrExportSerializer})
    @action(detail=True, methods=["post"])
    def export(self, request, *args, **kwargs):
        """Queue the build of the person's export (an access request, identity verified). Follow its
        progress in `exports`."""
        dsr = self.get_object()
        export = services.dsr_export_request(actor=request.user, dsr=dsr)
        return Response(DsrExportSerializer(dsr_exports(dsr).get(pk=export.pk)).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=DsrExportSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def exports(self, request, *args, **kwargs):
        """The request's exports, newest first, with their progress."""
        return Response(DsrExportSerializer(dsr_exports(self.get_object()), many=True).data)

    @extend_schema(request=None, responses={(200, "application/json"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["post"], url_path=r"exports/(?P<export_id>[0-9]+)/download")
    def download(self, request, *args, export_id=None, **kwargs):
        """The export file, once, to the request's handler: the download is written to the access
        log (with the file's SHA-256) and the stored copy is deleted. A second try is 400."""
        dsr = self.get_object()
        if not 0 < int(export_id) <= MAX_ID:
            raise NotFound()
        export = dsr_exports(dsr).filter(pk=int(export_id)).first()
        if export is None:
            raise NotFound()
        django_request = request._request
        filename, body = services.dsr_export_download(
            actor=request.user, membership=self.membership, export=export,
            request_id=getattr(django_request, "request_id", ""), ip_address=client_ip(django_request))
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(request=DsrCorrectSerializer, responses=DsrDetailSerializer)
    @action(detail=True, methods=["post"])
    def correct(self, request, *args, **kwargs):
        """Correct the linked customer record (only the fields given)."""
        dsr = self.get_object()
        changes = parse(DsrCorrectSerializer, request.data)
        return self._detail(services.dsr_apply_correction(actor=request.user, dsr=dsr, changes=changes))

    @extend_schema(responses=DsrCountsSerializer)
    @action(detail=True, methods=["get"])
    def preview(self, request, *args, **kwargs):
        """How many records of each kind the request reaches (what a deletion would anonymise)."""
        counts = services.dsr_preview(self.get_object())
        return Response({"counts": counts, "total": sum(counts.values())})

    @extend_schema(request=DsrEraseSerializer, responses=DsrCountsSerializer)
    @action(detail=True, methods=["post"])
    def erase(self, request, *args, **kwargs):
        """Anonymise the person everywhere (a deletion request, identity verified), confirmed by
        the request's number. Amounts, dates, statistics and the fine ledger are kept."""
        dsr = self.get_object()
        counts = services.dsr_erase(actor=request.user, dsr=dsr, **parse(DsrEraseSerializer, request.data))
        return Response({"counts": counts, "total": sum(counts.values())})

    @extend_schema(request=DsrObjectSerializer, responses=DsrObjectionResultSerializer)
    @action(detail=True, methods=["post"], url_path="object")
    def apply_objection(self, request, *args, **kwargs):
        """Withdraw the person's consent (marketing by default) on every record and number they
        are known by."""
        dsr = self.get_object()
        data = parse(DsrObjectSerializer, request.data)
        recorded = services.dsr_apply_objection(actor=request.user, dsr=dsr, purposes=tuple(data["purposes"]))
        return Response({"withdrawals": recorded, "request": self._detail(dsr).data})

    @extend_schema(request=DsrCloseSerializer, responses=DsrDetailSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, *args, **kwargs):
        """Complete, reject (with the reason the person is told) or mark withdrawn."""
        dsr = self.get_object()
        return self._detail(services.dsr_close(actor=request.user, dsr=dsr, **parse(DsrCloseSerializer, request.data)))


ROUTES = [("compliance/requests", DsrViewSet, "compliance-requests")]
PATHS = []
