"""The data-leak incident register (DOMAIN.md §6): timeline, affected records, notifications to the
postal authority and to the people affected, remedial actions."""
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantScopedModel


class IncidentSeverity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class IncidentStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CONTAINED = "contained", _("Contained")
    CLOSED = "closed", _("Closed")


class Incident(TenantScopedModel):
    number = models.CharField(_("number"), max_length=24)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("what happened"))
    severity = models.CharField(_("severity"), max_length=10, choices=IncidentSeverity.choices,
                                default=IncidentSeverity.MEDIUM)
    status = models.CharField(_("status"), max_length=10, choices=IncidentStatus.choices,
                              default=IncidentStatus.OPEN)
    branch = models.ForeignKey("tenancy.Branch", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+", verbose_name=_("branch"))
    owner = models.ForeignKey("tenancy.Membership", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("owner"))
    occurred_at = models.DateTimeField(_("occurred at"), null=True, blank=True)
    detected_at = models.DateTimeField(_("detected at"), default=timezone.now)
    contained_at = models.DateTimeField(_("contained at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # The query that found the affected records (kind and parameters), kept so it can be re-run.
    affected_query = models.JSONField(_("affected-records query"), default=dict, blank=True)
    affected_count = models.PositiveIntegerField(_("records affected"), default=0)
    people_count = models.PositiveIntegerField(_("people affected"), default=0)
    authority_name = models.CharField(_("authority notified"), max_length=120, blank=True)
    authority_notified_at = models.DateTimeField(_("authority notified at"), null=True, blank=True)
    authority_reference = models.CharField(_("authority reference"), max_length=120, blank=True)
    people_notified_at = models.DateTimeField(_("people notified at"), null=True, blank=True)
    people_notified_count = models.PositiveIntegerField(_("people notified"), default=0)
    people_notice_channel = models.CharField(_("how people were told"), max_length=120, blank=True)
    violation_case = models.ForeignKey("penalties.ViolationCase", on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+", verbose_name=_("violation proposed"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("reported by"))
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-detected_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "number"], name="incident_number_unique")]
        permissions = [("manage_incidents", _("Record and handle data-leak incidents"))]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class AffectedRecord(TenantScopedModel):
    """One record the incident exposed (by type and id — never the value)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="affected")
    target_type = models.CharField(max_length=100)
    target_id = models.BigIntegerField()
    person_key = models.CharField(max_length=80, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "incident", "target_type", "target_id"],
                                               name="incident_affected_unique")]


class RemedialAction(TenantScopedModel):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="actions")
    description = models.CharField(_("action"), max_length=300)
    owner = models.ForeignKey("tenancy.Membership", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("owner"))
    due_on = models.DateField(_("due"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["done_at", "due_on", "id"]


class IncidentEvent(TenantScopedModel):
    """The incident's timeline (insert-only)."""

    append_only = True

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=24)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+")
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
