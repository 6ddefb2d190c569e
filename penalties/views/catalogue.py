"""The violation catalogue: everyone reads it; the tenant admin adds and edits entries (each edit is
a new version, whose history the entry's page shows) and loads the default catalogue."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenancy.forms import apply_service_errors
from tenancy.views import perm_required

from .. import selectors, services
from ..forms import ViolationTypeForm
from ..models import ViolationType
from ..services.catalogue import EDITABLE


@perm_required("penalties.view_violationtype")
def catalogue(request):
    rows = list(selectors.catalogue_list())
    return render(request, "penalties/catalogue.html", {
        "rows": rows, "can_manage": request.user.has_perm("penalties.manage_catalogue")})


def _save(request, form, instance):
    data = dict(form.cleaned_data)
    note = data.pop("note", "")
    code = data.pop("code")
    if instance is None:
        return services.violation_type_create(actor=request.user, code=code, note=note, **data)
    return services.violation_type_update(actor=request.user, violation_type=instance, note=note, **data)


@perm_required("penalties.view_violationtype")
def violation_type(request, pk: int | None = None):
    """An entry's page: its fields (a form for the tenant admin) and its version history."""
    instance = get_object_or_404(ViolationType, pk=pk) if pk else None
    can_manage = request.user.has_perm("penalties.manage_catalogue")
    if instance is None and not can_manage:
        raise PermissionDenied
    initial = ({name: getattr(instance, name) for name in (*EDITABLE, "code")} if instance else {"is_active": True})
    form = ViolationTypeForm(request.POST if request.method == "POST" else None, initial=initial)
    if instance is not None:
        form.fields["code"].disabled = True
    status = 200
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if form.is_valid():
            try:
                saved = _save(request, form, instance)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Catalogue entry %(code)s saved (version %(version)d).") % {
                    "code": saved.code, "version": saved.version})
                return redirect("penalties:violation_type", saved.pk)
        status = 400
    return render(request, "penalties/violation_type.html", {
        "form": form, "instance": instance, "can_manage": can_manage,
        "versions": selectors.catalogue_versions(instance) if instance else [],
    }, status=status)


@perm_required("penalties.manage_catalogue")
@require_POST
def load_defaults(request):
    added = services.catalogue_defaults_ensure(actor=request.user)
    messages.success(request, _("%(count)d default entries added to the catalogue.") % {"count": added})
    return redirect("penalties:catalogue")


urlpatterns = [
    path("fines/catalogue/", catalogue, name="catalogue"),
    path("fines/catalogue/new/", violation_type, name="violation_type_new"),
    path("fines/catalogue/defaults/", load_defaults, name="catalogue_defaults"),
    path("fines/catalogue/<int:pk>/", violation_type, name="violation_type"),
]
