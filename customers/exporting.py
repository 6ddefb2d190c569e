"""Customer list export (CSV / XLSX): the list page's filters, masked for print unless the user
asks for full personal data (reveal permission + a reason). Every export writes one access-log
row — ids, count and the file's SHA-256 — in the transaction that builds the file."""
from __future__ import annotations

import hashlib

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.services import access_log_record
from tenancy.fields import masked
from tenancy.masking import mask_name
from tenancy.models import Membership, User
from tenancy.services import require_perm
from tenancy.spreadsheets import FORMATS, ExportFile, csv_bytes, xlsx_bytes

from .models import Customer, CustomerKind
from .rules import SEGMENT_LABELS
from .selectors import customer_list
from .selectors.records import with_list_extras

EXPORT_MAX_ROWS = 100_000
FETCH_BATCH = 2000
PERSONAL_FIELDS = ["name", "phone", "email"]   # what the access log names (a person's name is personal)
MIN_REASON = 4




def export_headers() -> list[str]:
    return [_("Customer number"), _("Type"), _("Name"), _("Status"), _("Province"), _("City"),
            _("Primary phone"), _("Email"), _("Segments"), _("Tags"), _("Account manager"), _("Created at")]


def _row(customer: Customer, *, full: bool) -> list[str]:
    phone = customer.primary_phone
    if full:
        name, phone_text, email = customer.name, phone.phone if phone else "", customer.email or ""
    else:
        name = customer.name if customer.kind == CustomerKind.ACCOUNT else mask_name(customer.name, "print")
        phone_text = masked(phone, "phone", mode="print") if phone else ""
        email = masked(customer, "email", mode="print")
    owner = customer.owner.user.display_name if customer.owner_id and customer.owner else ""
    created = timezone.localtime(customer.created_at).strftime("%Y-%m-%d %H:%M")
    return [customer.number, customer.get_kind_display(), name, customer.get_status_display(), customer.province,
            customer.city, phone_text, email,
            "; ".join(str(SEGMENT_LABELS.get(code, code)) for code in customer.segments),
            "; ".join(tag.name for tag in customer.tag_list), owner, created]


def _rows(ids: list[int], *, full: bool):
    for start in range(0, len(ids), FETCH_BATCH):
        chunk = ids[start:start + FETCH_BATCH]
        customers = list(Customer.objects.filter(pk__in=chunk).select_related("owner__user").order_by("-id"))
        for customer in with_list_extras(customers):
            yield [str(value) for value in _row(customer, full=full)]


def customer_export(*, actor: User, membership: Membership, filters: dict, file_format: str = "xlsx",
                    full_data: bool = False, reason: str = "", request_id: str = "",
                    ip_address: str | None = None) -> ExportFile:
    """Build the export file of the customers matching `filters` (customer_list's arguments) and
    log it. Masked for print unless `full_data` (needs tenancy.reveal_pii and a reason)."""
    require_perm(actor, "customers.export_customers")
    if file_format not in FORMATS:
        raise ValidationError({"format": _("Choose CSV or Excel.")})
    reason = (reason or "").strip()
    if full_data:
        require_perm(actor, "tenancy.reveal_pii")
        if len(reason) < MIN_REASON:
            raise ValidationError({"reason": _("Say why you need the full personal data (at least %(n)s characters).")
                                   % {"n": MIN_REASON}})
    with transaction.atomic():
        ids = list(customer_list(**filters).values_list("pk", flat=True)[:EXPORT_MAX_ROWS + 1])
        if len(ids) > EXPORT_MAX_ROWS:
            raise ValidationError(_("More than %(max)s customers match: narrow the filter and export in parts.")
                                  % {"max": f"{EXPORT_MAX_ROWS:,}"})
        headers = export_headers()
        rows = _rows(ids, full=full_data)
        content = csv_bytes(headers, rows) if file_format == "csv" else xlsx_bytes(headers, rows, _("Customers"))
        digest = hashlib.sha256(content).hexdigest()
        label = _("Customer list, full personal data") if full_data else _("Customer list, masked")
        access_log_record(
            actor=actor, membership=membership, action="export", target_type="customers.customer", target_id=None,
            target_label=f"{label} ({len(ids)})", fields=PERSONAL_FIELDS,
            reason=reason or _("Customer list export (masked)"), request_id=request_id or "",
            ip_address=ip_address, export_ids=ids, export_file_sha256=digest,
        )
    content_type, extension = FORMATS[file_format]
    filename = f"customers-{timezone.localtime().strftime('%Y%m%d-%H%M')}.{extension}"
    return ExportFile(content=content, filename=filename, content_type=content_type, row_count=len(ids),
                      sha256=digest)
