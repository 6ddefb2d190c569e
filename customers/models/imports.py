"""File imports of customers: a dry run that lists row errors, then an all-or-nothing load."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.fields import EncryptedTextField
from tenancy.models import TenantScopedModel


class ImportKind(models.TextChoices):
    ACCOUNTS = "accounts", _("B-end accounts")
    CONTACTS = "contacts", _("Contacts of accounts")
    PERSONS = "persons", _("C-end persons")


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    VALIDATING = "validating", _("Checking")
    VALID = "valid", _("Ready to import")
    INVALID = "invalid", _("Has errors")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Failed")


class CustomerImport(TenantScopedModel):
    """One uploaded file. The file holds personal data, so it is kept sealed and wiped once
    the import has finished or been abandoned."""

    kind = models.CharField(_("what"), max_length=10, choices=ImportKind.choices)
    filename = models.CharField(_("file"), max_length=200)
    file_format = models.CharField(max_length=5, choices=[("csv", "CSV"), ("xlsx", "XLSX")])
    payload = EncryptedTextField(kind="text", null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    errors = models.JSONField(default=list, blank=True)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    message = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer import")
        verbose_name_plural = _("customer imports")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.filename

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 0
        return min(100, round(100 * self.processed_rows / self.total_rows))
