"""Customers API: customers with their phones, addresses, contacts, tags and follow-ups; the
duplicate queue and merges; contracts, their prices and price quotes; leads, opportunities, the
pipeline board, follow-ups and sales teams.

Thin, as everywhere (ARCHITECTURE.md §2): parse the payload's shape → call one service (every
write) or selector (every read) → serialize, with personal values masked. Business errors come
from the services as ValidationError naming the field (400), PermissionDenied (403); another
tenant's object, or a lead / opportunity the caller may not see, is 404."""
from __future__ import annotations

from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from tenancy.api.base import TenantScopedViewSet
from tenancy.fields import masked
from tenancy.masking import mask_name

from .. import selectors, services
from ..models import (
    Activity,
    Address,
    Contact,
    Contract,
    ContractLane,
    Customer,
    CustomerPhone,
    DuplicateCandidate,
    Lead,
    LeadSource,
    MergeRecord,
    Opportunity,
    QuoteLine,
    SalesTeam,
    Tag,
)
from ..selectors.records import with_list_extras
from . import serializers as s
from .filters import (
    MAX_ID,
    ActivityFilter,
    ContactFilter,
    ContractFilter,
    CustomerFilter,
    DuplicateFilter,
    LeadFilter,
    MergeFilter,
    OpportunityFilter,
)

# --- helpers ---------------------------------------------------------------------------------------


def flatten_errors(errors, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as flat field names in the services' style: `lanes[0].max_weight_kg`."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            if key == "non_field_errors" and prefix:
                name = prefix
            elif isinstance(key, int):
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            for field, messages in flatten_errors(value, name).items():
                flat.setdefault(field, []).extend(messages)
    elif isinstance(errors, list) and any(isinstance(item, dict | list) for item in errors):
        for index, item in enumerate(errors):
            if item:
                for field, messages in flatten_errors(item, f"{prefix}[{index}]").items():
                    flat.setdefault(field, []).extend(messages)
    else:
        items = errors if isinstance(errors, list) else [errors]
        flat[prefix or "non_field_errors"] = [str(item) for item in items]
    return flat


def parse(serializer_class, data) -> dict:
    """The validated payload (or query) of one request; a 400 naming each bad field."""
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise exceptions.ValidationError(flatten_errors(serializer.errors))
    return dict(serializer.validated_data)


def object_id(value) -> int:
    """A path id as an int; anything that cannot be an id is 404 (like an id never used)."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise Http404 from None
    if not 0 < number <= MAX_ID:
        raise Http404
    return number


class NoPrice(exceptions.NotFound):
    default_code = "no_price"
    default_detail = _("No contract in force has a price for this lane and weight.")


class CustomersViewSet(TenantScopedViewSet):
    """Base of this app's viewsets: an id that cannot be one is 404; filters and ordering
    apply to lists only (an object is found by its id alone)."""

    def filter_queryset(self, queryset):
        if self.detail:
            return queryset
        return super().filter_queryset(queryset)

    def paginated(self, queryset, serializer_class, prepare=None):
        page = self.paginate_queryset(queryset)
        if prepare is not None:
            prepare(page)
        return self.get_paginated_response(serializer_class(page, many=True).data)


NO_BODY = {204: OpenApiResponse(description=_("Done"))}
TAG_ID = OpenApiParameter("tag_id", int, OpenApiParameter.PATH, description=_("Tag id"))


# --- customers -------------------------------------------------------------------------------------

class CustomerViewSet(CustomersViewSet):
    """B-end accounts and C-end persons, and what hangs off one customer."""

    model = Customer
    read_perm = "customers.view_customer"
    write_perm = "customers.change_customer"
    serializer_class = s.CustomerSerializer
    filterset_class = CustomerFilter
    ordering_fields = ["id", "name"]

    def scoped_queryset(self):
        # Lists leave merged records out (filter status=merged to see them); one record is
        # found whatever its status, so a merged id still answers (with merged_into).
        return selectors.customer_list(include_merged=bool(self.detail))

    @staticmethod
    def customer_data(customer: Customer) -> dict:
        with_list_extras([customer])
        return s.CustomerSerializer(customer).data

    @extend_schema(responses=s.CustomerSerializer(many=True))
    def list(self, request, *args, **kwargs):
        # Constant queries per page: the page, then phones and tags of the whole page.
        return self.paginated(self.filter_queryset(self.get_queryset()), s.CustomerSerializer, with_list_extras)

    @extend_schema(responses=s.CustomerSerializer)
    def retrieve(self, request, *args, **kwargs):
        return Response(self.customer_data(self.get_object()))

    @extend_schema(request=s.CustomerCreateSerializer, responses={201: s.CustomerSerializer})
    def create(self, request, *args, **kwargs):
        data = parse(s.CustomerCreateSerializer, request.data)
        customer = services.customer_create(actor=request.user, **data)
        return Response(self.customer_data(selectors.customer_get(pk=customer.pk)), status=status.HTTP_201_CREATED)

    @extend_schema(request=s.CustomerUpdateSerializer, responses=s.CustomerSerializer)
    def partial_update(self, request, *args, **kwargs):
        customer = self.get_object()
        changes = parse(s.CustomerUpdateSerializer, request.data)
        customer = services.customer_update(actor=request.user, customer=customer, **changes)
        return Response(self.customer_data(selectors.customer_get(pk=customer.pk)))

    @extend_schema(parameters=[s.LookupQuerySerializer], responses=s.CustomerLookupRowSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def lookup(self, request, **kwargs):
        """The agent's lookup box: exact phone, customer number or name; at most 20 rows.
        A merged record leads to its survivor."""
        query = parse(s.LookupQuerySerializer, request.query_params)["q"]
        customers = with_list_extras(selectors.customer_lookup(query))
        return Response([
            {"id": c.pk, "number": c.number, "kind": c.kind, "name": c.display_name, "status": c.status,
             "province": c.province, "city": c.city,
             "primary_phone": masked(c.primary_phone, "phone") if c.primary_phone else ""}
            for c in customers])

    @extend_schema(responses=s.Customer360Serializer)
    @action(detail=True, methods=["get"], url_path="360", url_name="360", filter_backends=[])
    def profile_360(self, request, pk=None, **kwargs):
        """Profile, phones, addresses, contacts, tags, contracts, recent follow-ups, deals and
        merges — one query; every personal value masked."""
        view = selectors.customer_360(pk=object_id(pk))
        customer = view.customer
        customer.primary_phone = next((p for p in view.phones if p.is_primary), None)
        customer.tag_list = view.tags
        merges = [{**m, "merged_name": m["merged_name"] if customer.is_account else mask_name(m["merged_name"])}
                  for m in view.merges]
        return Response(s.Customer360Serializer({
            "customer": customer, "phones": view.phones, "addresses": view.addresses, "contacts": view.contacts,
            "tags": view.tags, "contracts": view.contracts, "activities": view.activities,
            "opportunities": view.opportunities, "merges": merges}).data)

    @extend_schema(request=s.CustomerPhoneInputSerializer, responses={201: s.CustomerPhoneSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def phones(self, request, pk=None, **kwargs):
        customer = self.get_object()
        data = parse(s.CustomerPhoneInputSerializer, request.data)
        phone = services.customer_phone_add(actor=request.user, customer=customer, **data)
        return Response(s.CustomerPhoneSerializer(phone).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.AddressInputSerializer, responses={201: s.AddressSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def addresses(self, request, pk=None, **kwargs):
        customer = self.get_object()
        data = parse(s.AddressInputSerializer, request.data)
        address = services.address_add(actor=request.user, customer=customer, **data)
        return Response(s.AddressSerializer(address).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ContactCreateSerializer, responses={201: s.ContactSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def contacts(self, request, pk=None, **kwargs):
        customer = self.get_object()
        data = parse(s.ContactCreateSerializer, request.data)
        contact = services.contact_create(actor=request.user, customer=customer, **data)
        return Response(s.ContactSerializer(contact).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.CustomerTagInputSerializer, responses={201: s.TagBriefSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def tags(self, request, pk=None, **kwargs):
        customer = self.get_object()
        tag = parse(s.CustomerTagInputSerializer, request.data)["tag"]
        services.customer_tag_add(actor=request.user, customer=customer, tag=tag)
        return Response(s.TagBriefSerializer(tag).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[TAG_ID], request=None, responses=NO_BODY)
    @action(detail=True, methods=["delete"], url_path=r"tags/(?P<tag_id>[^/.]+)", url_name="tag-remove",
            filter_backends=[])
    def tag_remove(self, request, pk=None, tag_id=None, **kwargs):
        customer = self.get_object()
        tag = get_object_or_404(selectors.tag_list(), pk=object_id(tag_id))
        services.customer_tag_remove(actor=request.user, customer=customer, tag=tag)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(methods=["GET"], responses=s.ActivitySerializer(many=True))
    @extend_schema(methods=["POST"], request=s.ActivityInputSerializer, responses={201: s.ActivitySerializer})
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def activities(self, request, pk=None, **kwargs):
        """The customer's follow-ups (newest first), or log one."""
        customer = self.get_object()
        if request.method == "GET":
            return self.paginated(selectors.activity_list(customer=customer), s.ActivitySerializer)
        data = parse(s.ActivityInputSerializer, request.data)
        activity = services.activity_log(actor=request.user, customer=customer, **data)
        return Response(s.ActivitySerializer(activity).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(responses=s.ContactSerializer(many=True)),
    retrieve=extend_schema(responses=s.ContactSerializer),
    destroy=extend_schema(responses=NO_BODY),
)
class ContactViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CustomersViewSet):
    """People at B-end accounts. Reveal their phone / email as `customers.contact`."""

    model = Contact
    read_perm = "customers.view_customer"
    write_perm = "customers.change_customer"
    serializer_class = s.ContactSerializer
    filterset_class = ContactFilter
    ordering_fields = ["id"]

    def scoped_queryset(self):
        return Contact.objects.all()

    @extend_schema(request=s.ContactUpdateSerializer, responses=s.ContactSerializer)
    def partial_update(self, request, *args, **kwargs):
        contact = self.get_object()
        data = parse(s.ContactUpdateSerializer, request.data)
        contact = services.contact_update(
            actor=request.user, contact=contact, name=data.get("name", contact.name),
            title=data.get("title", contact.title), phone=data.get("phone", contact.phone or ""),
            email=data.get("email", contact.email or ""), notes=data.get("notes", contact.notes),
            is_primary=data.get("is_primary", contact.is_primary), is_active=data.get("is_active", contact.is_active))
        return Response(s.ContactSerializer(contact).data)

    def destroy(self, request, *args, **kwargs):
        services.contact_remove(actor=request.user, contact=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(retrieve=extend_schema(responses=s.AddressSerializer), destroy=extend_schema(responses=NO_BODY))
class AddressViewSet(mixins.RetrieveModelMixin, CustomersViewSet):
    """Addresses of customers. Reveal the street as `customers.address`."""

    model = Address
    read_perm = "customers.view_customer"
    write_perm = "customers.change_customer"
    serializer_class = s.AddressSerializer

    def scoped_queryset(self):
        return Address.objects.all()

    def destroy(self, request, *args, **kwargs):
        services.address_remove(actor=request.user, address=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(retrieve=extend_schema(responses=s.CustomerPhoneSerializer),
                    destroy=extend_schema(responses=NO_BODY))
class CustomerPhoneViewSet(mixins.RetrieveModelMixin, CustomersViewSet):
    """Phone numbers of customers. Reveal as `customers.customerphone`."""

    model = CustomerPhone
    read_perm = "customers.view_customer"
    write_perm = "customers.change_customer"
    serializer_class = s.CustomerPhoneSerializer

    def scoped_queryset(self):
        return CustomerPhone.objects.all()

    def destroy(self, request, *args, **kwargs):
        services.customer_phone_remove(actor=request.user, phone=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class TagViewSet(mixins.ListModelMixin, CustomersViewSet):
    """The company's tag catalogue."""

    model = Tag
    read_perm = "customers.view_tag"
    write_perm = "customers.manage_tags"
    serializer_class = s.TagSerializer
    ordering_fields = ["id", "name"]

    def scoped_queryset(self):
        return selectors.tag_list()

    @extend_schema(request=s.TagCreateSerializer, responses={201: s.TagSerializer})
    def create(self, request, *args, **kwargs):
        tag = services.tag_create(actor=request.user, **parse(s.TagCreateSerializer, request.data))
        return Response(s.TagSerializer(selectors.tag_list().get(pk=tag.pk)).data, status=status.HTTP_201_CREATED)


# --- duplicates and merges -------------------------------------------------------------------------

@extend_schema_view(list=extend_schema(responses=s.DuplicateSerializer(many=True)),
                    retrieve=extend_schema(responses=s.DuplicateSerializer))
class DuplicateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CustomersViewSet):
    """Pairs of records that may be one customer (open ones by default, best match first)."""

    model = DuplicateCandidate
    read_perm = "customers.view_customer"
    write_perm = "customers.merge_customer"
    serializer_class = s.DuplicateSerializer
    filterset_class = DuplicateFilter
    ordering_fields = ["id", "score"]

    def scoped_queryset(self):
        if self.detail and self.action != "dismiss":
            return DuplicateCandidate.objects.select_related("customer_a", "customer_b")
        return selectors.duplicate_queue()  # open pairs only: a resolved one cannot be dismissed (as on the page)

    @extend_schema(request=None, responses=s.DuplicateSerializer)
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None, **kwargs):
        """Not a duplicate: the pair leaves the queue."""
        candidate = services.duplicate_dismiss(actor=request.user, candidate=self.get_object())
        return Response(s.DuplicateSerializer(candidate).data)


@extend_schema_view(list=extend_schema(responses=s.MergeRecordSerializer(many=True)),
                    retrieve=extend_schema(responses=s.MergeRecordSerializer))
class MergeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CustomersViewSet):
    """Merging duplicate records, and the history of merges."""

    model = MergeRecord
    read_perm = "customers.view_customer"
    write_perm = "customers.merge_customer"
    serializer_class = s.MergeRecordSerializer
    filterset_class = MergeFilter
    ordering_fields = ["id"]

    def scoped_queryset(self):
        return selectors.merge_history()

    @extend_schema(request=s.MergeCreateSerializer, responses={201: s.MergeRecordSerializer})
    def create(self, request, *args, **kwargs):
        """Move everything of `merged` to `survivor`; the merged record stays, marked merged."""
        data = parse(s.MergeCreateSerializer, request.data)
        record = services.customer_merge(actor=request.user, **data)
        return Response(s.MergeRecordSerializer(selectors.merge_history().get(pk=record.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=s.MergePairSerializer, responses=s.MergePlanSerializer)
    @action(detail=False, methods=["post"], pagination_class=None, filter_backends=[])
    def preview(self, request, **kwargs):
        """What merging would do, changing nothing."""
        plan = services.merge_preview(actor=request.user, **parse(s.MergePairSerializer, request.data))
        return Response(s.MergePlanSerializer({
            "survivor": plan.survivor.pk, "merged": plan.merged.pk,
            "moves": [{"model": label, "name": name, "rows": rows} for label, name, rows in plan.moves],
            "filled": [{"field": f, "label": label} for f, label in plan.filled],
            "kept": [{"field": f, "label": label} for f, label in plan.kept],
            "problems": [str(p) for p in plan.problems], "total_rows": plan.total_rows}).data)


# --- contracts -------------------------------------------------------------------------------------

class ContractViewSet(CustomersViewSet):
    """Contracts of B-end accounts with their agreement prices (lanes)."""

    model = Contract
    read_perm = "customers.view_contract"
    write_perm = "customers.change_contract"
    serializer_class = s.ContractSerializer
    filterset_class = ContractFilter
    ordering_fields = ["id", "start_date", "end_date"]

    def scoped_queryset(self):
        qs = selectors.contract_list()
        return qs.prefetch_related("lanes") if self.detail else qs

    def contract_data(self, contract) -> dict:
        return s.ContractDetailSerializer(
            selectors.contract_list().prefetch_related("lanes").get(pk=contract.pk)).data

    @extend_schema(responses=s.ContractSerializer(many=True))
    def list(self, request, *args, **kwargs):
        return self.paginated(self.filter_queryset(self.get_queryset()), s.ContractSerializer)

    @extend_schema(responses=s.ContractDetailSerializer)
    def retrieve(self, request, *args, **kwargs):
        return Response(s.ContractDetailSerializer(self.get_object()).data)

    @extend_schema(request=s.ContractCreateSerializer, responses={201: s.ContractDetailSerializer})
    def create(self, request, *args, **kwargs):
        data = parse(s.ContractCreateSerializer, request.data)
        data["lanes"] = [dict(lane) for lane in data.get("lanes", [])]
        contract = services.contract_create(actor=request.user, **data)
        return Response(self.contract_data(contract), status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.ContractDetailSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None, **kwargs):
        contract = services.contract_activate(actor=request.user, contract=self.get_object())
        return Response(self.contract_data(contract))

    @extend_schema(request=s.ContractTerminateSerializer, responses=s.ContractDetailSerializer)
    @action(detail=True, methods=["post"])
    def terminate(self, request, pk=None, **kwargs):
        contract = self.get_object()
        data = parse(s.ContractTerminateSerializer, request.data)
        contract = services.contract_terminate(actor=request.user, contract=contract, on=data.get("on"),
                                               reason=data["reason"])
        return Response(self.contract_data(contract))

    @extend_schema(request=s.LaneInputSerializer, responses={201: s.LaneSerializer})
    @action(detail=True, methods=["post"])
    def lanes(self, request, pk=None, **kwargs):
        """Add a price to a draft contract."""
        contract = self.get_object()
        lane = services.contract_lane_add(actor=request.user, contract=contract,
                                          **parse(s.LaneInputSerializer, request.data))
        return Response(s.LaneSerializer(lane).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[s.PriceQuoteQuerySerializer],
                   responses={200: s.PriceQuoteSerializer,
                              404: OpenApiResponse(s.ErrorSerializer, description=_("code no_price: no contract "
                                                                                    "in force covers it"))})
    @action(detail=False, methods=["get"], url_path="price-quote", url_name="price-quote", pagination_class=None,
            filter_backends=[])
    def price_quote(self, request, **kwargs):
        """The price of one parcel under the customer's contract in force on the day."""
        query = parse(s.PriceQuoteQuerySerializer, request.query_params)
        quote = selectors.price_quote(
            customer=query["customer"], origin_province=query["origin_province"],
            destination_province=query["destination_province"], weight_kg=query["weight_kg"], on=query.get("on"))
        if quote is None:
            raise NoPrice()
        return Response(s.PriceQuoteSerializer({
            "amount": quote.amount, "currency": "CNY", "weight_kg": quote.weight_kg,
            "charged_weight_kg": quote.charged_weight_kg, "contract": quote.contract, "lane": quote.lane}).data)


@extend_schema_view(destroy=extend_schema(responses=NO_BODY))
class ContractLaneViewSet(CustomersViewSet):
    """One agreement price of a draft contract."""

    model = ContractLane
    read_perm = "customers.view_contract"
    write_perm = "customers.change_contract"
    serializer_class = s.LaneSerializer

    def scoped_queryset(self):
        return ContractLane.objects.select_related("contract")

    def destroy(self, request, *args, **kwargs):
        services.contract_lane_remove(actor=request.user, lane=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- sales -----------------------------------------------------------------------------------------

@extend_schema_view(list=extend_schema(responses=s.LeadSerializer(many=True)),
                    retrieve=extend_schema(responses=s.LeadSerializer))
class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CustomersViewSet):
    """Leads the caller may see: their own and their team's (all with customers.view_all_leads).
    Anyone else's lead is 404."""

    model = Lead
    read_perm = "customers.view_lead"
    serializer_class = s.LeadSerializer
    filterset_class = LeadFilter
    ordering_fields = ["id"]

    @property
    def write_perm(self):
        return "customers.add_lead" if self.action == "create" else "customers.change_lead"

    def scoped_queryset(self):
        return selectors.lead_list(actor=self.request.user)

    @extend_schema(request=s.LeadCreateSerializer, responses={201: s.LeadSerializer})
    def create(self, request, *args, **kwargs):
        """Capture a lead (source "api"); it is routed at once to the matching sales team and
        assigned round-robin inside it."""
        lead = services.lead_create(actor=request.user, source=LeadSource.API,
                                    **parse(s.LeadCreateSerializer, request.data))
        return Response(s.LeadSerializer(lead).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.LeadAssignSerializer, responses=s.LeadSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None, **kwargs):
        """To a sales manager (needs customers.assign_lead), or by the team rules when `owner`
        is left out."""
        lead = self.get_object()
        data = parse(s.LeadAssignSerializer, request.data)
        lead = services.lead_assign(actor=request.user, lead=lead, owner=data.get("owner"), reason=data["reason"])
        return Response(s.LeadSerializer(lead).data)

    @extend_schema(request=s.LeadDisqualifySerializer, responses=s.LeadSerializer)
    @action(detail=True, methods=["post"])
    def disqualify(self, request, pk=None, **kwargs):
        lead = self.get_object()
        data = parse(s.LeadDisqualifySerializer, request.data)
        lead = services.lead_disqualify(actor=request.user, lead=lead, reason=data["reason"])
        return Response(s.LeadSerializer(lead).data)

    @extend_schema(request=s.LeadQualifySerializer, responses={201: s.OpportunityDetailSerializer})
    @action(detail=True, methods=["post"])
    def qualify(self, request, pk=None, **kwargs):
        """Turn the lead into an opportunity (stage qualified), same owner and team."""
        lead = self.get_object()
        opportunity = services.lead_qualify(actor=request.user, lead=lead,
                                            **parse(s.LeadQualifySerializer, request.data))
        return Response(OpportunityViewSet.opportunity_data(request.user, opportunity),
                        status=status.HTTP_201_CREATED)


@extend_schema_view(list=extend_schema(responses=s.OpportunitySerializer(many=True)),
                    retrieve=extend_schema(responses=s.OpportunityDetailSerializer))
class OpportunityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CustomersViewSet):
    """Deals the caller may see (owner, team, or everything with customers.view_all_leads)."""

    model = Opportunity
    read_perm = "customers.view_opportunity"
    filterset_class = OpportunityFilter
    ordering_fields = ["id", "expected_monthly_revenue"]

    @property
    def write_perm(self):
        return "customers.add_opportunity" if self.action == "create" else "customers.change_opportunity"

    def get_serializer_class(self):
        return s.OpportunityDetailSerializer if self.detail else s.OpportunitySerializer

    def scoped_queryset(self):
        qs = selectors.opportunity_list(actor=self.request.user)
        return qs.prefetch_related("quote_lines") if self.detail else qs

    @staticmethod
    def opportunity_data(actor, opportunity) -> dict:
        fresh = (selectors.opportunity_list(actor=actor).prefetch_related("quote_lines")
                 .filter(pk=opportunity.pk).first())
        return s.OpportunityDetailSerializer(fresh or opportunity).data

    @extend_schema(request=s.OpportunityCreateSerializer, responses={201: s.OpportunityDetailSerializer})
    def create(self, request, *args, **kwargs):
        """A new deal with an existing B-end account, owned by the caller."""
        opportunity = services.opportunity_create(actor=request.user,
                                                  **parse(s.OpportunityCreateSerializer, request.data))
        return Response(self.opportunity_data(request.user, opportunity), status=status.HTTP_201_CREATED)

    @extend_schema(request=s.OpportunityMoveSerializer, responses=s.OpportunityDetailSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None, **kwargs):
        opportunity = self.get_object()
        data = parse(s.OpportunityMoveSerializer, request.data)
        opportunity = services.opportunity_move(actor=request.user, opportunity=opportunity, stage=data["stage"])
        return Response(self.opportunity_data(request.user, opportunity))

    @extend_schema(request=s.OpportunityWinSerializer, responses=s.OpportunityDetailSerializer)
    @action(detail=True, methods=["post"])
    def win(self, request, pk=None, **kwargs):
        """Won: the account (from the lead, if new) and an active contract with the quoted prices."""
        opportunity = self.get_object()
        opportunity = services.opportunity_win(actor=request.user, opportunity=opportunity,
                                               **parse(s.OpportunityWinSerializer, request.data))
        return Response(self.opportunity_data(request.user, opportunity))

    @extend_schema(request=s.OpportunityLoseSerializer, responses=s.OpportunityDetailSerializer)
    @action(detail=True, methods=["post"])
    def lose(self, request, pk=None, **kwargs):
        opportunity = self.get_object()
        data = parse(s.OpportunityLoseSerializer, request.data)
        opportunity = services.opportunity_lose(actor=request.user, opportunity=opportunity, reason=data["reason"],
                                                note=data["note"])
        return Response(self.opportunity_data(request.user, opportunity))

    @extend_schema(request=s.LaneInputSerializer, responses={201: s.QuoteLineSerializer})
    @action(detail=True, methods=["post"], url_path="quote-lines", url_name="quote-lines")
    def quote_lines(self, request, pk=None, **kwargs):
        opportunity = self.get_object()
        line = services.quote_line_add(actor=request.user, opportunity=opportunity,
                                       **parse(s.LaneInputSerializer, request.data))
        return Response(s.QuoteLineSerializer(line).data, status=status.HTTP_201_CREATED)


@extend_schema_view(destroy=extend_schema(responses=NO_BODY))
class QuoteLineViewSet(CustomersViewSet):
    """One quoted price of an open deal the caller may see."""

    model = QuoteLine
    read_perm = "customers.view_opportunity"
    write_perm = "customers.change_opportunity"
    serializer_class = s.QuoteLineSerializer

    def scoped_queryset(self):
        visible = selectors.opportunity_list(actor=self.request.user)
        return QuoteLine.objects.filter(opportunity__in=visible).select_related("opportunity")

    def destroy(self, request, *args, **kwargs):
        services.quote_line_remove(actor=request.user, line=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class PipelineViewSet(CustomersViewSet):
    """The pipeline board: open stages, plus deals won / lost in the last 30 days."""

    model = Opportunity
    read_perm = "customers.view_opportunity"
    write_perm = "customers.change_opportunity"
    pagination_class = None
    filter_backends = []
    serializer_class = s.PipelineColumnSerializer

    def scoped_queryset(self):
        return selectors.opportunity_list(actor=self.request.user)

    @extend_schema(parameters=[s.PipelineQuerySerializer], responses=s.PipelineColumnSerializer(many=True))
    def list(self, request, *args, **kwargs):
        query = parse(s.PipelineQuerySerializer, request.query_params)
        columns = selectors.pipeline_board(actor=request.user, owner_id=query.get("owner"))
        return Response(s.PipelineColumnSerializer(
            [{**column, "count": len(column["cards"])} for column in columns], many=True).data)


@extend_schema_view(list=extend_schema(responses=s.ActivitySerializer(many=True)),
                    retrieve=extend_schema(responses=s.ActivitySerializer))
class ActivityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CustomersViewSet):
    """Follow-ups on accounts, and on the leads and deals the caller may see."""

    model = Activity
    read_perm = "customers.view_customer"
    write_perm = "customers.change_customer"
    serializer_class = s.ActivitySerializer
    filterset_class = ActivityFilter
    ordering_fields = ["id"]

    def scoped_queryset(self):
        user = self.request.user
        return selectors.activity_list().filter(
            Q(lead__isnull=True) | Q(lead__in=selectors.lead_list(actor=user)),
            Q(opportunity__isnull=True) | Q(opportunity__in=selectors.opportunity_list(actor=user)))

    @extend_schema(request=None, responses=s.ActivitySerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None, **kwargs):
        """Mark the next action done (the person who set it, or an administrator)."""
        activity = services.activity_complete(actor=request.user, activity=self.get_object())
        return Response(s.ActivitySerializer(activity).data)


@extend_schema_view(list=extend_schema(responses=s.SalesTeamSerializer(many=True)),
                    retrieve=extend_schema(responses=s.SalesTeamSerializer))
class SalesTeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CustomersViewSet):
    """Sales teams: who gets which leads (provinces, industries, rule order) and who sees whose."""

    model = SalesTeam
    read_perm = "customers.view_lead"
    write_perm = "customers.manage_sales_teams"
    serializer_class = s.SalesTeamSerializer
    ordering_fields = ["id", "priority"]

    def scoped_queryset(self):
        return selectors.sales_team_list()

    def team_data(self, team) -> dict:
        return s.SalesTeamSerializer(selectors.sales_team_list().get(pk=team.pk)).data

    @extend_schema(request=s.SalesTeamCreateSerializer, responses={201: s.SalesTeamSerializer})
    def create(self, request, *args, **kwargs):
        team = services.sales_team_create(actor=request.user, **parse(s.SalesTeamCreateSerializer, request.data))
        return Response(self.team_data(team), status=status.HTTP_201_CREATED)

    @extend_schema(request=s.SalesTeamUpdateSerializer, responses=s.SalesTeamSerializer)
    def partial_update(self, request, *args, **kwargs):
        team = self.get_object()
        data = parse(s.SalesTeamUpdateSerializer, request.data)
        members = data.get("members", [tm.membership for tm in team.team_members.all()])
        team = services.sales_team_update(
            actor=request.user, team=team, name=data.get("name", team.name),
            provinces=data.get("provinces", team.provinces), industries=data.get("industries", team.industries),
            priority=data.get("priority", team.priority), leader=data["leader"] if "leader" in data else team.leader,
            members=members, is_active=data.get("is_active", team.is_active))
        return Response(self.team_data(team))
