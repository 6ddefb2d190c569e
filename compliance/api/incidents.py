"""The incident register API (/api/v1/compliance/incidents/…): list (filters: status, severity,
branch with its subtree, overdue authority report), detail (timeline, remedial actions, affected
records by type, the authority clock), record and edit; actions find-affected, notify-authority,
notify-people, actions (add) and actions/<id>/complete, contain, close, raise-violation, notes; the
affected records themselves (ids and types only, cursor-paginated).

Auditors and tenant admins read (`compliance.view_compliance`); writes need
`compliance.manage_incidents` (raise-violation also the penalties propose permission — the service
answers 403 without it). Bad input is a 400 naming the field; another company's id is 404. Thin:
parse → service / selector → serialize."""
from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from tenancy.api.base import AllFieldsOptional, ScopedPrimaryKeyRelatedField, TenantScopedViewSet, parse
from tenancy.api.pagination import IdCursorPagination
from tenancy.inputs import MAX_TEXT
from tenancy.models import Branch, Membership
from tickets.api.claim_serializers import IdField
from tickets.api.serializers import named_choice

from ..models import AffectedRecord, Incident, IncidentEvent, IncidentSeverity, IncidentStatus, RemedialAction
from ..rules import DEFAULT_AUTHORITY
from ..selectors import incidents as selectors
from ..services import incidents as services

READ = "compliance.view_compliance"
WRITE = "compliance.manage_incidents"
QUERY_KIND_CHOICES = [(kind, kind) for kind in services.QueryKind.ALL]
CLOCK_STATES = ("due", "overdue", "reported", "closed")


def severity_field(**kwargs):
    return named_choice("IncidentSeverityEnum", IncidentSeverity.choices, **kwargs)


def status_field(**kwargs):
    return named_choice("IncidentStatusEnum", IncidentStatus.choices, **kwargs)


def person_name(user) -> str:
    return (user.display_name or user.username) if user is not None else ""


# --- reading ----------------------------------------------------------------------------------------------

class IncidentSerializer(serializers.ModelSerializer):
    """An incident as the list shows it. `authority_due_at` / `authority_state` are the clock."""

    severity = severity_field(read_only=True)
    status = status_field(read_only=True)
    branch_name = serializers.SerializerMethodField()
    owner_name = serializers.SerializerMethodField()
    authority_due_at = serializers.SerializerMethodField()
    authority_state = serializers.SerializerMethodField(help_text=_("due, overdue, reported or closed"))

    class Meta:
        model = Incident
        fields = ["id", "number", "title", "severity", "status", "branch", "branch_name", "owner", "owner_name",
                  "occurred_at", "detected_at", "contained_at", "closed_at", "affected_count", "people_count",
                  "authority_notified_at", "authority_due_at", "authority_state", "people_notified_at",
                  "violation_case", "created_at"]
        read_only_fields = fields

    def _clock(self, incident) -> dict:
        cache = self.context.setdefault("clocks", {})
        if incident.pk not in cache:
            cache[incident.pk] = selectors.authority_clock(incident, now=self.context.get("now"),
                                                           hours=self.context.get("hours"))
        return cache[incident.pk]

    def get_branch_name(self, incident) -> str:
        return str(incident.branch.name) if incident.branch_id else ""

    def get_owner_name(self, incident) -> str:
        return person_name(incident.owner.user) if incident.owner_id else ""

    def get_authority_due_at(self, incident) -> str:
        return serializers.DateTimeField().to_representation(self._clock(incident)["due_at"])

    def get_authority_state(self, incident) -> str:
        return self._clock(incident)["state"]


class IncidentRemedialActionSerializer(serializers.ModelSerializer):
    owner_name = serializers.SerializerMethodField()

    class Meta:
        model = RemedialAction
        fields = ["id", "description", "owner", "owner_name", "due_on", "done_at", "created_at"]
        read_only_fields = fields

    def get_owner_name(self, item) -> str:
        return person_name(item.owner.user) if item.owner_id else ""


class IncidentEventSerializer(serializers.ModelSerializer):
    actor_name = serializers.SerializerMethodField()
    data = serializers.JSONField(read_only=True, help_text=_("Ids, counts and the names of what changed"))

    class Meta:
        model = IncidentEvent
        fields = ["id", "kind", "actor", "actor_name", "body", "data", "created_at"]
        read_only_fields = fields

    def get_actor_name(self, event) -> str:
        return person_name(event.actor)


class IncidentAffectedTypeSerializer(serializers.Serializer):
    target_type = serializers.CharField()
    records = serializers.IntegerField()
    people = serializers.IntegerField()


class IncidentDetailSerializer(IncidentSerializer):
    description = serializers.CharField(read_only=True)
    affected_query = serializers.JSONField(read_only=True, help_text=_("The last query (kind and parameters)"))
    violation_case_number = serializers.SerializerMethodField()
    created_by_name = serializers.SerializerMethodField()
    affected_by_type = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()
    events = serializers.SerializerMethodField()

    class Meta(IncidentSerializer.Meta):
        fields = [*IncidentSerializer.Meta.fields, "description", "affected_query", "authority_name",
                  "authority_reference", "people_notified_count", "people_notice_channel", "violation_case_number",
                  "created_by", "created_by_name", "affected_by_type", "actions", "events"]
        read_only_fields = fields

    def get_violation_case_number(self, incident) -> str:
        return incident.violation_case.number if incident.violation_case_id else ""

    def get_created_by_name(self, incident) -> str:
        return person_name(incident.created_by)

    @extend_schema_field(IncidentAffectedTypeSerializer(many=True))
    def get_affected_by_type(self, incident) -> list:
        return IncidentAffectedTypeSerializer(self.context["detail"]["affected_by_type"], many=True).data

    @extend_schema_field(IncidentRemedialActionSerializer(many=True))
    def get_actions(self, incident) -> list:
        return IncidentRemedialActionSerializer(self.context["detail"]["actions"], many=True).data

    @extend_schema_field(IncidentEventSerializer(many=True))
    def get_events(self, incident) -> list:
        return IncidentEventSerializer(self.context["detail"]["events"], many=True).data


class IncidentAffectedRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = AffectedRecord
        fields = ["id", "target_type", "target_id"]
        read_only_fields = fields


# --- writing ----------------------------------------------------------------------------------------------

class IncidentCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=MAX_TEXT)
    severity = severity_field(required=False, default=IncidentSeverity.MEDIUM)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    detected_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                            help_text=_("Empty: now. The authority clock runs from here."))
    branch = ScopedPrimaryKeyRelatedField(Branch, required=False, allow_null=True, default=None)
    owner = ScopedPrimaryKeyRelatedField(Membership, required=False, allow_null=True, default=None)


class IncidentUpdateSerializer(AllFieldsOptional, IncidentCreateSerializer):
    """Every field optional; what is left out keeps its value."""


class IncidentFindAffectedSerializer(serializers.Serializer):
    """The query: `kind` and the parameters that kind needs — access_log: actor, from, to;
    waybills / tickets: branch (optional, with its subtree), from, to; customers: numbers. `from` /
    `to` are a date (the whole day) or a date and time."""

    kind = named_choice("IncidentQueryKindEnum", QUERY_KIND_CHOICES)
    actor = IdField(required=False, help_text=_("access_log: the user id whose reveals and exports are searched"))
    branch = IdField(required=False, allow_null=True, help_text=_("waybills, tickets: a branch id (with its subtree)"))
    numbers = serializers.ListField(child=serializers.CharField(max_length=20), required=False,
                                    max_length=services.MAX_CUSTOMER_NUMBERS,
                                    help_text=_("customers: customer numbers"))

    def get_fields(self):
        fields = super().get_fields()
        # `from` / `to` are the service's names (a Python keyword cannot be a class attribute).
        fields["from"] = serializers.CharField(required=False, max_length=40, help_text=_("Start (date or date-time)"))
        fields["to"] = serializers.CharField(required=False, max_length=40, help_text=_("End (date or date-time)"))
        return fields


class IncidentNotifyAuthoritySerializer(serializers.Serializer):
    authority_name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="",
                                           help_text=_("Empty: %(name)s") % {"name": DEFAULT_AUTHORITY})
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    notified_at = serializers.DateTimeField()


class IncidentNotifyPeopleSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    channel = serializers.CharField(max_length=120)
    notified_at = serializers.DateTimeField()


class IncidentActionAddSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=300)
    owner = ScopedPrimaryKeyRelatedField(Membership, required=False, allow_null=True, default=None)
    due_on = serializers.DateField(required=False, allow_null=True, default=None)


class IncidentRaiseViolationSerializer(serializers.Serializer):
    """Against an employee (`subject_membership`) or a branch (`branch`) — one of them."""

    subject_membership = ScopedPrimaryKeyRelatedField(Membership, required=False, allow_null=True, default=None)
    branch = ScopedPrimaryKeyRelatedField(Branch, required=False, allow_null=True, default=None)
    description = serializers.CharField(max_length=MAX_TEXT)


class IncidentNoteSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=MAX_TEXT)


class IncidentListQuerySerializer(serializers.Serializer):
    status = status_field(required=False, blank=True, default="")
    severity = severity_field(required=False, blank=True, default="")
    branch = IdField(required=False, allow_null=True, default=None, help_text=_("With its subtree"))
    overdue = serializers.BooleanField(required=False, allow_null=True, default=None,
                                       help_text=_("true: only incidents whose authority report is overdue"))
    q = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)


# --- views ------------------------------------------------------------------------------------------------

class IncidentPagination(IdCursorPagination):
    ordering = ("-detected_at", "-id")


class AffectedPagination(IdCursorPagination):
    ordering = ("id",)
    page_size = 100
    max_page_size = 1000


@extend_schema_view(
    list=extend_schema(parameters=[IncidentListQuerySerializer], responses=IncidentSerializer(many=True)),
    retrieve=extend_schema(responses=IncidentDetailSerializer))
class IncidentViewSet(mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Data-leak incidents (DOMAIN.md §6): newest detected first."""

    model = Incident
    read_perm = READ
    write_perm = WRITE
    serializer_class = IncidentSerializer
    pagination_class = IncidentPagination
    filter_backends: list = []

    def scoped_queryset(self):
        return selectors.incident_list()

    def get_serializer_class(self):
        return IncidentDetailSerializer if self.action != "list" else IncidentSerializer

    def _context(self) -> dict:
        return {"request": self.request, "now": timezone.now(), "hours": selectors.authority_hours()}

    def _detail(self, incident, code=status.HTTP_200_OK) -> Response:
        incident = selectors.incident_get(pk=incident.pk)
        context = {**self._context(), "detail": selectors.incident_detail(incident)}
        return Response(IncidentDetailSerializer(incident, context=context).data, status=code)

    def list(self, request, *args, **kwargs):
        query = parse(IncidentListQuerySerializer, request.query_params)
        branch = None
        if query["branch"] is not None:
            branch = Branch.objects.filter(pk=query["branch"]).first()
            if branch is None:
                raise ValidationError({"branch": [_("Choose a branch.")]})
        context = self._context()
        qs = selectors.incident_list(status=query["status"] or None, severity=query["severity"] or None,
                                     branch=branch, overdue=query["overdue"], q=query["q"], now=context["now"],
                                     hours=context["hours"])
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(IncidentSerializer(page, many=True, context=context).data)

    def retrieve(self, request, *args, **kwargs):
        return self._detail(self.get_object())

    @extend_schema(request=IncidentCreateSerializer, responses={201: IncidentDetailSerializer})
    def create(self, request, *args, **kwargs):
        """Record an incident; its number is INC-<year>-<sequence>."""
        incident = services.incident_open(actor=request.user, **parse(IncidentCreateSerializer, request.data))
        return self._detail(incident, status.HTTP_201_CREATED)

    @extend_schema(request=IncidentUpdateSerializer, responses=IncidentDetailSerializer)
    def partial_update(self, request, *args, **kwargs):
        """Change the facts; what is left out keeps its value."""
        incident = self.get_object()
        data = parse(IncidentUpdateSerializer, request.data)
        return self._detail(services.incident_update(actor=request.user, incident=incident, **data))

    @extend_schema(request=IncidentFindAffectedSerializer, responses=IncidentDetailSerializer)
    @action(detail=True, methods=["post"], url_path="find-affected")
    def find_affected(self, request, *args, **kwargs):
        """Replace the affected records with what the query finds; the counts and the query are
        stored on the incident."""
        incident = self.get_object()
        query = parse(IncidentFindAffectedSerializer, request.data)
        return self._detail(services.incident_find_affected(actor=request.user, incident=incident, query=query))

    @extend_schema(responses=IncidentAffectedRecordSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=AffectedPagination)
    def affected(self, request, *args, **kwargs):
        """The affected records: ids and types only."""
        incident = self.get_object()
        page = self.paginate_queryset(selectors.affected_records(incident))
        return self.get_paginated_response(IncidentAffectedRecordSerializer(page, many=True).data)

    @extend_schema(request=IncidentNotifyAuthoritySerializer, responses=IncidentDetailSerializer)
    @action(detail=True, methods=["post"], url_path="notify-authority")
    def notify_authority(self, request, *args, **kwargs):
        """The report to the postal authority (a later one replaces it; the timeline keeps both)."""
        incident = self.get_object()
        data = parse(IncidentNotifyAuthoritySerializer, request.data)
        return self._detail(services.incident_notify_authority(actor=request.user, incident=incident, **data))

    @extend_schema(request=IncidentNotifyPeopleSerializer, responses=IncidentDetailSerializer)
    @action(detail=True, methods=["post"], url_path="notify-people")
    def notify_people(self, request, *args, **kwargs):
        """The people affected were told: how many, how, when."""
        incident = self.get_object()
        data = parse(IncidentNotifyPeopleSerializer, request.data)
        return self._detail(services.incident_notify_people(actor=request.user, incident=incident, **data))

    @extend_schema(request=IncidentActionAddSerializer, responses={201: IncidentDetailSerializer})
    @action(detail=True, methods=["post"], url_path="actions")
    def action_add(self, request, *args, **kwargs):
        """Add a remedial action."""
        incident = self.get_object()
        data = parse(IncidentActionAddSerializer, request.data)
        services.incident_action_add(actor=request.user, incident=incident, **data)
        return self._detail(incident, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=IncidentDetailSerializer)
    @action(detail=True, methods=["post"], url_path=r"actions/(?P<action_id>[0-9]{1,18})/complete")
    def complete_action(self, request, *args, action_id=None, **kwargs):
        """Mark a remedial action done."""
        incident = self.get_object()
        item = RemedialAction.objects.filter(incident=incident, pk=int(action_id)).first()
        if item is None:
            raise NotFound()
        services.incident_action_complete(actor=request.user, incident=incident, action=item)
        return self._detail(incident)

    @extend_schema(request=None, responses=IncidentDetailSerializer)
    @action(detail=True, methods=["post"])
    def contain(self, request, *args, **kwargs):
        """The leak is stopped."""
        return self._detail(services.incident_contain(actor=request.user, incident=self.get_object()))

    @extend_schema(request=None, responses=IncidentDetailSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, *args, **kwargs):
        """Close: only once the authority was notified and every remedial action is done."""
        return self._detail(services.incident_close(actor=request.user, incident=self.get_object()))

    @extend_schema(request=IncidentRaiseViolationSerializer, responses={201: IncidentDetailSerializer})
    @action(detail=True, methods=["post"], url_path="raise-violation")
    def raise_violation(self, request, *args, **kwargs):
        """Propose a fine of the catalogue's DATA_LEAK entry against an employee or a branch (an
        access-log query's rows are linked); someone else confirms it."""
        incident = self.get_object()
        data = parse(IncidentRaiseViolationSerializer, request.data)
        incident = services.incident_raise_violation(actor=request.user, incident=incident, **data)
        return self._detail(incident, status.HTTP_201_CREATED)

    @extend_schema(request=IncidentNoteSerializer, responses={201: IncidentDetailSerializer})
    @action(detail=True, methods=["post"])
    def notes(self, request, *args, **kwargs):
        """A note on the timeline."""
        incident = self.get_object()
        data = parse(IncidentNoteSerializer, request.data)
        services.incident_add_note(actor=request.user, incident=incident, **data)
        return self._detail(incident, status.HTTP_201_CREATED)


ROUTES = [("compliance/incidents", IncidentViewSet, "compliance-incidents")]
PATHS = []
