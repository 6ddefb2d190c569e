"""Long compliance jobs with progress: key rotations (resumable re-encryption) and retention runs."""
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantScopedModel


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class RotationKind(models.TextChoices):
    DATA_KEY = "data", _("Data key (re-encrypt every personal value)")
    INDEX_KEY = "index", _("Index key (recompute every blind index)")
    MASTER_KEY = "master", _("Master key (re-wrap the company's keys)")


class KeyRotation(TenantScopedModel):
    """One rotation of a company key. Work is done in batches, each committed together with the
    position reached (`progress`: per table, the last row id done), so a killed job resumes where
    it stopped and never leaves a value sealed under a key that is gone."""

    kind = models.CharField(_("kind"), max_length=8, choices=RotationKind.choices)
    status = models.CharField(_("status"), max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED)
    from_version = models.PositiveIntegerField(_("from version"), null=True, blank=True)
    to_version = models.PositiveIntegerField(_("to version"), null=True, blank=True)
    progress = models.JSONField(default=dict, blank=True)
    rows_done = models.BigIntegerField(_("rows done"), default=0)
    rows_total = models.BigIntegerField(_("rows in total"), default=0)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("requested by"))
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("key rotation")
        verbose_name_plural = _("key rotations")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One rotation at a time per company and kind.
            models.UniqueConstraint(fields=["tenant", "kind"], condition=models.Q(status__in=["queued", "running"]),
                                    name="keyrotation_one_open_per_kind"),
        ]
        permissions = [("manage_keys", _("Rotate the company's encryption keys"))]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.from_version}→v{self.to_version}"

    @property
    def percent(self) -> int:
        if self.status == JobStatus.DONE:
            return 100
        return min(99, int(100 * self.rows_done / self.rows_total)) if self.rows_total else 0


class RetentionRun(TenantScopedModel):
    """One run of the retention job: what each data class's policy did (`results`: per class,
    rows anonymised or deleted and the cut-off used)."""

    status = models.CharField(_("status"), max_length=8, choices=JobStatus.choices, default=JobStatus.RUNNING)
    trigger = models.CharField(_("started by"), max_length=10, default="schedule")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("requested by"))
    results = models.JSONField(default=dict, blank=True)
    rows_affected = models.BigIntegerField(_("rows changed"), default=0)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")
        ordering = ["-started_at", "-id"]
        permissions = [("run_retention", _("Run the retention job and change retention periods"))]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} {self.get_status_display()}"
