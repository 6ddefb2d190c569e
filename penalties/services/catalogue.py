"""Writes of the violation catalogue. Every change bumps the entry's version and writes a snapshot,
so the catalogue as it stood when a fine was proposed can always be shown."""
from __future__ import annotations

import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.inputs import clean_amount, clean_choice, clean_text
from tenancy.models import User
from tenancy.services import require_perm

from ..models import Detector, Severity, ViolationCategory, ViolationType, ViolationTypeVersion
from ..rules import DEFAULT_CATALOGUE

CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]{1,39}$")
EDITABLE = ("name_zh", "name_en", "category", "amount_min", "amount_max", "default_amount", "default_severity",
            "legal_reference", "description", "detector", "is_active")


def _clean(values: dict, instance: ViolationType | None) -> dict:
    cleaned = {}
    for name in ("name_zh", "name_en"):
        cleaned[name] = clean_text(values.get(name), name, required=True, limit=120)
    cleaned["category"] = clean_choice(values.get("category"), "category", ViolationCategory)
    for name in ("amount_min", "amount_max", "default_amount"):
        cleaned[name] = clean_amount(values.get(name), name, positive=name == "default_amount")
    if cleaned["amount_min"] > cleaned["amount_max"]:
        raise ValidationError({"amount_max": _("The range ends below where it starts.")})
    if not cleaned["amount_min"] <= cleaned["default_amount"] <= cleaned["amount_max"]:
        raise ValidationError({"default_amount": _("The default amount lies within the range.")})
    cleaned["default_severity"] = clean_choice(values.get("default_severity") or Severity.MEDIUM,
                                               "default_severity", Severity)
    cleaned["legal_reference"] = clean_text(values.get("legal_reference"), "legal_reference", limit=200)
    if cleaned["category"] == ViolationCategory.REGULATOR and not cleaned["legal_reference"]:
        raise ValidationError({"legal_reference": _("A regulator's fine names the legal article.")})
    cleaned["description"] = clean_text(values.get("description"), "description")
    detector = values.get("detector") or ""
    if detector:
        clean_choice(detector, "detector", Detector)
        taken = ViolationType.objects.filter(detector=detector)
        if instance is not None:
            taken = taken.exclude(pk=instance.pk)
        if taken.exists():
            raise ValidationError({"detector": _("Another violation type already uses this detector.")})
    cleaned["detector"] = detector
    cleaned["is_active"] = bool(values.get("is_active", True))
    return cleaned


def _snapshot(vt: ViolationType, actor: User | None, note: str) -> None:
    ViolationTypeVersion.objects.create(violation_type=vt, version=vt.version, data=vt.snapshot(), note=note[:300],
                                        changed_by=actor, changed_at=vt.updated_at)


def violation_type_create(*, actor: User, code: str, note: str = "", **values) -> ViolationType:
    require_perm(actor, "penalties.manage_catalogue")
    code = (code or "").strip().upper()
    if not CODE_RE.match(code):
        raise ValidationError({"code": _("A code is 2–40 capital letters, digits or underscores, starting with a "
                                         "letter (e.g. FAKE_SCAN).")})
    cleaned = _clean(values, None)
    with transaction.atomic():
        if ViolationType.objects.filter(code=code).exists():
            raise ValidationError({"code": _("This code is already in the catalogue.")})
        vt = ViolationType.objects.create(code=code, updated_by=actor, updated_at=timezone.now(), **cleaned)
        _snapshot(vt, actor, note or _("Created"))
    return vt


def violation_type_update(*, actor: User, violation_type: ViolationType, note: str = "", **values) -> ViolationType:
    """Change a catalogue entry: a new version (cases keep the version they were proposed under)."""
    require_perm(actor, "penalties.manage_catalogue")
    cleaned = _clean(values, violation_type)
    with transaction.atomic():
        vt = ViolationType.objects.select_for_update().get(pk=violation_type.pk)
        if all(getattr(vt, name) == value for name, value in cleaned.items()):
            return vt
        for name, value in cleaned.items():
            setattr(vt, name, value)
        vt.version += 1
        vt.updated_by = actor
        vt.updated_at = timezone.now()
        vt.save()
        _snapshot(vt, actor, clean_text(note, "note", limit=300))
    return vt


def catalogue_defaults_ensure(*, actor: User | None = None) -> int:
    """Add the default catalogue entries (DOMAIN.md §5) whose code the company does not have yet;
    a detector already attached elsewhere is left there. Idempotent; returns how many were added."""
    with transaction.atomic():
        codes = set(ViolationType.objects.values_list("code", flat=True))
        detectors = set(ViolationType.objects.exclude(detector="").values_list("detector", flat=True))
        now = timezone.now()
        new = [ViolationType(code=code, name_zh=zh, name_en=en, category=category, amount_min=Decimal(low),
                             amount_max=Decimal(high), default_amount=Decimal(default), default_severity=severity,
                             legal_reference=legal, detector="" if detector in detectors else detector,
                             updated_by=actor, updated_at=now)
               for code, zh, en, category, low, high, default, severity, legal, detector in DEFAULT_CATALOGUE
               if code not in codes]
        # One insert for the entries, one for their first versions (every new company runs this).
        ViolationType.objects.bulk_create(new)
        ViolationTypeVersion.objects.bulk_create([
            ViolationTypeVersion(violation_type=vt, version=vt.version, data=vt.snapshot(), note="default catalogue",
                                 changed_by=actor, changed_at=now) for vt in new])
    return len(new)


__all__ = ["EDITABLE", "catalogue_defaults_ensure", "violation_type_create", "violation_type_update"]
