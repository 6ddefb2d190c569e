"""The platform admin site (/platform-admin/): platform staff only. It registers the global
tables (companies, logins, API tokens) — no tenant-owned model: tenant data is managed inside
the product by each company's tenant admins."""
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import ApiToken, Tenant, User
from .services import platform_tenant_create


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    """New companies get their keys and headquarters node from the platform service; the first
    tenant admin comes from `manage.py create_tenant` or by adding an existing login."""

    list_display = ["code", "name", "name_en", "is_active", "created_at"]
    search_fields = ["code", "name", "name_en"]
    list_filter = ["is_active"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created = platform_tenant_create(code=obj.code, name=obj.name, name_en=obj.name_en)
        obj.pk = created.pk
        obj.created_at = created.created_at


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "display_name", "home_tenant", "is_active", "is_staff", "last_login"]
    search_fields = ["username", "display_name"]
    list_filter = ["is_active", "is_staff", "home_tenant"]
    ordering = ["username"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("Profile"), {"fields": ["display_name", "language", "home_tenant", "last_active_tenant"]}),
        (_("Status"), {"fields": ["is_active", "is_staff", "is_superuser", "last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["username", "display_name", "password1", "password2"]})]
    filter_horizontal = []


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "user", "tenant", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["tenant"]
    readonly_fields = ["key_digest", "prefix", "user", "tenant", "created_at", "last_used_at"]
    search_fields = ["name", "prefix", "user__username"]
