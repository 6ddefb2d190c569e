"""Churn alerts and the retention tasks they open (DOMAIN.md §7).

The nightly churn scan (customers.services.churn) scores every customer set-based in SQL and writes
the risk, score and reasons into `CustomerChurn`, a narrow 1:1 table beside the customer. A
customer that becomes high-risk gets one `ChurnAlert` for that day and one open `RetentionTask`
for their account manager, or for the retention team's queue (C-end VIPs without a manager).
The task's recorded outcome feeds the retention rate."""
from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tenancy.models import Membership, TenantScopedModel


class ChurnRisk(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class RetentionAction(models.TextChoices):
    CALL_BACK = "call_back", _("Call the customer back")
    FIX_COMPLAINT = "fix_complaint", _("Fix the open complaint")
    OFFER = "offer", _("Make an offer (price or service)")
    REVIEW_CONTRACT = "review_contract", _("Review the contract commitment")


class RetentionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")


class RetentionOutcome(models.TextChoices):
    RETAINED = "retained", _("Retained")
    LOST = "lost", pgettext_lazy("retention outcome", "Lost")
    NO_ACTION = "no_action", _("No action taken")


class CustomerChurn(TenantScopedModel):
    """A customer's churn state as of the last scan that changed it. Kept out of the wide customer
    table (13 indexes) so the nightly write of changed scores is cheap: the only index besides the
    primary key is (tenant, risk), and the table's fillfactor leaves room for HOT updates of score
    and reasons. No row means low risk with no reasons (never scored, or never a signal)."""

    # The column is named "id" (it holds the customer's id) because the tenancy wall indexes
    # (tenant_id, id) on every tenant table (tenancy.rls).
    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, primary_key=True,
                                    db_column="id", related_name="churn", verbose_name=_("customer"))
    risk = models.CharField(_("churn risk"), max_length=10, blank=True, choices=ChurnRisk.choices)
    score = models.PositiveSmallIntegerField(_("churn risk score"), null=True, blank=True)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    scored_at = models.DateTimeField(_("score last changed"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer churn state")
        verbose_name_plural = _("customer churn states")
        indexes = [models.Index(fields=["tenant", "risk"], name="customerchurn_risk")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.risk} {self.score}"


class ChurnAlert(TenantScopedModel):
    """A customer found newly at high churn risk on one day: the scan's reasons and score then."""

    # No index of its own: the unique (tenant, customer, raised_on) serves tenant-scoped lookups.
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="churn_alerts",
                                 db_index=False, verbose_name=_("customer"))
    raised_on = models.DateField(_("raised on"))
    score = models.PositiveSmallIntegerField(_("risk score"))
    reasons = models.JSONField(_("reasons"), default=list)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("churn alert")
        verbose_name_plural = _("churn alerts")
        ordering = ["-raised_on", "-id"]
        constraints = [
            # One alert per customer per day: a scan run twice opens nothing new.
            models.UniqueConstraint(fields=["tenant", "customer", "raised_on"], name="churnalert_once_per_day"),
        ]
        indexes = [models.Index(fields=["tenant", "raised_on"], name="churnalert_day")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.raised_on}"


class RetentionTask(TenantScopedModel):
    """Work for a person after a churn alert: suggested actions, a due date and the outcome."""

    alert = models.OneToOneField(ChurnAlert, on_delete=models.CASCADE, related_name="task",
                                 verbose_name=_("churn alert"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="retention_tasks",
                                 verbose_name=_("customer"))
    assignee = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                 verbose_name=_("assigned to"))
    team = models.ForeignKey("customers.SalesTeam", on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="retention_tasks", verbose_name=_("team queue"))
    due_date = models.DateField(_("due date"))
    suggested_actions = ArrayField(models.CharField(max_length=20, choices=RetentionAction.choices), default=list,
                                   blank=True, verbose_name=_("suggested actions"))
    status = models.CharField(_("status"), max_length=8, choices=RetentionStatus.choices,
                              default=RetentionStatus.OPEN)
    outcome = models.CharField(_("outcome"), max_length=10, choices=RetentionOutcome.choices, blank=True)
    outcome_note = models.TextField(_("what was done"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+", verbose_name=_("closed by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("retention task")
        verbose_name_plural = _("retention tasks")
        ordering = ["due_date", "id"]
        constraints = [
            # At most one open task per customer, whatever the number of alerts.
            models.UniqueConstraint(fields=["tenant", "customer"], condition=Q(status="open"),
                                    name="retentiontask_one_open_per_customer"),
            models.CheckConstraint(condition=Q(status="open", outcome="") | (~Q(status="open") & ~Q(outcome="")),
                                   name="retentiontask_outcome_when_done"),
        ]
        indexes = [
            models.Index(fields=["tenant", "assignee", "status", "due_date"], name="retentiontask_mine"),
            models.Index(fields=["tenant", "team", "status", "due_date"], name="retentiontask_team"),
            models.Index(fields=["tenant", "status", "closed_at"], name="retentiontask_closed"),
        ]
        permissions = [("work_retention_task", _("Work retention tasks and record their outcome"))]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.due_date} {self.status}"
