from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from tenancy.fields import masked
from tenancy.models import Branch, BranchKind, Membership, Role

from .base import ScopedPrimaryKeyRelatedField

# The branch list is served from .values() rows shaped exactly like this serializer's output
# (BranchViewSet.list): the serializer documents the shape and serves single objects.
BRANCH_FIELDS = ["id", "code", "name", "kind", "parent", "path", "province", "city", "is_active", "staff_count"]


class BranchSerializer(serializers.ModelSerializer):
    parent = ScopedPrimaryKeyRelatedField(Branch, allow_null=True, required=False)
    staff_count = serializers.IntegerField(read_only=True, required=False)

    class Meta:
        model = Branch
        fields = BRANCH_FIELDS
        read_only_fields = ["id", "path", "staff_count"]


class BranchCreateSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=20)
    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=BranchKind.choices)
    parent = ScopedPrimaryKeyRelatedField(Branch, allow_null=True, required=False, default=None)
    province = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class BranchUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    parent = ScopedPrimaryKeyRelatedField(Branch, allow_null=True, required=False)
    province = serializers.CharField(max_length=20, required=False, allow_blank=True)
    city = serializers.CharField(max_length=40, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class UserBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()


class MembershipSerializer(serializers.ModelSerializer):
    user = UserBriefSerializer(read_only=True)
    branch_name = serializers.CharField(source="branch.name", read_only=True, default=None, allow_null=True)
    work_phone = serializers.SerializerMethodField(help_text=_("Masked; reveal through /api/v1/pii/reveal/"))

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "branch", "branch_name", "title", "is_active", "is_away",
                  "work_phone", "joined_at"]
        read_only_fields = fields

    def get_work_phone(self, obj) -> str:
        return masked(obj, "work_phone")


class MembershipCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    display_name = serializers.CharField(max_length=120)
    password = serializers.CharField(write_only=True, max_length=128)
    role = serializers.ChoiceField(choices=Role.choices)
    branch = ScopedPrimaryKeyRelatedField(Branch, allow_null=True, required=False, default=None)
    title = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    work_phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class MembershipUpdateSerializer(serializers.Serializer):
    display_name = serializers.CharField(max_length=120, required=False)
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    branch = ScopedPrimaryKeyRelatedField(Branch, allow_null=True, required=False)
    title = serializers.CharField(max_length=80, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    is_away = serializers.BooleanField(required=False)
    work_phone = serializers.CharField(max_length=40, required=False, allow_blank=True)


class TenantBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class MyMembershipSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    tenant = TenantBriefSerializer()
    role = serializers.CharField()


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    language = serializers.CharField()
    active_membership = MembershipSerializer()
    active_tenant = TenantBriefSerializer()
    memberships = MyMembershipSerializer(many=True)
    permissions = serializers.ListField(child=serializers.CharField())


class RevealRequestSerializer(serializers.Serializer):
    record_type = serializers.CharField(help_text=_("app_label.model, e.g. tenancy.membership"))
    record_id = serializers.IntegerField(min_value=1)
    field = serializers.CharField()
    reason = serializers.CharField(max_length=300)


class RevealResponseSerializer(serializers.Serializer):
    record_type = serializers.CharField()
    record_id = serializers.IntegerField()
    field = serializers.CharField()
    value = serializers.CharField()
