"""The company's encryption keys: versions and ages (never key material), rotations with their
progress (polled while one runs) and, for the tenant admin, starting a rotation. Thin: parse →
selector / service → render."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from penalties.signing import retired_master_public_keys_b64
from tenancy.views import perm_required

from ..forms.keys import KeyRotationStartForm
from ..models import JobStatus
from ..selectors.keys import key_status, rotation_list
from ..services.keys import key_rotation_start

PAGE_SIZE = 50


def _rotations_context(request) -> dict:
    page = Paginator(rotation_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return {"page": page, "any_open": any(r.status in (JobStatus.QUEUED, JobStatus.RUNNING) for r in page)}


@perm_required("compliance.view_compliance")
def keys(request, form: KeyRotationStartForm | None = None, status: int = 200):
    can_manage = request.user.has_perm("compliance.manage_keys")
    return render(request, "compliance/keys.html", {
        "keys": key_status(), "can_manage": can_manage,
        "retired_ledger_keys": retired_master_public_keys_b64(),
        "form": (form or KeyRotationStartForm()) if can_manage else None,
        **_rotations_context(request),
    }, status=status)


@perm_required("compliance.view_compliance")
def rotations(request):
    """The rotations table alone (htmx polls it while a rotation is queued or running)."""
    return render(request, "compliance/keys_rotations.html", _rotations_context(request))


@perm_required("compliance.manage_keys")
@require_POST
def rotate(request):
    form = KeyRotationStartForm(request.POST)
    if form.is_valid():
        try:
            key_rotation_start(actor=request.user, kind=form.cleaned_data["kind"],
                               reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Rotation queued: its progress is shown below."))
            return redirect("compliance:keys")
    return keys(request, form=form, status=400)


urlpatterns = [
    path("keys/", keys, name="keys"),
    path("keys/rotations/", rotations, name="keys_rotations"),
    path("keys/rotate/", rotate, name="keys_rotate"),
]
