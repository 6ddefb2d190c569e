"""What is said on a ticket: outbound messages through the channel adapters, attachments, and
macros (canned replies)."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.fields import EncryptedTextField
from tenancy.models import TenantScopedModel

from .routing import Team
from .tickets import Ticket, TicketCategory, TicketEvent, TicketPriority, TicketStatus


class ReplyStage(models.TextChoices):
    """The staged replies of DOMAIN.md §3: the customer hears at intake, at each stage, at the end."""

    INTAKE = "intake", _("Acknowledgement of intake")
    PROGRESS = "progress", _("Progress update")
    RESULT = "result", _("Result")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to send")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    RECORDED = "recorded", _("Recorded (told by phone)")


class OutboundMessage(TenantScopedModel):
    """A public reply on its way to the customer through a channel adapter. The reply itself is
    a timeline event (never changes); this row tracks its delivery."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="outbound", verbose_name=_("ticket"))
    event = models.OneToOneField(TicketEvent, on_delete=models.CASCADE, related_name="outbound")
    channel = models.CharField(_("channel"), max_length=10)
    stage = models.CharField(_("stage"), max_length=10, choices=ReplyStage.choices)
    recipient = EncryptedTextField(_("recipient"), kind="text", blank=True, null=True)
    status = models.CharField(_("delivery"), max_length=10, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    provider_ref = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")
        ordering = ["id"]
        indexes = [models.Index(fields=["tenant", "status", "created_at"], name="outbound_pending")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.channel} {self.status}"


def attachment_path(instance: TicketAttachment, filename: str) -> str:
    # The stored name says nothing about the content; the original name is kept in `name`.
    return f"tickets/{instance.tenant_id}/{timezone.now():%Y/%m}/{instance.sha256[:2]}/{instance.sha256}"


class TicketAttachment(TenantScopedModel):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments",
                               verbose_name=_("ticket"))
    event = models.ForeignKey(TicketEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("uploaded by"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["tenant", "ticket"], name="attachment_ticket")]

    def __str__(self) -> str:
        return self.name


class MacroAction(models.TextChoices):
    REPLY = "reply", _("Public reply")
    NOTE = "note", _("Internal note")


class Macro(TenantScopedModel):
    """A canned reply or note. The text may use variables ({customer_name}, {waybill_number}, …,
    see tickets.macros); applying it may also set the status, category or priority."""

    name = models.CharField(_("name"), max_length=80)
    action = models.CharField(_("posts as"), max_length=10, choices=MacroAction.choices, default=MacroAction.REPLY)
    stage = models.CharField(_("reply stage"), max_length=10, choices=ReplyStage.choices,
                             default=ReplyStage.PROGRESS)
    body = models.TextField(_("text"))
    set_status = models.CharField(_("then set status"), max_length=20, choices=TicketStatus.choices, blank=True)
    set_category = models.CharField(_("then set category"), max_length=20, choices=TicketCategory.choices,
                                    blank=True)
    set_priority = models.CharField(_("then set priority"), max_length=10, choices=TicketPriority.choices,
                                    blank=True)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, blank=True, related_name="macros",
                             verbose_name=_("only for team"))
    usage_count = models.PositiveIntegerField(_("times used"), default=0, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("macro")
        verbose_name_plural = _("macros")
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="macro_name_unique")]

    def __str__(self) -> str:
        return self.name
