"""Two-factor login with time-based one-time passwords (django-otp's TOTP devices)."""
from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import User


def totp_device_pending(user: User) -> TOTPDevice:
    """The user's unconfirmed authenticator (created on first call), for enrolment."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)
    return device


def totp_secret_base32(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def totp_qr_svg(device: TOTPDevice) -> str:
    """The provisioning URI as an SVG QR code (markup only: no script, CSP-safe)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    return svg[svg.index("<svg"):]  # drop the XML declaration: this goes inside an HTML page


def totp_enrol_confirm(*, request, user: User, token: str) -> TOTPDevice:
    device = totp_device_pending(user)
    if not device.verify_token((token or "").strip()):
        raise ValidationError({"token": _("That code is not right. Check the time on your phone and try again.")})
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    otp_login(request, device)
    return device


def totp_verify(*, request, user: User, token: str) -> TOTPDevice:
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        if device.verify_token((token or "").strip()):
            otp_login(request, device)
            return device
    raise ValidationError({"token": _("That code is not right.")})


def totp_reset(*, actor: User, user: User) -> int:
    """Remove a user's authenticators (lost phone); they enrol again at the next login.
    Tenant admins may do it for logins their company manages."""
    from .scoping import current_tenant_id
    from .services import require_perm

    require_perm(actor, "tenancy.manage_members")
    if user.home_tenant_id != current_tenant_id():
        raise ValidationError(_("This login belongs to another organisation; its two-factor login is managed there."))
    deleted, _details = TOTPDevice.objects.filter(user=user).delete()
    return deleted

