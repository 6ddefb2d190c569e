"""SLA API: business calendars with their dated days (holidays, make-up working days), SLA
policies, and the breach rates of the dashboards. Reading needs `tickets.view_ticket`, writing
`tickets.manage_service_desk`. Thin: parse → service / selector → serialize; a refused field
is a 400 naming it, another tenant's id is 404 (path) or "does not exist" (payload)."""
from __future__ import annotations

import datetime as dt

from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.models import Contract
from tenancy.api.base import AllFieldsOptional, ScopedPrimaryKeyRelatedField, TenantScopedViewSet, parse
from tenancy.api.permissions import IsTenantMember

from ..models import BusinessCalendar, CalendarDay, SlaClock, SlaPolicy
from ..selectors import sla as selectors
from ..services import sla as services
from .serializers import category_field, named_choice, priority_field

READ_PERM, WRITE_PERM = "tickets.view_ticket", services.MANAGE_PERM
NO_BODY = {204: OpenApiResponse(description=_("Done"))}
# The longest period the breach rates are asked for at once.
MAX_RATE_DAYS = 3 * 366


# --- serializers -----------------------------------------------------------------------------------

@extend_schema_field({"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$", "example": "09:00"})
class WallClockTimeField(serializers.TimeField):
    """A time of day on the calendar's own clock ("09:00"): no UTC offset, so not the RFC 3339
    `time` format OpenAPI's `format: time` means."""


class CalendarSerializer(serializers.ModelSerializer):
    workdays = serializers.ListField(child=serializers.IntegerField(), help_text=_("ISO weekdays: 1 = Monday … 7 = "
                                                                                   "Sunday"))
    work_start = WallClockTimeField(read_only=True)
    work_end = WallClockTimeField(read_only=True)
    break_start = WallClockTimeField(read_only=True, allow_null=True)
    break_end = WallClockTimeField(read_only=True, allow_null=True)

    class Meta:
        model = BusinessCalendar
        fields = ["id", "name", "time_zone", "workdays", "work_start", "work_end", "break_start", "break_end",
                  "is_default", "created_at"]
        read_only_fields = fields


class CalendarInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    time_zone = serializers.CharField(max_length=40, default="Asia/Shanghai", help_text=_("An IANA zone name"))
    workdays = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=7), min_length=1,
                                     max_length=7, help_text=_("ISO weekdays: 1 = Monday … 7 = Sunday"))
    work_start = WallClockTimeField()
    work_end = WallClockTimeField()
    break_start = WallClockTimeField(allow_null=True, required=False, default=None)
    break_end = WallClockTimeField(allow_null=True, required=False, default=None)
    is_default = serializers.BooleanField(required=False, default=False)


class CalendarUpdateSerializer(AllFieldsOptional, CalendarInputSerializer):
    """Every field optional: what is left out keeps its value."""


class CalendarDaySerializer(serializers.ModelSerializer):
    calendar = serializers.IntegerField(source="calendar_id")

    class Meta:
        model = CalendarDay
        fields = ["id", "calendar", "date", "is_working", "name"]
        read_only_fields = fields


class CalendarDayInputSerializer(serializers.Serializer):
    date = serializers.DateField()
    is_working = serializers.BooleanField(help_text=_("false: a holiday; true: a make-up working day"))
    name = serializers.CharField(max_length=80, allow_blank=True, required=False, default="")


def clock_field(**kwargs):
    return named_choice("SlaClockEnum", SlaClock.choices, **kwargs)


class SlaPolicySerializer(serializers.ModelSerializer):
    contract_number = serializers.SerializerMethodField()
    category = category_field(blank=True, read_only=True)
    priority = priority_field(blank=True, read_only=True)
    first_response_clock = clock_field(read_only=True)
    resolution_clock = clock_field(read_only=True)

    class Meta:
        model = SlaPolicy
        fields = ["id", "name", "category", "priority", "contract", "contract_number", "calendar",
                  "first_response_minutes", "first_response_clock", "resolution_minutes", "resolution_clock",
                  "is_active", "created_at"]
        read_only_fields = fields

    def get_contract_number(self, obj) -> str:
        return obj.contract.number if obj.contract_id else ""


class SlaPolicyInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    category = category_field(blank=True, required=False, default="", help_text=_("Empty: any category"))
    priority = priority_field(blank=True, required=False, default="", help_text=_("Empty: any priority"))
    contract = ScopedPrimaryKeyRelatedField(Contract, allow_null=True, required=False, default=None,
                                            help_text=_("Contract id; empty: every customer"))
    calendar = ScopedPrimaryKeyRelatedField(BusinessCalendar, allow_null=True, required=False, default=None,
                                            help_text=_("Business calendar id; empty: the default calendar"))
    first_response_minutes = serializers.IntegerField(min_value=1, max_value=services.MAX_TARGET_MINUTES)
    first_response_clock = clock_field(required=False, default=SlaClock.BUSINESS)
    resolution_minutes = serializers.IntegerField(min_value=1, max_value=services.MAX_TARGET_MINUTES)
    resolution_clock = clock_field(required=False, default=SlaClock.CALENDAR)
    is_active = serializers.BooleanField(required=False, default=True)


class SlaPolicyUpdateSerializer(AllFieldsOptional, SlaPolicyInputSerializer):
    """Every field optional: what is left out keeps its value."""


class BreachRatesQuerySerializer(serializers.Serializer):
    start = serializers.DateField(required=False, help_text=_("First day (default: 30 days before `end`)"))
    end = serializers.DateField(required=False, help_text=_("Day after the last (default: tomorrow)"))
    group_by = serializers.ChoiceField(choices=list(selectors.GROUPS), required=False, default="team")

    def validate(self, attrs):
        end = attrs.get("end") or timezone.localdate() + dt.timedelta(days=1)
        start = attrs.get("start") or end - dt.timedelta(days=30)
        if end <= start:
            raise serializers.ValidationError({"end": _("The end must be after the start.")})
        if (end - start).days > MAX_RATE_DAYS:
            raise serializers.ValidationError({"start": _("At most %(n)d days at a time.") % {"n": MAX_RATE_DAYS}})
        return {**attrs, "start": start, "end": end}


class BreachRateSerializer(serializers.Serializer):
    key = serializers.IntegerField(allow_null=True, help_text=_("Team or branch id; null: none"))
    name = serializers.CharField()
    total = serializers.IntegerField(help_text=_("Tickets opened in the period"))
    first_response_breaches = serializers.IntegerField()
    resolution_breaches = serializers.IntegerField()
    first_response_rate = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True,
                                                   help_text=_("Percent, one decimal"))
    resolution_rate = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True)


class BreachRatesSerializer(serializers.Serializer):
    group_by = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    rows = BreachRateSerializer(many=True)
    total = BreachRateSerializer()


# --- views -----------------------------------------------------------------------------------------

class SlaViewSet(TenantScopedViewSet):
    read_perm, write_perm = READ_PERM, WRITE_PERM
    filter_backends: list = []



@extend_schema_view(list=extend_schema(responses=CalendarSerializer(many=True)),
                    retrieve=extend_schema(responses=CalendarSerializer), destroy=extend_schema(responses=NO_BODY))
class CalendarViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SlaViewSet):
    """Business calendars: working weekdays and hours (with a break) in a time zone."""

    model = BusinessCalendar
    serializer_class = CalendarSerializer

    def scoped_queryset(self):
        return selectors.calendar_list()

    @extend_schema(request=CalendarInputSerializer, responses={201: CalendarSerializer})
    def create(self, request, *args, **kwargs):
        calendar = services.calendar_create(actor=request.user, **parse(CalendarInputSerializer, request.data))
        return Response(CalendarSerializer(calendar).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CalendarUpdateSerializer, responses=CalendarSerializer)
    def partial_update(self, request, *args, **kwargs):
        calendar = self.get_object()
        data = {**_calendar_values(calendar), **parse(CalendarUpdateSerializer, request.data)}
        calendar = services.calendar_update(actor=request.user, calendar=calendar, **data)
        return Response(CalendarSerializer(calendar).data)

    def destroy(self, request, *args, **kwargs):
        services.calendar_delete(actor=request.user, calendar=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(methods=["GET"], responses=CalendarDaySerializer(many=True))
    @extend_schema(methods=["POST"], request=CalendarDayInputSerializer, responses={201: CalendarDaySerializer})
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def days(self, request, pk=None, **kwargs):
        """The calendar's dated days (GET, `?year=` to narrow), or add one (POST)."""
        calendar = self.get_object()
        if request.method == "POST":
            day = services.calendar_day_add(actor=request.user, calendar=calendar,
                                            **parse(CalendarDayInputSerializer, request.data))
            return Response(CalendarDaySerializer(day).data, status=status.HTTP_201_CREATED)
        year = request.query_params.get("year", "")
        if year and not (year.isdecimal() and 2000 <= int(year) <= 2100):
            raise exceptions.ValidationError({"year": [_("A year from 2000 to 2100.")]})
        days = selectors.calendar_days(calendar_id=calendar.pk, year=int(year) if year else None)
        return Response(CalendarDaySerializer(days, many=True).data)


def _calendar_values(calendar: BusinessCalendar) -> dict:
    return {"name": calendar.name, "time_zone": calendar.time_zone, "workdays": list(calendar.workdays or []),
            "work_start": calendar.work_start, "work_end": calendar.work_end, "break_start": calendar.break_start,
            "break_end": calendar.break_end, "is_default": calendar.is_default}


@extend_schema_view(retrieve=extend_schema(responses=CalendarDaySerializer), destroy=extend_schema(responses=NO_BODY))
class CalendarDayViewSet(mixins.RetrieveModelMixin, SlaViewSet):
    """One dated day of a calendar (add days through the calendar's `days`)."""

    model = CalendarDay
    serializer_class = CalendarDaySerializer

    def scoped_queryset(self):
        return CalendarDay.objects.all()

    def destroy(self, request, *args, **kwargs):
        services.calendar_day_remove(actor=request.user, day=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(list=extend_schema(responses=SlaPolicySerializer(many=True)),
                    retrieve=extend_schema(responses=SlaPolicySerializer))
class SlaPolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, SlaViewSet):
    """SLA policies: first-response and resolution targets per category, priority and contract.
    Deactivate one with `is_active: false`."""

    model = SlaPolicy
    serializer_class = SlaPolicySerializer

    def scoped_queryset(self):
        return selectors.sla_policy_list()

    @extend_schema(request=SlaPolicyInputSerializer, responses={201: SlaPolicySerializer})
    def create(self, request, *args, **kwargs):
        policy = services.sla_policy_create(actor=request.user, **parse(SlaPolicyInputSerializer, request.data))
        return Response(SlaPolicySerializer(selectors.sla_policy_get(pk=policy.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=SlaPolicyUpdateSerializer, responses=SlaPolicySerializer)
    def partial_update(self, request, *args, **kwargs):
        policy = self.get_object()
        current = {"name": policy.name, "category": policy.category, "priority": policy.priority,
                   "contract": policy.contract, "calendar": policy.calendar,
                   "first_response_minutes": policy.first_response_minutes,
                   "first_response_clock": policy.first_response_clock,
                   "resolution_minutes": policy.resolution_minutes, "resolution_clock": policy.resolution_clock,
                   "is_active": policy.is_active}
        data = {**current, **parse(SlaPolicyUpdateSerializer, request.data)}
        policy = services.sla_policy_update(actor=request.user, policy=policy, **data)
        return Response(SlaPolicySerializer(selectors.sla_policy_get(pk=policy.pk)).data)


class CanReadTickets(BasePermission):
    message = "Your role does not allow reading tickets."

    def has_permission(self, request, view):
        return IsTenantMember().has_permission(request, view) and request.user.has_perm(READ_PERM)


class BreachRatesView(APIView):
    """Tickets opened in [start, end) (local days) per team or branch: totals, first-response and
    resolution breaches, and their rates in percent. A branch manager sees their subtree."""

    permission_classes = [CanReadTickets]

    @extend_schema(parameters=[BreachRatesQuerySerializer], responses=BreachRatesSerializer)
    def get(self, request):
        query = parse(BreachRatesQuerySerializer, request.query_params)
        zone = timezone.get_current_timezone()
        rates = selectors.sla_breach_rates(
            start=dt.datetime.combine(query["start"], dt.time(), tzinfo=zone),
            end=dt.datetime.combine(query["end"], dt.time(), tzinfo=zone),
            group_by=query["group_by"], membership=request._request.membership)
        return Response(BreachRatesSerializer({
            "group_by": rates.group_by, "start": query["start"], "end": query["end"],
            "rows": [row.as_dict() for row in rates.rows], "total": rates.total.as_dict()}).data)


urlpatterns = [path("sla/breach-rates/", BreachRatesView.as_view(), name="api-sla-breach-rates")]


def register(router) -> None:
    """Add this area's viewsets to the tickets API router."""
    router.register("sla/calendars", CalendarViewSet, basename="sla-calendar")
    router.register("sla/calendar-days", CalendarDayViewSet, basename="sla-calendar-day")
    router.register("sla/policies", SlaPolicyViewSet, basename="sla-policy")
