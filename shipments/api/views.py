"""Shipments API: the tracking-event batch (operations systems push scans), waybills with their
timeline, tickets and delivery consents. Thin: parse → service / selector → serialize."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from tenancy.api.base import TenantScopedViewSet
from tenancy.api.permissions import IsTenantMember

from .. import rules, selectors, services
from ..models import Waybill
from . import serializers as s


class CanIngest(BasePermission):
    message = "Your role does not allow sending tracking events."

    def has_permission(self, request, view):
        return IsTenantMember().has_permission(request, view) and request.user.has_perm(
            "shipments.ingest_tracking_events")


class TrackingEventBatchView(APIView):
    """Store up to 5,000 tracking events. The same event twice changes nothing; events may come in
    any order; a malformed event is rejected with its index and reason while the others are stored."""

    permission_classes = [CanIngest]
    parser_classes = [JSONParser]

    @extend_schema(request=s.EventBatchSerializer, responses={200: s.IngestResultSerializer,
                                                              400: s.IngestErrorSerializer})
    def post(self, request):
        data = request.data
        events = data.get("events") if isinstance(data, dict) else data
        if not isinstance(events, list):
            raise exceptions.ValidationError({"events": ["Send a JSON list of events (or {\"events\": [...]})."]})
        if not events:
            raise exceptions.ValidationError({"events": ["The batch is empty."]})
        if len(events) > rules.BATCH_MAX_EVENTS:
            raise exceptions.ValidationError({"events": [f"At most {rules.BATCH_MAX_EVENTS} events per batch."]})
        result = services.tracking_events_ingest(events)
        body = result.as_dict()
        if result.rejected and len(result.rejected) == result.received:
            body["error"] = {"code": "invalid", "message": "No event of the batch is valid.",
                             "fields": {"events": [f"[{r['index']}] {r['field']}: {r['reason']}"
                                                   for r in result.rejected[:20]]}}
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(body)


class WaybillViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Waybills with their status; one waybill with its full timeline, tickets and consents."""

    model = Waybill
    read_perm = "shipments.view_waybill"
    write_perm = "shipments.add_deliveryconsent"
    serializer_class = s.WaybillSerializer

    def scoped_queryset(self):
        if self.action == "list":
            params = self.request.query_params
            return selectors.waybill_api_list(number=params.get("number", ""), status=params.get("status", ""),
                                              customer_id=params.get("customer"))
        return selectors.waybill_api_detail_queryset()

    def get_serializer_class(self):
        return s.WaybillDetailSerializer if self.action == "retrieve" else s.WaybillSerializer

    @extend_schema(parameters=[
        OpenApiParameter("number", str, description="Exact waybill number"),
        OpenApiParameter("status", str, description="Current status"),
        OpenApiParameter("customer", int, description="Sender or receiver customer id"),
    ])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=s.DeliveryConsentCreateSerializer, responses={201: s.DeliveryConsentSerializer})
    @action(detail=True, methods=["post"], pagination_class=None, filter_backends=[])
    def consents(self, request, pk=None):
        """Record that the receiver agreed to a locker / neighbour delivery."""
        waybill = self.get_object()
        payload = s.DeliveryConsentCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        consent = services.delivery_consent_record(actor=request.user, membership=request._request.membership,
                                                   waybill=waybill, **payload.validated_data)
        return Response(s.DeliveryConsentSerializer(consent).data, status=status.HTTP_201_CREATED)

