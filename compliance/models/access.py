"""The personal-data access log: one append-only row per reveal or export."""
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantScopedModel


class AccessAction(models.TextChoices):
    REVEAL = "reveal", _("Reveal")
    EXPORT = "export", _("Export")


class AccessLog(TenantScopedModel):
    """Who saw which personal data, when, why and from where — never the value itself.

    Insert-only in the database (privileges revoked and a trigger) for the application role."""

    append_only = True
    # The label may name the person (a customer's name); a deletion request blanks it.
    redactable_fields = ("target_label",)
    # Retention may delete rows older than its policy, never younger than six months (the
    # Cybersecurity Law's minimum for network logs), whatever a policy says.
    purge_after = ("created_at", 183)

    action = models.CharField(_("action"), max_length=10, choices=AccessAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("who")
    )
    actor_role = models.CharField(_("role"), max_length=20)
    target_type = models.CharField(_("record type"), max_length=100)
    target_id = models.BigIntegerField(_("record id"), null=True, blank=True)
    target_label = models.CharField(_("record"), max_length=200, blank=True)
    fields = ArrayField(models.CharField(max_length=60), default=list, verbose_name=_("fields"))
    reason = models.TextField(_("reason"))
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    export_row_count = models.PositiveIntegerField(_("exported rows"), null=True, blank=True)
    export_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    export_file_sha256 = models.CharField(_("file SHA-256"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("personal-data access")
        verbose_name_plural = _("personal-data access log")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="accesslog_tenant_time"),
            models.Index(fields=["tenant", "target_type", "target_id"], name="accesslog_target"),
            models.Index(fields=["tenant", "actor", "-created_at"], name="accesslog_actor_time"),
        ]
        permissions = [("view_access_log", _("Browse the personal-data access log"))]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.target_type}#{self.target_id} by {self.actor_id}"
