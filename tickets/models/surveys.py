"""Satisfaction surveys (DOMAIN.md §7): CSAT (1–5) after a ticket closes, NPS (0–10) after a
delivery. One survey per ticket and per delivered waybill, held by constraints, so creating or
sending twice is harmless. The answer page is public and reached by a signed, expiring token."""
from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.fields import BlindIndexField, EncryptedTextField
from tenancy.models import TenantScopedModel


class SurveyKind(models.TextChoices):
    CSAT = "csat", _("CSAT (after a ticket)")
    NPS = "nps", _("NPS (after a delivery)")


class SurveyChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")


class SurveyStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    ANSWERED = "answered", _("Answered")
    FAILED = "failed", _("Sending failed")


class Survey(TenantScopedModel):
    kind = models.CharField(_("kind"), max_length=4, choices=SurveyKind.choices)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, null=True, blank=True,
                               related_name="surveys", verbose_name=_("ticket"))
    waybill = models.ForeignKey("shipments.Waybill", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="+", verbose_name=_("waybill"), db_index=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="surveys", verbose_name=_("customer"))
    branch = models.ForeignKey("tenancy.Branch", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+", verbose_name=_("branch"), db_index=False)
    channel = models.CharField(_("channel"), max_length=8, choices=SurveyChannel.choices)
    phone = EncryptedTextField(_("phone"), kind="phone", blank=True, null=True)
    phone_bidx = BlindIndexField(source="phone")
    email = EncryptedTextField(_("email"), kind="email", blank=True, null=True)
    # The public id in the signed link (never the row id, so links cannot be enumerated).
    public_id = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    status = models.CharField(_("status"), max_length=8, choices=SurveyStatus.choices,
                              default=SurveyStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("send attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("link expires at"), null=True, blank=True)
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    follow_up_ticket = models.ForeignKey("tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True,
                                         related_name="+", verbose_name=_("follow-up ticket"))
    personal_data_erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "ticket"], condition=Q(kind="csat"),
                                    name="survey_one_per_ticket"),
            models.UniqueConstraint(fields=["tenant", "waybill"], condition=Q(kind="nps"),
                                    name="survey_one_per_delivery"),
            models.CheckConstraint(
                condition=Q(kind="csat", ticket__isnull=False) | Q(kind="nps", waybill__isnull=False),
                name="survey_subject_by_kind"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(kind="csat", score__gte=1, score__lte=5)
                | Q(kind="nps", score__gte=0, score__lte=10),
                name="survey_score_range"),
            models.CheckConstraint(condition=Q(answered_at__isnull=True) | Q(score__isnull=False),
                                   name="survey_answer_has_score"),
        ]
        indexes = [
            # The dispatch sweep: surveys still to be sent.
            models.Index(fields=["tenant", "created_at"], name="survey_pending", condition=Q(status="pending")),
            # At most one survey per person per 30 days: by customer and by phone.
            models.Index(fields=["tenant", "customer", "created_at"], name="survey_customer_recent"),
            models.Index(fields=["tenant", "phone_bidx", "created_at"], name="survey_phone_recent"),
            # Trends and response rates.
            models.Index(fields=["tenant", "kind", "sent_at"], name="survey_sent"),
            models.Index(fields=["tenant", "waybill"], name="survey_waybill"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.public_id}"
