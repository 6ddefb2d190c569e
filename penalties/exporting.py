"""Ledger export (CSV / XLSX) for auditors: the filtered entries with every chained field, the
previous hash and the hash, so the chain can be recomputed outside the system (docs/ledger.md).
Every export writes one access-log row — ids, count and the file's SHA-256 — in the transaction
that builds the file."""
from __future__ import annotations

import hashlib

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.services import access_log_record
from tenancy.models import Membership, User
from tenancy.services import require_perm
from tenancy.spreadsheets import FORMATS, ExportFile, csv_bytes, xlsx_bytes

from .chain import EPOCH
from .models import LedgerEntry
from .selectors import ledger_list

EXPORT_MAX_ROWS = 200_000
FETCH_BATCH = 5000




def export_headers() -> list[str]:
    return ["sequence", "kind", _("Entry"), "case_id", _("Fine"), "subject_membership_id", _("Fined"),
            "branch_id", _("Branch"), "violation_type_id", _("Violation"), "tier", "amount", "currency",
            "effective_on", "recorded_at_us", _("Recorded at"), "recorded_by_id", "memo", "prev_hash", "entry_hash"]


def _rows(ids: list[int]):
    for start in range(0, len(ids), FETCH_BATCH):
        chunk = ids[start:start + FETCH_BATCH]
        for e in (LedgerEntry.objects.filter(pk__in=chunk)
                  .select_related("case", "branch", "violation_type", "subject_membership__user")
                  .order_by("sequence")):
            subject = e.subject_membership.user.username if e.subject_membership_id else ""
            micros = (e.recorded_at - EPOCH) // timezone.timedelta(microseconds=1)
            yield [str(e.sequence), e.kind, str(e.get_kind_display()), str(e.case_id), e.case.number,
                   str(e.subject_membership_id or ""), subject, str(e.branch_id), e.branch.name,
                   str(e.violation_type_id), e.violation_type.code, e.tier, format(e.amount, "f"), e.currency,
                   e.effective_on.isoformat(), str(micros),
                   timezone.localtime(e.recorded_at).strftime("%Y-%m-%d %H:%M:%S"), str(e.recorded_by_id or ""),
                   e.memo, e.prev_hash_hex, e.entry_hash_hex]


def ledger_export(*, actor: User, membership: Membership | None, filters: dict, file_format: str = "xlsx",
                  request_id: str = "", ip_address: str | None = None) -> ExportFile:
    """The entries matching `filters` (ledger_list's arguments) as a file, in sequence order, logged."""
    require_perm(actor, "penalties.export_ledger")
    if file_format not in FORMATS:
        raise ValidationError({"format": _("Choose CSV or Excel.")})
    with transaction.atomic():
        ids = list(ledger_list(actor=actor, membership=membership, **filters).order_by("sequence")
                   .values_list("pk", flat=True)[:EXPORT_MAX_ROWS + 1])
        if len(ids) > EXPORT_MAX_ROWS:
            raise ValidationError(_("More than %(max)s entries match: narrow the period and export in parts.")
                                  % {"max": f"{EXPORT_MAX_ROWS:,}"})
        headers = export_headers()
        rows = _rows(ids)
        content = csv_bytes(headers, rows) if file_format == "csv" else xlsx_bytes(headers, rows, _("Fine ledger"))
        digest = hashlib.sha256(content).hexdigest()
        access_log_record(
            actor=actor, membership=membership, action="export", target_type="penalties.ledgerentry",
            target_id=None, target_label=_("Fine ledger (%(count)d entries)") % {"count": len(ids)},
            fields=["subject", "amount"], reason=_("Fine ledger export"), request_id=request_id or "",
            ip_address=ip_address, export_ids=ids, export_file_sha256=digest)
    content_type, extension = FORMATS[file_format]
    filename = f"fine-ledger-{timezone.localtime().strftime('%Y%m%d-%H%M')}.{extension}"
    return ExportFile(content=content, filename=filename, content_type=content_type, row_count=len(ids),
                      sha256=digest)
