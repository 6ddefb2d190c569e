"""Tenants, branches, users, memberships and the tenant base model every owned table uses."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models
from django.db.models.signals import class_prepared
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .fields import BlindIndexField, EncryptedTextField, allocate_ids, encrypted_fields
from .scoping import CrossTenantReference, current_state, current_tenant_id


class Tenant(models.Model):
    """A courier company. Global table: it is what a scope is entered *for*."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    offboarded_at = models.DateTimeField(_("offboarded at"), null=True, blank=True)
    keys_shredded_at = models.DateTimeField(_("keys destroyed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class TenantQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        tenant_id = current_tenant_id()
        for obj in objs:
            if obj.tenant_id is None:
                obj.tenant_id = tenant_id
            elif obj.tenant_id != tenant_id:
                raise CrossTenantReference(f"{obj!r} belongs to another tenant than the scope")
        objs = list(objs)
        if encrypted_fields(self.model):
            missing = [obj for obj in objs if obj.pk is None]
            for obj, new_id in zip(missing, allocate_ids(self.model, len(missing)), strict=True):
                obj.pk = new_id
        return super().bulk_create(objs, *args, **kwargs)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Default *and* base manager of every tenant-owned model: fails closed without a scope."""

    use_in_migrations = False

    def get_queryset(self):
        return super().get_queryset().filter(tenant_id=current_tenant_id())

    def none(self):
        # An empty queryset reads no rows, so it is safe without a scope (schema generation
        # and form set-up ask for one before any request exists).
        return self._queryset_class(model=self.model, using=self._db).none()


class TenantScopedModel(models.Model):
    """Base of every tenant-owned model.

    - `objects` (also the base manager, used for related-object access) raises outside a scope
      and filters to the scope's tenant inside one;
    - `tenant` is filled from the scope on save and can never be another tenant's;
    - a foreign key to another tenant-owned row is checked to belong to the same tenant.
    Row-level security (tenancy.rls) is added for every subclass by the post-migrate sync.
    Set `append_only = True` on a subclass to make its table insert-only in the database.
    """

    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, editable=False, related_name="+", db_index=False
    )

    objects = TenantManager()
    append_only = False

    class Meta:
        abstract = True
        base_manager_name = "objects"
        default_manager_name = "objects"

    def save(self, *args, **kwargs):
        scope_tenant = current_tenant_id()
        if self.tenant_id is None:
            self.tenant_id = scope_tenant
        elif self.tenant_id != scope_tenant:
            raise CrossTenantReference(
                f"{type(self).__name__} of tenant {self.tenant_id} saved in the scope of "
                f"tenant {scope_tenant}"
            )
        if self.append_only and not self._state.adding:
            raise PermissionError(f"{type(self).__name__} is append-only: rows never change")
        self.check_same_tenant_references()
        if self.pk is None and encrypted_fields(type(self)):
            # Sealed values bind their row id, so the id is reserved before the insert.
            (self.pk,) = allocate_ids(type(self), 1)
            kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.append_only:
            raise PermissionError(f"{type(self).__name__} is append-only: rows are never deleted")
        return super().delete(*args, **kwargs)

    def check_same_tenant_references(self) -> None:
        """Refuse a foreign key that points at a row of another tenant (or at nothing visible)."""
        for field in self._meta.concrete_fields:
            if not field.is_relation or not field.many_to_one:
                continue
            related = field.related_model
            if not (isinstance(related, type) and issubclass(related, TenantScopedModel)):
                continue
            value = getattr(self, field.attname)
            if value is None:
                continue
            if field.is_cached(self):
                obj = field.get_cached_value(self)
                if obj is not None and obj.tenant_id == self.tenant_id and obj.pk == value:
                    continue
            if not related._base_manager.filter(pk=value).exists():
                raise CrossTenantReference(
                    f"{type(self).__name__}.{field.name} points at a {related.__name__} "
                    f"that is not in tenant {self.tenant_id}"
                )


@receiver(class_prepared)
def _force_scoped_base_manager(sender, **kwargs):
    # A subclass that writes its own `class Meta:` without inheriting would lose the base
    # manager setting; tenancy.checks also reports it, this makes it impossible in practice.
    if issubclass(sender, TenantScopedModel) and not sender._meta.abstract:
        sender._meta.base_manager_name = "objects"
        sender._meta.default_manager_name = "objects"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, username, password=None, **extra):
        if not username:
            raise ValueError("username is required")
        user = self.model(username=username, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, username, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(username, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in. Global: one login may belong to several tenants (memberships).

    No personal contact data lives here: work phones are per membership, encrypted."""

    username_validator = UnicodeUsernameValidator()

    username = models.CharField(
        _("username"), max_length=150, unique=True, validators=[username_validator],
        help_text=_("Letters, digits and @/./+/-/_ only."),
    )
    display_name = models.CharField(_("display name"), max_length=120)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(
        _("platform staff"), default=False,
        help_text=_("Platform operators who may open the platform admin site."),
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    language = models.CharField(
        _("language"), max_length=10, default="zh-hans",
        choices=[("zh-hans", "简体中文"), ("en", "English")],
    )
    last_active_tenant = models.ForeignKey(
        Tenant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("last active tenant"),
    )

    home_tenant = models.ForeignKey(
        Tenant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("home company"),
        help_text=_("The company whose admins manage this login (empty for external logins)."),
    )

    objects = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS = ["display_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

    def get_full_name(self) -> str:
        return self.display_name

    def get_short_name(self) -> str:
        return self.display_name


class Role(models.TextChoices):
    AGENT = "agent", _("Customer-service agent")
    SALES_MANAGER = "sales_manager", _("Sales manager")
    BRANCH_MANAGER = "branch_manager", _("Branch manager")
    AUDITOR = "auditor", _("Auditor")
    EXECUTIVE = "executive", _("Executive")
    TENANT_ADMIN = "tenant_admin", _("Tenant admin")


class BranchKind(models.TextChoices):
    HQ = "hq", _("Headquarters")
    REGION = "region", _("Region")
    BRANCH = "branch", _("Branch")


# The kind a child may have under each parent kind: HQ → region → branch.
BRANCH_CHILD_KIND = {BranchKind.HQ: BranchKind.REGION, BranchKind.REGION: BranchKind.BRANCH}


class Branch(TenantScopedModel):
    """A node of the company's network tree (HQ → region → branch)."""

    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=BranchKind.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children",
        verbose_name=_("parent"),
    )
    # Materialised path of ids ("/1/4/9/"), so a subtree is one indexed prefix match.
    path = models.CharField(max_length=255, editable=False, default="")
    province = models.CharField(_("province"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=40, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("branch")
        verbose_name_plural = _("branches")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="branch_code_unique_per_tenant"),
        ]
        indexes = [
            models.Index(fields=["tenant", "path"], name="branch_tenant_path",
                         opclasses=["int8_ops", "varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def depth(self) -> int:
        return max(self.path.count("/") - 2, 0)


class Membership(TenantScopedModel):
    """A user's place in one tenant: their role and (optionally) their branch."""

    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, null=True, blank=True, related_name="memberships",
        verbose_name=_("branch"),
    )
    title = models.CharField(_("job title"), max_length=80, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_away = models.BooleanField(
        _("away"), default=False, help_text=_("Away people are skipped by automatic assignment.")
    )
    joined_at = models.DateTimeField(_("joined at"), default=timezone.now)
    work_phone = EncryptedTextField(_("work phone"), kind="phone", blank=True, null=True)
    work_phone_bidx = BlindIndexField(source="work_phone")

    # Login and the tenant switcher list a user's own memberships before any tenant is chosen.
    extra_rls_policies = [
        ("membership_self", "SELECT",
         "user_id = NULLIF(current_setting('app.user_id', true), '')::bigint"),
    ]

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_one_per_tenant"),
        ]
        indexes = [models.Index(fields=["tenant", "work_phone_bidx"], name="membership_phone_bidx")]
        permissions = [
            ("manage_members", _("Manage users, roles and memberships")),
            ("manage_branches", _("Manage the branch tree")),
            ("reveal_pii", _("Reveal masked personal data (logged)")),
            ("export_data", _("Export data (logged)")),
            ("view_directory", _("See colleagues in the tenant")),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant_id} ({self.get_role_display()})"

    @property
    def role_label(self) -> str:
        return Role(self.role).label


class MembershipOfUserManager(models.Manager):
    """The current user's own memberships across tenants (login, tenant switcher).

    Needs `tenancy.scoping.user_scope`; row-level security has a matching policy."""

    def get_queryset(self):
        user_id = current_state().user_id
        if user_id is None:
            from .scoping import TenantScopeError

            raise TenantScopeError("Membership.of_user needs tenancy.scoping.user_scope(user)")
        return super().get_queryset().filter(user_id=user_id)


Membership.add_to_class("of_user", MembershipOfUserManager())


class KeyPurpose(models.TextChoices):
    DATA = "data", _("data encryption")
    INDEX = "index", _("blind index")


class TenantKey(TenantScopedModel):
    """A tenant's data or index key, stored only wrapped by the master key."""

    purpose = models.CharField(max_length=10, choices=KeyPurpose.choices)
    version = models.PositiveIntegerField()
    wrapped_key = models.BinaryField()
    master_key_id = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("tenant key")
        verbose_name_plural = _("tenant keys")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "purpose", "version"], name="tenant_key_version"),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} v{self.version}"


class ApiToken(models.Model):
    """An integration token: establishes user *and* tenant before any scope exists, so it is a
    global table. Only a SHA-256 digest of the key is stored."""

    name = models.CharField(_("name"), max_length=80)
    key_digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class NumberSequence(TenantScopedModel):
    """A per-tenant counter for human-readable numbers (customer B00000123, ticket T2026-000123).

    Incremented with a row lock inside the caller's transaction, so numbers are gapless and never
    handed out twice (tenancy.services.number_next)."""

    name = models.CharField(max_length=40)
    last_value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="numbersequence_unique_per_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.last_value}"


class Notification(TenantScopedModel):
    """An in-app message for one member (follow-up reminders, assignments, alerts).

    `dedup_key` makes a job that notifies twice harmless: one notification per key and member."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="notifications",
                                   verbose_name=_("for"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    dedup_key = models.CharField(max_length=120)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "membership", "dedup_key"], name="notification_once_per_key"),
        ]
        indexes = [
            models.Index(fields=["tenant", "membership", "read_at"], name="notification_inbox"),
        ]

    def __str__(self) -> str:
        return self.title


class RuleSetting(TenantScopedModel):
    """A tenant's own value for one business rule, in force from a date (DOMAIN.md: every number
    is a per-tenant setting with a default, versioned by the date it takes effect). Rows are
    never edited: a change is a new row with a later `effective_from`."""

    append_only = True

    key = models.CharField(_("rule"), max_length=80)
    value = models.JSONField(_("value"))
    effective_from = models.DateField(_("in force from"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("rule setting")
        verbose_name_plural = _("rule settings")
        ordering = ["key", "-effective_from", "-id"]
        indexes = [models.Index(fields=["tenant", "key", "-effective_from"], name="rulesetting_lookup")]
        permissions = [("manage_rules", _("Change the company's business rules"))]

    def __str__(self) -> str:
        return f"{self.key}={self.value} from {self.effective_from}"


class JobOutcome(models.TextChoices):
    RUNNING = "running", _("Running")
    OK = "ok", _("Succeeded")
    RETRYING = "retrying", _("Failed, will retry")
    FAILED = "failed", _("Failed")


class JobState(TenantScopedModel):
    """The last run of one background task for one company: what the job-monitoring page shows.

    One row per (company, task), upserted by `TenantTask` at the start and end of every run, so
    the table stays as small as the task list however often the jobs run."""

    task = models.CharField(_("task"), max_length=120)
    last_started_at = models.DateTimeField(_("last started"), null=True, blank=True)
    last_finished_at = models.DateTimeField(_("last finished"), null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    last_outcome = models.CharField(_("outcome"), max_length=10, choices=JobOutcome.choices, blank=True)
    last_detail = models.CharField(_("detail"), max_length=500, blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_failure_at = models.DateTimeField(_("last failure"), null=True, blank=True)
    runs = models.PositiveIntegerField(_("runs"), default=0)
    failures = models.PositiveIntegerField(_("failures"), default=0)

    class Meta:
        verbose_name = _("job state")
        verbose_name_plural = _("job states")
        ordering = ["task"]
        constraints = [models.UniqueConstraint(fields=["tenant", "task"], name="jobstate_one_per_task")]

    def __str__(self) -> str:
        return f"{self.task}: {self.last_outcome}"


class DeadLetter(TenantScopedModel):
    """A task that failed on its last retry: kept with its arguments and error so a tenant admin
    can see it and send it again once the cause is fixed."""

    task = models.CharField(_("task"), max_length=120)
    task_id = models.CharField(max_length=64, blank=True)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    error_type = models.CharField(_("error"), max_length=120)
    error = models.TextField(_("error message"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=1)
    created_at = models.DateTimeField(_("failed at"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+", verbose_name=_("resolved by"))
    resolution = models.CharField(_("resolution"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("dead letter")
        verbose_name_plural = _("dead letters")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "resolved_at", "-created_at"], name="deadletter_open")]
        permissions = [("view_jobs", _("See background jobs and dead letters"))]

    def __str__(self) -> str:
        return f"{self.task} {self.created_at:%Y-%m-%d %H:%M}"
