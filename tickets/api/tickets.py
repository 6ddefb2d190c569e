"""Tickets API: the queues (lean), tickets with every action of the console, inbound messages of
the mail/WeChat gateways, and the desk set-up (teams, routing rules, macros).
Thin: parse → service / selector → serialize."""
from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from tenancy.api.base import MAX_ID, TenantScopedViewSet
from tenancy.api.permissions import IsTenantMember
from tenancy.models import Membership

from .. import rules
from ..models import Macro, RoutingRule, Team, Ticket, TicketCategory, TicketChannel, TicketPriority, TicketStatus
from ..selectors import exceptions as ticket_reads
from ..selectors import queues
from ..services import conversation, core, desk, intake, merge
from . import serializers as s

MAX_QUEUE = 200
# Types a stored attachment may have (tickets.services.conversation.sniff_type).
ATTACHMENT_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf", "text/plain",
                    "application/octet-stream")
LIST_CHOICES = {"status": TicketStatus, "category": TicketCategory, "priority": TicketPriority,
                "channel": TicketChannel}
LIST_IDS = (("assignee", "assignee_id"), ("team", "team_id"), ("customer", "customer_id"), ("waybill", "waybill_id"))


def renamed(exc: DjangoValidationError, names: dict[str, str]) -> DjangoValidationError:
    """The service's refusal with its field names translated to this endpoint's payload names."""
    if not hasattr(exc, "error_dict"):
        return exc
    return DjangoValidationError({names.get(k, k): v for k, v in exc.message_dict.items()})


class CanReadTickets(BasePermission):
    message = "Your role does not allow reading tickets."

    def has_permission(self, request, view):
        return IsTenantMember().has_permission(request, view) and request.user.has_perm("tickets.view_ticket")


class QueueView(APIView):
    """An agent's queue: open tickets by SLA time left (the clock that runs out first; paused
    clocks last). `view`: mine, team, unassigned, breached, waiting. The tab counts (every open
    ticket of the agent's teams counted) come only with `counts=true`: a console polls them on
    their own clock, not with every page of rows."""

    permission_classes = [CanReadTickets]

    @extend_schema(parameters=[
        OpenApiParameter("view", str, enum=list(queues.QUEUE_VIEWS)),
        OpenApiParameter("limit", int, description="1–200 (default 50)"),
        OpenApiParameter("offset", int),
        OpenApiParameter("counts", bool, description="Include the tab counts (default false)"),
    ], responses=s.QueueSerializer)
    def get(self, request):
        params = request.query_params
        view = params.get("view", "mine")
        if view not in queues.QUEUE_VIEWS:
            raise exceptions.ValidationError({"view": [f"One of: {', '.join(queues.QUEUE_VIEWS)}."]})
        try:
            limit = int(params.get("limit", 50))
            offset = int(params.get("offset", 0))
        except ValueError as exc:
            raise exceptions.ValidationError({"limit": ["Whole numbers only."]}) from exc
        if not 1 <= limit <= MAX_QUEUE or offset < 0:
            raise exceptions.ValidationError({"limit": [f"1 to {MAX_QUEUE}; offset 0 or more."]})
        membership = request._request.membership
        with_counts = params.get("counts", "false") == "true"
        team_ids = None if view == "mine" and not with_counts else queues.team_ids_of(membership)
        body = {"view": view, "results": queues.queue_rows(membership=membership, view=view, limit=limit,
                                                           offset=offset, team_ids=team_ids)}
        if with_counts:
            body["counts"] = queues.queue_counts(membership=membership, team_ids=team_ids)
        return Response(body)


class TicketViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Tickets in the caller's reach (branch managers: their subtree), newest first."""

    model = Ticket
    read_perm = "tickets.view_ticket"
    write_perm = "tickets.change_ticket"
    serializer_class = s.TicketSerializer

    def scoped_queryset(self):
        qs = ticket_reads.ticket_list(membership=self.membership).select_related("team", "assignee__user")
        if self.action != "list":
            return qs
        params = self.request.query_params
        for name, choices in LIST_CHOICES.items():
            value = params.get(name)
            if value:
                if value not in choices.values:
                    raise exceptions.ValidationError({name: [f"One of: {', '.join(choices.values)}."]})
                qs = qs.filter(**{name: value})
        for name, lookup in LIST_IDS:
            value = params.get(name)
            if value == "me" and name == "assignee":
                value = str(self.membership.pk)
            if value:
                if not (value.isascii() and value.isdigit()) or int(value) > MAX_ID:
                    raise exceptions.ValidationError({name: ["An id (whole number)."]})
                qs = qs.filter(**{lookup: int(value)})
        number, waybill_number, tag = (self._text_param(name) for name in ("number", "waybill_number", "tag"))
        if number:
            qs = qs.filter(number=number.upper())
        if waybill_number:
            qs = qs.filter(waybill__number=waybill_number.upper())
        if tag:
            qs = qs.filter(tags__contains=[tag])
        return qs

    def _text_param(self, name: str) -> str:
        """A text filter, trimmed; a control character (PostgreSQL refuses NUL) is a 400."""
        value = self.request.query_params.get(name, "").strip()
        if any(ord(char) < 32 for char in value):
            raise exceptions.ValidationError({name: ["No control characters."]})
        return value

    def get_permissions(self):
        if self.action == "create":
            self.write_perm = "tickets.add_ticket"
        elif self.action in ("merge", "split"):
            self.write_perm = "tickets.merge_ticket"
        elif self.action == "attachments" and self.request.method == "POST":
            self.write_perm = "tickets.add_ticketattachment"
        elif self.action == "attachment":
            self.read_perm = "tickets.view_ticketattachment"
        return super().get_permissions()

    def get_serializer_class(self):
        return s.TicketDetailSerializer if self.action == "retrieve" else s.TicketSerializer

    @extend_schema(parameters=[
        *(OpenApiParameter(name, str, enum=list(choices.values)) for name, choices in LIST_CHOICES.items()),
        OpenApiParameter("assignee", str, description="A membership id, or `me`"),
        *(OpenApiParameter(name, int) for name in ("team", "customer", "waybill")),
        OpenApiParameter("number", str, description="Ticket number (exact)"),
        OpenApiParameter("waybill_number", str, description="Waybill number (exact)"),
        OpenApiParameter("tag", str)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _done(self, ticket, code=status.HTTP_200_OK):
        # A branch manager may route a new ticket outside their subtree: they still get its answer.
        ticket = self.scoped_queryset().filter(pk=ticket.pk).first() or ticket
        return Response(s.TicketDetailSerializer(ticket).data, status=code)

    @extend_schema(request=s.TicketCreateSerializer, responses={201: s.TicketDetailSerializer})
    def create(self, request):
        payload = s.TicketCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        ticket = intake.ticket_create(actor=request.user, draft=intake.TicketDraft(**payload.validated_data))
        return self._done(ticket, status.HTTP_201_CREATED)

    @extend_schema(request=s.TicketUpdateSerializer, responses=s.TicketDetailSerializer)
    def partial_update(self, request, pk=None):
        ticket = self.get_object()
        payload = s.TicketUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._done(intake.ticket_update(actor=request.user, ticket=ticket, **payload.validated_data))

    @extend_schema(request=s.TransitionSerializer, responses=s.TicketDetailSerializer)
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        """Change the status (new → assigned → in_progress ⇄ waiting_customer → resolved → closed;
        resolved → reopened within the reopen window)."""
        payload = s.TransitionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._done(core.ticket_transition(actor=request.user, ticket=self.get_object(),
                                                 to_status=payload.validated_data["status"],
                                                 note=payload.validated_data["note"]))

    @extend_schema(request=s.AssignSerializer, responses=s.TicketDetailSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """Give the ticket to a colleague; taking it from someone needs a reason."""
        payload = s.AssignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        assignee = Membership.objects.filter(pk=payload.validated_data["assignee"]).first()
        if assignee is None:
            raise exceptions.ValidationError({"assignee": ["No such member."]})
        ticket = self.get_object()
        try:
            ticket = core.ticket_assign(actor=request.user, ticket=ticket, assignee=assignee,
                                        note=payload.validated_data["reason"])
        except DjangoValidationError as exc:
            raise renamed(exc, {"note": "reason"}) from exc
        return self._done(ticket)

    @extend_schema(request=s.ReplySerializer, responses=s.TicketDetailSerializer)
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        """A public reply, sent through the ticket's channel (intake / progress / result stage)."""
        payload = s.ReplySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        ticket = self.get_object()
        try:
            ticket = conversation.ticket_reply(actor=request.user, ticket=ticket, body=data["body"],
                                               stage=data["stage"], then_status=data["then_status"],
                                               kb_article_ids=tuple(data["kb_articles"]))
        except DjangoValidationError as exc:
            raise renamed(exc, {"status": "then_status", "note": "then_status"}) from exc
        return self._done(ticket)

    @extend_schema(request=s.NoteSerializer, responses={201: s.TicketEventSerializer})
    @action(detail=True, methods=["post"])
    def note(self, request, pk=None):
        """An internal note (never shown to the customer)."""
        payload = s.NoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        event = conversation.ticket_note(actor=request.user, ticket=self.get_object(),
                                         body=payload.validated_data["body"])
        return Response(s.TicketEventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.MacroApplySerializer, responses=s.TicketDetailSerializer)
    @action(detail=True, methods=["post"], url_path="apply-macro")
    def apply_macro(self, request, pk=None):
        payload = s.MacroApplySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        macro = Macro.objects.filter(pk=payload.validated_data["macro"]).first()
        if macro is None:
            raise exceptions.ValidationError({"macro": ["No such macro."]})
        return self._done(conversation.macro_apply(actor=request.user, ticket=self.get_object(), macro=macro,
                                                   body=payload.validated_data["body"] or None))

    @extend_schema(request=s.MergeSerializer, responses=s.TicketDetailSerializer)
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        """Merge duplicates of the same customer into this ticket (they are closed with a link)."""
        payload = s.MergeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        ids = payload.validated_data["duplicates"]
        duplicates = list(ticket_reads.ticket_list(membership=self.membership).filter(pk__in=ids))
        if len(duplicates) != len(set(ids)):
            raise exceptions.ValidationError({"duplicates": ["Some of these tickets do not exist."]})
        return self._done(merge.tickets_merge(actor=request.user, target=self.get_object(), duplicates=duplicates,
                                              reason=payload.validated_data["reason"]))

    @extend_schema(request=s.SplitSerializer, responses={201: s.TicketDetailSerializer})
    @action(detail=True, methods=["post"])
    def split(self, request, pk=None):
        """Open a new ticket for a second matter raised on this one."""
        payload = s.SplitSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        new = merge.ticket_split(actor=request.user, ticket=self.get_object(), **payload.validated_data)
        return self._done(new, status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses=s.AttachmentSerializer(many=True))
    @extend_schema(methods=["POST"], request={"multipart/form-data": {
        "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]}},
        responses={201: s.AttachmentSerializer})
    @action(detail=True, methods=["get", "post"], parser_classes=[MultiPartParser, FormParser, JSONParser],
            pagination_class=None, filter_backends=[])
    def attachments(self, request, pk=None):
        """The ticket's files (GET), or upload one (POST multipart, field `file`)."""
        ticket = self.get_object()
        if request.method == "GET":
            return Response(s.AttachmentSerializer(queues.ticket_attachments(ticket=ticket), many=True).data)
        upload = request.FILES.get("file")
        if upload is None:
            raise exceptions.ValidationError({"file": ["Send the file in the field `file`."]})
        # Never more than one byte past the tenant's limit in memory: the service refuses it by size.
        limit = rules.ATTACHMENT_MAX_MB.value() * 1024 * 1024
        attachment = conversation.attachment_add(actor=request.user, ticket=ticket, name=upload.name,
                                                 content=upload.read(limit + 1))
        return Response(s.AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[OpenApiParameter("attachment_id", int, OpenApiParameter.PATH)],
                   responses={(200, content_type): OpenApiTypes.BINARY for content_type in ATTACHMENT_TYPES})
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<attachment_id>[0-9]{1,18})",
            pagination_class=None, filter_backends=[])
    def attachment(self, request, pk=None, attachment_id=None):
        """Download one of the ticket's files (or of a ticket merged into it)."""
        ticket = self.get_object()
        found = [a for a in queues.ticket_attachments(ticket=ticket) if a.pk == int(attachment_id)]
        if not found:
            raise exceptions.NotFound()
        handle = conversation.attachment_open(actor=request.user, attachment=found[0])
        return FileResponse(handle, content_type=found[0].content_type, as_attachment=True, filename=found[0].name)


class CanWorkTickets(BasePermission):
    message = "Your role does not allow working tickets."

    def has_permission(self, request, view):
        return IsTenantMember().has_permission(request, view) and request.user.has_perm("tickets.change_ticket")


class AwayView(APIView):
    """The caller's own availability: while away, automatic assignment skips them."""

    permission_classes = [CanWorkTickets]

    @extend_schema(responses=s.AwaySerializer)
    def get(self, request):
        return Response({"away": request._request.membership.is_away})

    @extend_schema(request=s.AwaySerializer, responses=s.AwaySerializer)
    def post(self, request):
        payload = s.AwaySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        membership = desk.away_set(membership=request._request.membership, away=payload.validated_data["away"])
        return Response({"away": membership.is_away})


class CanReceive(BasePermission):
    message = "Your role does not allow creating tickets."

    def has_permission(self, request, view):
        return IsTenantMember().has_permission(request, view) and request.user.has_perm("tickets.add_ticket")


class InboundView(APIView):
    """A customer's message from a mail or WeChat gateway: adds to the thread's ticket (reopening
    or resuming it as needed) or opens a new one. Idempotent per thread via `external_ref`."""

    permission_classes = [CanReceive]

    @extend_schema(request=s.InboundSerializer, responses={200: s.InboundResultSerializer,
                                                           201: s.InboundResultSerializer})
    def post(self, request):
        payload = s.InboundSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        ticket, created = intake.inbound_message_receive(actor=request.user,
                                                         message=intake.InboundMessage(**payload.validated_data))
        return Response({"ticket": s.TicketSerializer(ticket).data, "created": created},
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class _DeskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    read_perm = "tickets.view_ticket"
    write_perm = desk.DESK_PERM
    write_serializer = None

    def _save(self, obj, code):
        payload = self.write_serializer(data=self.request.data)
        payload.is_valid(raise_exception=True)
        saved = self.save_with(obj, payload.validated_data)
        # Read back: what the object had prefetched (a team's members) is stale after the save.
        return Response(self.serializer_class(self.scoped_queryset().get(pk=saved.pk)).data, status=code)

    def create(self, request):
        return self._save(None, status.HTTP_201_CREATED)

    def update(self, request, pk=None):
        return self._save(self.get_object(), status.HTTP_200_OK)


class TeamViewSet(_DeskViewSet):
    """Teams with their members (membership ids) and assignment mode."""

    model = Team
    serializer_class = s.TeamSerializer
    write_serializer = s.TeamWriteSerializer

    def scoped_queryset(self):
        return Team.objects.prefetch_related("members").order_by("name", "id")

    def save_with(self, obj, data):
        return desk.team_save(actor=self.request.user, team=obj, **data)

    @extend_schema(request=s.TeamWriteSerializer, responses={201: s.TeamSerializer})
    def create(self, request):
        return super().create(request)

    @extend_schema(request=s.TeamWriteSerializer, responses=s.TeamSerializer)
    def update(self, request, pk=None):
        return super().update(request, pk)


class RoutingRuleViewSet(mixins.DestroyModelMixin, _DeskViewSet):
    """Routing rules, tried in `position` order; the first whose set conditions all match sends
    a new ticket to its team."""

    model = RoutingRule
    serializer_class = s.RoutingRuleSerializer
    write_serializer = s.RoutingRuleWriteSerializer

    def scoped_queryset(self):
        return RoutingRule.objects.order_by("position", "id")

    def save_with(self, obj, data):
        return desk.routing_rule_save(actor=self.request.user, rule=obj, **data)

    def perform_destroy(self, instance):
        desk.routing_rule_delete(actor=self.request.user, rule=instance)

    @extend_schema(request=s.RoutingRuleWriteSerializer, responses={201: s.RoutingRuleSerializer})
    def create(self, request):
        return super().create(request)

    @extend_schema(request=s.RoutingRuleWriteSerializer, responses=s.RoutingRuleSerializer)
    def update(self, request, pk=None):
        return super().update(request, pk)


class MacroViewSet(mixins.DestroyModelMixin, _DeskViewSet):
    """Canned replies and notes; `render` fills a macro's variables for one ticket."""

    model = Macro
    serializer_class = s.MacroSerializer
    write_serializer = s.MacroWriteSerializer

    def scoped_queryset(self):
        return Macro.objects.order_by("name", "id")

    def save_with(self, obj, data):
        return desk.macro_save(actor=self.request.user, macro=obj, **data)

    def perform_destroy(self, instance):
        desk.macro_delete(actor=self.request.user, macro=instance)

    @extend_schema(request=s.MacroWriteSerializer, responses={201: s.MacroSerializer})
    def create(self, request):
        return super().create(request)

    @extend_schema(request=s.MacroWriteSerializer, responses=s.MacroSerializer)
    def update(self, request, pk=None):
        return super().update(request, pk)

    @extend_schema(parameters=[OpenApiParameter("ticket", int, required=True)],
                   responses={200: {"type": "object", "properties": {"text": {"type": "string"}}}})
    @action(detail=True, methods=["get"])
    def render(self, request, pk=None):
        """The macro's text with its variables filled in for `ticket`."""
        ticket_id = request.query_params.get("ticket", "")
        if not ticket_id.isdecimal():
            raise exceptions.ValidationError({"ticket": ["A ticket id."]})
        ticket = get_object_or_404(ticket_reads.ticket_list(membership=self.membership), pk=int(ticket_id))
        return Response({"text": conversation.macro_render(macro=self.get_object(), ticket=ticket,
                                                           actor=request.user)})


urlpatterns_paths = [
    ("tickets/queue/", QueueView, "api-ticket-queue"),
    ("tickets/inbound/", InboundView, "api-ticket-inbound"),
    ("tickets/away/", AwayView, "api-ticket-away"),
]


def register(router) -> None:
    router.register("tickets", TicketViewSet, basename="ticket")
    router.register("ticket-teams", TeamViewSet, basename="ticket-team")
    router.register("ticket-routing-rules", RoutingRuleViewSet, basename="ticket-routing-rule")
    router.register("ticket-macros", MacroViewSet, basename="ticket-macro")
