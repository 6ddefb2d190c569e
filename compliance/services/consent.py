"""Consent per person and purpose: every grant and withdrawal is a new insert-only row."""
from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.inputs import clean_choice, clean_text
from tenancy.normalize import normalize
from tenancy.services import require_perm

from ..models import ConsentPurpose, ConsentRecord, ConsentSource


def consent_record(*, actor, purpose: str, granted: bool, source: str, customer=None, phone: str | None = None,
                   note: str = "", recorded_at=None) -> ConsentRecord:
    """Record a person's answer for one purpose. `actor=None` only for the person's own action
    (the survey page's unsubscribe link, an SMS reply) recorded by the system."""
    if actor is not None:
        require_perm(actor, "compliance.manage_consent")
    clean_choice(purpose, "purpose", ConsentPurpose)
    clean_choice(source, "source", ConsentSource)
    if not isinstance(granted, bool):
        raise ValidationError({"granted": _("Say whether the person agreed or withdrew.")})
    phone = (phone or "").strip() or None
    if phone:
        try:
            phone = normalize("phone", phone)
        except Exception as exc:  # noqa: BLE001 — any unparsable number is the person's typo
            raise ValidationError({"phone": _("Enter a valid phone number.")}) from exc
    if customer is None and phone is None:
        raise ValidationError({"customer": _("Name the customer or the phone number the answer belongs to.")})
    note = clean_text(note, "note", limit=300)
    recorded_at = recorded_at or timezone.now()
    if recorded_at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError({"recorded_at": _("The time cannot be in the future.")})
    with transaction.atomic():
        return ConsentRecord.objects.create(
            customer=customer, phone=phone, purpose=purpose, granted=granted, source=source, note=note,
            recorded_by=actor, recorded_at=recorded_at)
