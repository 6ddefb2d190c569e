"""Data-subject requests: register, verify identity, handle (access export, correction, deletion,
objection), close. Every step writes the request's timeline; no personal value goes into it.

Who: front-line staff (register_dsr) take a request where the person reaches them; the company's
personal-information officer (handle_dsr, the tenant admin) does the rest. Nothing is handed out
or changed for a person whose identity has not been verified."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.inputs import clean_choice, clean_text
from tenancy.models import Membership, Role
from tenancy.services import notification_send, number_next, require_perm

from ..models import (
    AccessAction,
    ConsentPurpose,
    ConsentSource,
    DataSubjectRequest,
    DsrEvent,
    DsrExport,
    DsrKind,
    DsrRegime,
    DsrStatus,
    JobStatus,
)
from ..models.requests import DSR_OPEN_STATUSES, IdentityMethod
from ..rules import DSR_EXPORT_VALID_DAYS, DSR_MONTHS_GDPR, DSR_WORKING_DAYS_PIPL
from ..subject import Subject, add_value, privacy_modules
from .access import access_log_record

CORRECTABLE_FIELDS = ("name", "email", "id_number", "delivery_notes")


# --- clocks ------------------------------------------------------------------------------------

def _working_time():
    from tickets.calendars import standard_working_time, working_time_for
    from tickets.models import BusinessCalendar

    calendar = BusinessCalendar.objects.filter(is_default=True).first()
    return working_time_for(calendar) if calendar else standard_working_time()


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    """The end of the `days`-th working day after `start`'s day, by the company's default business
    calendar (weekends, public holidays and make-up days)."""
    clock = _working_time()
    local = timezone.localtime(start, clock.zone)
    day, counted = local.date(), 0
    while counted < days:
        day += dt.timedelta(days=1)
        if clock.is_working_day(day):
            counted += 1
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=clock.zone)


def add_months(start: dt.datetime, months: int) -> dt.datetime:
    """GDPR Art. 12(3): the same day `months` later (the month's last day when it has no such day)."""
    local = timezone.localtime(start)
    month_index = local.month - 1 + months
    year, month = local.year + month_index // 12, month_index % 12 + 1
    for day in range(local.day, 27, -1):
        try:
            return local.replace(year=year, month=month, day=day, hour=23, minute=59, second=59, microsecond=0)
        except ValueError:
            continue
    return local.replace(year=year, month=month, day=28, hour=23, minute=59, second=59, microsecond=0)


def dsr_due(regime: str, received_at: dt.datetime) -> dt.datetime:
    if regime == DsrRegime.GDPR:
        return add_months(received_at, DSR_MONTHS_GDPR.value(on=received_at.date()))
    return add_working_days(received_at, DSR_WORKING_DAYS_PIPL.value(on=received_at.date()))


# --- helpers -----------------------------------------------------------------------------------

def _event(dsr: DataSubjectRequest, kind: str, actor=None, *, body: str = "", from_status: str = "",
           to_status: str = "", data: dict | None = None) -> DsrEvent:
    return DsrEvent.objects.create(request=dsr, kind=kind, actor=actor, body=body, from_status=from_status,
                                   to_status=to_status, data=data or {})


def _lock(dsr: DataSubjectRequest) -> DataSubjectRequest:
    return DataSubjectRequest.objects.select_for_update().get(pk=dsr.pk)


def _set_status(dsr: DataSubjectRequest, status: str, actor, body: str = "", **data) -> None:
    previous = dsr.status
    dsr.status = status
    if status in (DsrStatus.COMPLETED, DsrStatus.REJECTED, DsrStatus.WITHDRAWN):
        dsr.completed_at = timezone.now()
    dsr.save()
    _event(dsr, "status", actor, body=body, from_status=previous, to_status=status, data=data)


def _require_open(dsr: DataSubjectRequest) -> None:
    if dsr.status not in DSR_OPEN_STATUSES:
        raise ValidationError({"status": _("This request is closed.")})


def _require_verified(dsr: DataSubjectRequest) -> None:
    if dsr.identity_verified_at is None:
        raise ValidationError({"identity_method": _("Verify the person's identity first.")})


def _require_kind(dsr: DataSubjectRequest, *kinds: str) -> None:
    if dsr.kind not in kinds:
        raise ValidationError({"kind": _("This step does not apply to this kind of request.")})


def _clean_value(kind: str, value: str | None, field: str) -> str | None:
    from tenancy.normalize import normalize

    value = clean_text(value, field, limit=200)
    if not value:
        return None
    try:
        return normalize(kind, value)
    except Exception as exc:  # noqa: BLE001 — an unparsable value is the person's typo
        raise ValidationError({field: _("Enter a valid value.")}) from exc


def _tenant_admins() -> list[Membership]:
    return list(Membership.objects.filter(role=Role.TENANT_ADMIN, is_active=True))


def _handlers(dsr: DataSubjectRequest, tenant_admins: list[Membership] | None = None) -> list[Membership]:
    """Who hears about a request: its owner, or every tenant admin while it has none."""
    if dsr.owner_id:
        return [dsr.owner]
    return _tenant_admins() if tenant_admins is None else tenant_admins


def _notify_handlers(dsr: DataSubjectRequest) -> None:
    for membership in _handlers(dsr):
        notification_send(membership=membership, dedup_key=f"dsr:{dsr.pk}:received",
                          title=_("Data-subject request %(number)s is due %(due)s") % {
                              "number": dsr.number, "due": timezone.localtime(dsr.due_at).strftime("%Y-%m-%d")},
                          url=reverse("compliance:dsr_page", args=[dsr.pk]))


# --- register and route ------------------------------------------------------------------------

def dsr_register(*, actor, kind: str, regime: str = DsrRegime.PIPL, channel: str = "", subject_name: str = "",
                 subject_phone: str = "", subject_email: str = "", subject_id_number: str = "",
                 details: str = "", customer=None, received_at: dt.datetime | None = None,
                 owner: Membership | None = None) -> DataSubjectRequest:
    """A request as the person made it, with its clock started from when it was received."""
    require_perm(actor, "compliance.register_dsr")
    clean_choice(kind, "kind", DsrKind)
    clean_choice(regime, "regime", DsrRegime)
    now = timezone.now()
    received_at = received_at or now
    if received_at > now + dt.timedelta(minutes=5):
        raise ValidationError({"received_at": _("The time cannot be in the future.")})
    if received_at < now - dt.timedelta(days=366):
        raise ValidationError({"received_at": _("Enter when the request was received (within the last year).")})
    values = {
        "subject_name": clean_text(subject_name, "subject_name", limit=120) or None,
        "subject_phone": _clean_value("phone", subject_phone, "subject_phone"),
        "subject_email": _clean_value("email", subject_email, "subject_email"),
        "subject_id_number": _clean_value("id_number", subject_id_number, "subject_id_number"),
    }
    if customer is None and not (values["subject_phone"] or values["subject_email"] or values["subject_id_number"]):
        raise ValidationError({"subject_phone": _(
            "Give a phone number, an email address or an ID number the person is known by, or pick the customer.")})
    if owner is not None and (not owner.is_active or not owner.user.has_perm("compliance.handle_dsr")):
        raise ValidationError({"owner": _("The owner must be someone who handles data-subject requests.")})
    details = clean_text(details, "details", limit=4000)
    if kind == DsrKind.CORRECTION and not details:
        raise ValidationError({"details": _("Say what the person wants corrected.")})
    with transaction.atomic():
        year = timezone.localtime(received_at).year
        dsr = DataSubjectRequest.objects.create(
            number=f"DSR-{year}-{number_next(f'dsr-{year}'):05d}", kind=kind, regime=regime,
            channel=clean_text(channel, "channel", limit=60), customer=customer, details=details or None,
            received_at=received_at, due_at=dsr_due(regime, received_at), owner=owner, created_by=actor, **values)
        _event(dsr, "received", actor, to_status=dsr.status, data={"kind": kind, "regime": regime})
        _notify_handlers(dsr)
    return dsr


def dsr_assign(*, actor, dsr: DataSubjectRequest, owner: Membership) -> DataSubjectRequest:
    require_perm(actor, "compliance.handle_dsr")
    if owner is None or not owner.is_active or not owner.user.has_perm("compliance.handle_dsr"):
        raise ValidationError({"owner": _("The owner must be someone who handles data-subject requests.")})
    with transaction.atomic():
        dsr = _lock(dsr)
        _require_open(dsr)
        dsr.owner = owner
        dsr.save(update_fields=["owner"])
        _event(dsr, "assigned", actor, data={"owner": owner.pk})
        _notify_handlers(dsr)
    return dsr


def dsr_link_customer(*, actor, dsr: DataSubjectRequest, customer) -> DataSubjectRequest:
    require_perm(actor, "compliance.handle_dsr")
    with transaction.atomic():
        dsr = _lock(dsr)
        _require_open(dsr)
        dsr.customer = customer
        dsr.save(update_fields=["customer"])
        _event(dsr, "customer_linked", actor, data={"customer": customer.pk if customer else None})
    return dsr


def dsr_verify_identity(*, actor, dsr: DataSubjectRequest, method: str, note: str = "") -> DataSubjectRequest:
    """Record how the person proved who they are (the check itself happens outside: a document at
    the counter, a code to the phone on record…)."""
    require_perm(actor, "compliance.handle_dsr")
    clean_choice(method, "identity_method", IdentityMethod)
    note = clean_text(note, "identity_note", limit=300)
    with transaction.atomic():
        dsr = _lock(dsr)
        _require_open(dsr)
        if dsr.identity_verified_at:
            raise ValidationError({"identity_method": _("The identity was already verified.")})
        dsr.identity_method = method
        dsr.identity_note = note
        dsr.identity_verified_at = timezone.now()
        dsr.identity_verified_by = actor
        dsr.save()
        _set_status(dsr, DsrStatus.VERIFIED, actor, data_method=method)
    return dsr


def dsr_add_note(*, actor, dsr: DataSubjectRequest, body: str) -> DsrEvent:
    require_perm(actor, "compliance.handle_dsr")
    body = clean_text(body, "body", required=True, limit=4000)
    return _event(dsr, "note", actor, body=body)


def dsr_close(*, actor, dsr: DataSubjectRequest, status: str, resolution: str) -> DataSubjectRequest:
    """Complete, reject (with the reason the person is told) or mark withdrawn by the person."""
    require_perm(actor, "compliance.handle_dsr")
    if status not in (DsrStatus.COMPLETED, DsrStatus.REJECTED, DsrStatus.WITHDRAWN):
        raise ValidationError({"status": _("Choose completed, rejected or withdrawn.")})
    resolution = clean_text(resolution, "resolution", required=True, limit=4000,
                            message=_("Write the outcome the person is told."))
    with transaction.atomic():
        dsr = _lock(dsr)
        _require_open(dsr)
        if status == DsrStatus.COMPLETED:
            _require_verified(dsr)
            if dsr.kind == DsrKind.ACCESS and not dsr.exports.filter(status=JobStatus.DONE).exists():
                raise ValidationError({"status": _("Build and hand over the export before completing.")})
            if dsr.kind == DsrKind.DELETION and dsr.subject_erased_at is None:
                raise ValidationError({"status": _("Carry out the deletion before completing.")})
        dsr.resolution = resolution
        _set_status(dsr, status, actor)
    return dsr


# --- the subject -------------------------------------------------------------------------------

def subject_resolve(dsr: DataSubjectRequest) -> Subject:
    """Everything that identifies the person: the values they gave, the customer picked, and the
    records found by blind index (customers.privacy widens it with those records' values)."""
    from customers import privacy as customer_privacy

    subject = Subject(request_id=dsr.pk)
    add_value(subject, "phone", dsr.subject_phone)
    add_value(subject, "email", dsr.subject_email)
    add_value(subject, "id_number", dsr.subject_id_number)
    if dsr.subject_name:
        subject.raw_values.add(dsr.subject_name)
    if dsr.customer_id:
        subject.customer_ids.add(dsr.customer_id)
    customer_privacy.resolve(subject)
    return subject


def subject_collect(dsr: DataSubjectRequest, progress=None) -> dict:
    """The access export's document: every app's sections about the person."""
    subject = subject_resolve(dsr)
    modules = privacy_modules()
    sections: dict[str, list[dict]] = {}
    for index, module in enumerate(modules):
        if progress:
            progress(index, len(modules), module.__name__.split(".")[0])
        for name, rows in module.collect(subject).items():
            sections[f"{module.__name__.split('.')[0]}.{name}"] = rows
    return {
        "format": "courier-crm-subject-export/1",
        "request": dsr.number,
        "generated_at": timezone.now().isoformat(),
        "record_count": sum(len(rows) for rows in sections.values()),
        "sections": sections,
    }


# --- access: the export job ---------------------------------------------------------------------

def dsr_export_request(*, actor, dsr: DataSubjectRequest) -> DsrExport:
    """Queue the build of the person's export (a background job with progress)."""
    require_perm(actor, "compliance.handle_dsr")
    from ..tasks.requests import dsr_export_build

    with transaction.atomic():
        dsr = _lock(dsr)
        _require_open(dsr)
        _require_kind(dsr, DsrKind.ACCESS)
        _require_verified(dsr)
        if dsr.exports.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists():
            raise ValidationError({"export": _("An export of this request is already being built.")})
        export = DsrExport.objects.create(request=dsr, status=JobStatus.QUEUED, requested_by=actor)
        if dsr.status != DsrStatus.IN_PROGRESS:
            _set_status(dsr, DsrStatus.IN_PROGRESS, actor)
        _event(dsr, "export_requested", actor, data={"export": export.pk})
        tenant_id = dsr.tenant_id
        transaction.on_commit(lambda: dsr_export_build.delay(tenant_id=tenant_id, export_id=export.pk))
    return export


# Whitespace the sealed text field would collapse (it normalises "text" values: any run of
# whitespace becomes one space): every whitespace character but a lone space is written as a JSON
# \u escape, so the stored file is byte for byte the document (and its hash the download's).
_COLLAPSIBLE = re.compile(r"[^\S ]| (?= )")


def export_json(document: dict) -> str:
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return _COLLAPSIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def dsr_export_build(*, export: DsrExport) -> DsrExport:
    """Build the export (the task's body). Safe to run again: a finished export is left alone, an
    interrupted one starts over."""
    with transaction.atomic():
        export = DsrExport.objects.select_for_update().get(pk=export.pk)
        if export.status in (JobStatus.DONE, JobStatus.FAILED):
            return export
        export.status = JobStatus.RUNNING
        export.started_at = timezone.now()
        export.save()

    def progress(done: int, total: int, step: str) -> None:
        DsrExport.objects.filter(pk=export.pk).update(steps_done=done, steps_total=total, current_step=step)

    dsr = export.request
    document = subject_collect(dsr, progress=progress)
    text = export_json(document)
    with transaction.atomic():
        export = DsrExport.objects.select_for_update().get(pk=export.pk)
        export.content = text
        # The hash of what is stored, i.e. of the very bytes the download hands over.
        export.sha256 = hashlib.sha256(export.content.encode()).hexdigest()
        export.record_count = document["record_count"]
        export.steps_total = export.steps_done = len(privacy_modules())
        export.current_step = ""
        export.status = JobStatus.DONE
        export.finished_at = timezone.now()
        export.save()
        _event(dsr, "export_ready", None, data={"export": export.pk, "records": export.record_count,
                                                "sha256": export.sha256})
        if dsr.owner_id:
            notification_send(membership=dsr.owner, dedup_key=f"dsr-export:{export.pk}",
                              title=_("The export for %(number)s is ready") % {"number": dsr.number},
                              url=reverse("compliance:dsr_page", args=[dsr.pk]))
    return export


def dsr_export_fail(*, export: DsrExport, error: str) -> None:
    DsrExport.objects.filter(pk=export.pk).exclude(status=JobStatus.DONE).update(
        status=JobStatus.FAILED, error=error[:2000], finished_at=timezone.now())


def dsr_export_download(*, actor, membership: Membership, export: DsrExport, request_id: str = "",
                        ip_address: str | None = None) -> tuple[str, bytes]:
    """The file, once, to the request's handler: the download is logged in the access log, and the
    stored copy is wiped afterwards (its hash stays as proof of what was handed over)."""
    require_perm(actor, "compliance.handle_dsr")
    with transaction.atomic():
        export = DsrExport.objects.select_for_update().select_related("request").get(pk=export.pk)
        dsr = export.request
        handler_ids = {dsr.owner.user_id} if dsr.owner_id else {export.requested_by_id}
        if actor.pk not in handler_ids:
            raise PermissionDenied(_("Only the request's handler may download its export."))
        if export.status != JobStatus.DONE or export.content is None:
            raise ValidationError({"export": _("This export is not available (not built, already downloaded "
                                               "or expired).")})
        if export.finished_at < timezone.now() - dt.timedelta(days=DSR_EXPORT_VALID_DAYS.value()):
            raise ValidationError({"export": _("This export has expired: build a new one.")})
        body = export.content.encode()
        access_log_record(actor=actor, membership=membership, action=AccessAction.EXPORT,
                          target_type="compliance.datasubjectrequest", target_id=dsr.pk, target_label=dsr.number,
                          fields=["*"], reason=_("Data-subject access request %(number)s") % {"number": dsr.number},
                          request_id=request_id, ip_address=ip_address, export_file_sha256=export.sha256)
        export.content = None
        export.downloaded_at = timezone.now()
        export.downloaded_by = actor
        export.save()
        _event(dsr, "export_downloaded", actor, data={"export": export.pk, "sha256": export.sha256})
    return f"{dsr.number}.json", body


# --- correction, deletion, objection -------------------------------------------------------------

def dsr_apply_correction(*, actor, dsr: DataSubjectRequest, changes: dict) -> DataSubjectRequest:
    """Correct the linked customer record (name, email, ID number, delivery preferences) through the
    customers app's own rules; the timeline names the fields changed, never the values."""
    from customers.services.records import customer_update

    require_perm(actor, "compliance.handle_dsr")
    changes = {k: v for k, v in changes.items() if k in CORRECTABLE_FIELDS and v not in (None, "")}
    if not changes:
        raise ValidationError({"changes": _("Enter at least one corrected value.")})
    with transaction.atomic():
        dsr = _lock(dsr)
        _require_open(dsr)
        _require_kind(dsr, DsrKind.CORRECTION)
        _require_verified(dsr)
        if dsr.customer is None:
            raise ValidationError({"customer": _("Link the person's customer record first.")})
        customer_update(actor=actor, customer=dsr.customer, **changes)
        if dsr.status != DsrStatus.IN_PROGRESS:
            _set_status(dsr, DsrStatus.IN_PROGRESS, actor)
        _event(dsr, "corrected", actor, data={"fields": sorted(changes)})
    return dsr


def dsr_preview(dsr: DataSubjectRequest) -> dict[str, int]:
    """How many records of each kind the request reaches (shown before a deletion): counted in the
    database, nothing read or decrypted."""
    subject = subject_resolve(dsr)
    counts = {}
    for module in privacy_modules():
        for name, n in module.count(subject).items():
            if n:
                counts[f"{module.__name__.split('.')[0]}.{name}"] = n
    return counts


def dsr_erase(*, actor, dsr: DataSubjectRequest, confirm_number: str) -> dict[str, int]:
    """Anonymise the person everywhere, in one transaction: personal fields wiped or replaced, blind
    indexes removed, money, dates and statistics kept (the fine ledger is not touched). The
    handler confirms by typing the request's number."""
    require_perm(actor, "compliance.handle_dsr")
    if (confirm_number or "").strip() != dsr.number:
        raise ValidationError({"confirm_number": _("Type the request number to confirm.")})
    with transaction.atomic():
        dsr = _lock(dsr)
        _require_open(dsr)
        _require_kind(dsr, DsrKind.DELETION)
        _require_verified(dsr)
        subject = subject_resolve(dsr)
        now = timezone.now()
        counts: dict[str, int] = {}
        # Compliance first (it finds the access-log rows through records the others are about to
        # blank), customers last (the others match on its ids, which never change).
        for module in reversed(privacy_modules()):
            for name, count in module.erase(subject, now).items():
                counts[f"{module.__name__.split('.')[0]}.{name}"] = count
        dsr.refresh_from_db()
        if dsr.status != DsrStatus.IN_PROGRESS:
            _set_status(dsr, DsrStatus.IN_PROGRESS, actor)
        _event(dsr, "erased", actor, data={"counts": counts})
    return counts


def dsr_apply_objection(*, actor, dsr: DataSubjectRequest, purposes=(ConsentPurpose.MARKETING,)) -> int:
    """Withdraw the person's consent for marketing (and any other purpose named) on every record
    and number they are known by; returns the withdrawals recorded."""
    from .consent import consent_record

    require_perm(actor, "compliance.handle_dsr")
    for purpose in purposes:
        clean_choice(purpose, "purposes", ConsentPurpose)
    with transaction.atomic():
        dsr = _lock(dsr)
        _require_open(dsr)
        _require_kind(dsr, DsrKind.OBJECTION)
        _require_verified(dsr)
        subject = subject_resolve(dsr)
        from customers.models import Customer, CustomerPhone

        phones = {dsr.subject_phone} if dsr.subject_phone else set()
        phones |= {p.phone for p in CustomerPhone.objects.filter(customer_id__in=subject.customer_ids)}
        customers = list(Customer.objects.filter(pk__in=subject.customer_ids).order_by("pk"))
        recorded = 0
        for purpose in purposes:
            for customer in customers:
                consent_record(actor=actor, purpose=purpose, granted=False, source=ConsentSource.DSR,
                               customer=customer, note=dsr.number)
                recorded += 1
            for phone in sorted(p for p in phones if p):
                consent_record(actor=actor, purpose=purpose, granted=False, source=ConsentSource.DSR, phone=phone,
                               note=dsr.number)
                recorded += 1
        if dsr.status != DsrStatus.IN_PROGRESS:
            _set_status(dsr, DsrStatus.IN_PROGRESS, actor)
        _event(dsr, "objection_applied", actor, data={"purposes": list(purposes), "withdrawals": recorded})
    return recorded


def dsr_remind_at_risk(now: dt.datetime | None = None) -> int:
    """Remind the handler of every open request whose clock is at risk or overdue (once a day)."""
    from ..selectors.requests import Clock, dsr_list

    now = now or timezone.now()
    tenant_admins = None  # read once, only if some request has no owner
    sent = 0
    for dsr in dsr_list(open_only=True).filter(clock__in=[Clock.AT_RISK, Clock.OVERDUE]):
        if not dsr.owner_id and tenant_admins is None:
            tenant_admins = _tenant_admins()
        title = (_("Data-subject request %(number)s is overdue") if dsr.clock == Clock.OVERDUE
                 else _("Data-subject request %(number)s is due %(due)s")) % {
            "number": dsr.number, "due": timezone.localtime(dsr.due_at).strftime("%Y-%m-%d")}
        for membership in _handlers(dsr, tenant_admins):
            if notification_send(membership=membership, title=title, url=reverse("compliance:dsr_page", args=[dsr.pk]),
                                 dedup_key=f"dsr:{dsr.pk}:clock:{timezone.localdate(now).isoformat()}"):
                sent += 1
    return sent
