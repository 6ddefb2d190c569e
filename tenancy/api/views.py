"""Tenancy API: the caller's profile, branches, memberships and the logged reveal."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from tenancy import selectors, services
from tenancy.models import Branch, Membership
from tenancy.views import client_ip, revealable_object

from .base import TenantScopedViewSet
from .filters import BranchFilter, MembershipFilter
from .permissions import IsTenantMember
from .serializers import (
    BRANCH_FIELDS,
    BranchCreateSerializer,
    BranchSerializer,
    BranchUpdateSerializer,
    MembershipCreateSerializer,
    MembershipSerializer,
    MembershipUpdateSerializer,
    MeSerializer,
    RevealRequestSerializer,
    RevealResponseSerializer,
)


class RevealThrottle(UserRateThrottle):
    scope = "reveal"


class MeView(APIView):
    permission_classes = [IsTenantMember]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        django_request = request._request
        user = request.user
        data = {
            "id": user.pk, "username": user.username, "display_name": user.display_name,
            "language": user.language, "active_membership": django_request.membership,
            "active_tenant": django_request.tenant,
            "memberships": [{"id": m.pk, "tenant": m.tenant, "role": m.role}
                            for m in django_request.memberships],
            "permissions": sorted(user.get_all_permissions()),
        }
        return Response(MeSerializer(data).data)


class BranchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    serializer_class = BranchSerializer
    read_perm = "tenancy.view_branch"
    write_perm = "tenancy.manage_branches"
    filterset_class = BranchFilter
    ordering_fields = ["id", "code", "path"]

    model = Branch

    def scoped_queryset(self):
        return selectors.branch_list(search=self.request.query_params.get("search", ""))

    @extend_schema(responses=BranchSerializer(many=True))
    def list(self, request, *args, **kwargs):
        # A hot, wide list: plain rows in the serializer's shape, no per-row serializer work.
        rows = self.filter_queryset(self.get_queryset()).values(*BRANCH_FIELDS)
        return self.get_paginated_response(self.paginate_queryset(rows))

    @extend_schema(request=BranchCreateSerializer, responses={201: BranchSerializer})
    def create(self, request, *args, **kwargs):
        payload = BranchCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        branch = services.branch_create(actor=request.user, **payload.validated_data)
        return Response(BranchSerializer(self.scoped_queryset().get(pk=branch.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=BranchUpdateSerializer, responses=BranchSerializer)
    def partial_update(self, request, *args, **kwargs):
        branch = self.get_object()
        payload = BranchUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        branch = services.branch_update(
            actor=request.user, branch=branch, name=data.get("name", branch.name),
            province=data.get("province", branch.province), city=data.get("city", branch.city),
            is_active=data.get("is_active", branch.is_active),
            parent=data["parent"] if "parent" in data else branch.parent)
        return Response(BranchSerializer(self.scoped_queryset().get(pk=branch.pk)).data)


class MembershipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    serializer_class = MembershipSerializer
    read_perm = "tenancy.view_membership"
    write_perm = "tenancy.manage_members"
    filterset_class = MembershipFilter
    ordering_fields = ["id", "joined_at"]

    model = Membership

    def scoped_queryset(self):
        return selectors.membership_list(search=self.request.query_params.get("search", ""))

    @extend_schema(request=MembershipCreateSerializer, responses={201: MembershipSerializer})
    def create(self, request, *args, **kwargs):
        payload = MembershipCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        membership = services.membership_create_with_user(actor=request.user, **payload.validated_data)
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MembershipUpdateSerializer, responses=MembershipSerializer)
    def partial_update(self, request, *args, **kwargs):
        membership = self.get_object()
        payload = MembershipUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        membership = services.membership_update(
            actor=request.user, membership=membership, role=data.get("role", membership.role),
            branch=data["branch"] if "branch" in data else membership.branch,
            title=data.get("title", membership.title),
            is_active=data.get("is_active", membership.is_active),
            is_away=data.get("is_away", membership.is_away),
            work_phone=data.get("work_phone"), display_name=data.get("display_name"))
        return Response(MembershipSerializer(membership).data)


class RevealView(APIView):
    """Reveal one personal field. Needs the reveal permission and a reason; logged."""

    permission_classes = [IsTenantMember]
    throttle_classes = [RevealThrottle]

    @extend_schema(request=RevealRequestSerializer, responses=RevealResponseSerializer)
    def post(self, request):
        payload = RevealRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        if not request.user.has_perm("tenancy.reveal_pii"):
            raise PermissionDenied()
        obj = revealable_object(data["record_type"], data["record_id"], data["field"])
        value = services.pii_reveal(
            actor=request.user, membership=request._request.membership, obj=obj,
            field_name=data["field"], reason=data["reason"],
            request_id=request._request.request_id, ip_address=client_ip(request._request))
        return Response({"record_type": data["record_type"], "record_id": data["record_id"],
                         "field": data["field"], "value": value})

