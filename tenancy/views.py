"""HTML pages of the tenancy app: login, role home pages, profile, tenant switcher, the tenant
admin area (users, roles, branches, API tokens) and the logged reveal of personal data.
Thin: parse → service/selector → render."""
from __future__ import annotations

from functools import wraps

from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import user_has_device

from compliance.selectors import access_log_list

from . import selectors, services, two_factor
from .fields import EncryptedTextField, masked
from .forms import (
    ApiTokenForm,
    BranchEditForm,
    BranchForm,
    LanguageForm,
    MemberAddExistingForm,
    MemberCreateForm,
    MemberEditForm,
    PasswordChangeForm,
    PasswordSetForm,
    RevealForm,
    TwoFactorTokenForm,
    apply_service_errors,
)
from .middleware import SESSION_TENANT_KEY
from .models import Branch, BranchKind, Role
from .throttling import rate_exceeded


def run_page_action(request, form, act, success_url):
    """One action form of an object page (a case, an incident, a request): call `act()` (which
    returns the success message, or None when the form was invalid), then redirect with the
    message — or put the service's error on the form (on the page's messages when the action
    has no form) and return the status the page is rendered with (400, or 403 when refused)."""
    try:
        done = act()
    except ValidationError as exc:
        if form is None:
            messages.error(request, " ".join(exc.messages))
        else:
            apply_service_errors(form, exc)
        return 400
    except PermissionDenied as exc:
        message = str(exc) or _("You do not have permission to do this.")
        if form is None:
            messages.error(request, message)
        else:
            form.add_error(None, message)
        return 403
    if done is None:
        return 400
    messages.success(request, done)
    return redirect(success_url)


def perm_required(perm: str):
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perm(perm):
                raise PermissionDenied
            return view(request, *args, **kwargs)
        return wrapped
    return decorator


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class LoginView(auth_views.LoginView):
    template_name = "tenancy/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if rate_exceeded("login", client_ip(request) or "unknown"):
            # The form is shown again with what was typed, without checking the password.
            context = self.get_context_data(form=self.get_form(), throttled=True)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        translation.activate(user.language)
        response.set_cookie("django_language", user.language, samesite="Lax", httponly=True)
        return response


@login_required
def home(request):
    membership = request.membership
    if membership.role == Role.TENANT_ADMIN:
        return redirect("tenancy:members")
    if membership.role == Role.SALES_MANAGER:
        return redirect("customers:workspace")
    context = {"membership": membership, "role": membership.role}
    if membership.branch_id:
        context["colleagues"] = selectors.colleagues_of(membership)[:50]
    if membership.role == Role.BRANCH_MANAGER and request.user.has_perm("tickets.resolve_exception"):
        from tickets.selectors import exception_queue_summary

        context["exceptions"] = exception_queue_summary(membership=membership)
    if membership.role == Role.AGENT and request.user.has_perm("shipments.view_waybill"):
        context["waybill_lookup"] = True
    if membership.role == Role.AGENT and request.user.has_perm("tickets.view_ticket"):
        from tickets.selectors.queues import queue_counts

        context["ticket_queue"] = queue_counts(membership=membership)
    if request.user.has_perm("tickets.decide_claim") or request.user.has_perm("tickets.pay_claim"):
        from tickets.selectors.claims import claims_home_card

        context["claims_card"] = claims_home_card(membership=membership)
    if request.user.has_perm("penalties.view_own_fines"):
        from penalties.selectors import fines_home_card

        context["fines_card"] = fines_home_card(actor=request.user, membership=membership)
    if membership.role == Role.BRANCH_MANAGER and membership.branch_id:
        context["subtree"] = selectors.branch_list().filter(path__startswith=membership.branch.path)
        context["team"] = selectors.membership_list(branch_subtree_of=membership.branch, active=True)[:100]
    if membership.role == Role.EXECUTIVE:
        context["network"] = selectors.branch_list(include_inactive=False)
        context["role_counts"] = [(Role(r).label, n) for r, n in selectors.role_counts().items()]
    if membership.role == Role.AUDITOR:
        context["recent_access"] = access_log_list()[:20]
    from reports.selectors import role_home_slices

    context.update(role_home_slices(user=request.user, membership=membership))
    return render(request, "tenancy/home.html", context)


@login_required
@require_POST
def switch_tenant(request):
    try:
        tenant_id = int(request.POST.get("tenant_id", ""))
        membership = services.tenant_switch(user=request.user, memberships=request.memberships,
                                            tenant_id=tenant_id)
    except (ValueError, PermissionDenied):
        messages.error(request, _("You are not a member of that company."))
        return redirect("home")
    request.session[SESSION_TENANT_KEY] = membership.tenant_id
    messages.success(request, _("You are now working in %(name)s.") % {"name": membership.tenant.name})
    return redirect("home")


@login_required
def profile(request):
    language_form = LanguageForm(initial={"language": request.user.language})
    password_form = PasswordChangeForm()
    if request.method == "POST" and request.POST.get("form") == "language":
        language_form = LanguageForm(request.POST)
        if language_form.is_valid():
            services.user_language_set(user=request.user, language=language_form.cleaned_data["language"])
            response = redirect("tenancy:profile")
            response.set_cookie("django_language", request.user.language, samesite="Lax", httponly=True)
            messages.success(request, _("Language saved."))
            return response
    if request.method == "POST" and request.POST.get("form") == "password":
        password_form = PasswordChangeForm(request.POST)
        if password_form.is_valid():
            try:
                services.user_password_change(
                    user=request.user, old_password=password_form.cleaned_data["old_password"],
                    new_password=password_form.cleaned_data["password"])
            except ValidationError as exc:
                apply_service_errors(password_form, exc)
            else:
                update_session_auth_hash(request, request.user)
                messages.success(request, _("Password changed."))
                return redirect("tenancy:profile")
    return render(request, "tenancy/profile.html", {
        "language_form": language_form, "password_form": password_form,
        "membership": request.membership,
        "work_phone_masked": masked(request.membership, "work_phone"),
        "has_two_factor": user_has_device(request.user, confirmed=True),
        "two_factor_required": request.membership.role in settings.CRM_TWO_FACTOR_REQUIRED_ROLES,
    })


# --- tenant admin: users and roles -------------------------------------------------------------

@perm_required("tenancy.manage_members")
def member_list(request):
    role = request.GET.get("role", "")
    search = request.GET.get("q", "").strip()
    active = {"1": True, "0": False}.get(request.GET.get("active", ""))
    branch_id = request.GET.get("branch") or None
    qs = selectors.membership_list(role=role if role in Role.values else "", search=search, active=active,
                                   branch_id=int(branch_id) if branch_id and branch_id.isdigit() else None)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    rows = [{"m": m, "phone": masked(m, "work_phone")} for m in page.object_list]
    return render(request, "tenancy/member_list.html", {
        "page": page, "rows": rows, "roles": Role.choices, "branches": selectors.branch_choices(),
        "filters": {"role": role, "q": search, "active": request.GET.get("active", ""),
                    "branch": branch_id or ""},
        "role_counts": [(Role(r).label, n) for r, n in selectors.role_counts().items()],
    })


@perm_required("tenancy.manage_members")
def member_create(request):
    form = MemberCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            membership = services.membership_create_with_user(
                actor=request.user, username=data["username"], display_name=data["display_name"],
                password=data["password"], role=data["role"], branch=data["branch"],
                title=data["title"], work_phone=data["work_phone"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("%(name)s can now log in.") % {"name": membership.user.display_name})
            return redirect("tenancy:members")
    return render(request, "tenancy/member_form.html", {"form": form, "title": _("New user")})


@perm_required("tenancy.manage_members")
def member_add_existing(request):
    form = MemberAddExistingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            membership = services.membership_add_existing_user(
                actor=request.user, username=data["username"], role=data["role"],
                branch=data["branch"], title=data["title"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("%(name)s was added to this company.") % {
                "name": membership.user.display_name})
            return redirect("tenancy:members")
    return render(request, "tenancy/member_form.html",
                  {"form": form, "title": _("Add an existing login")})


@perm_required("tenancy.manage_members")
def member_edit(request, pk: int):
    membership = get_object_or_404(selectors.membership_list(), pk=pk)
    initial = {"display_name": membership.user.display_name, "role": membership.role,
               "branch": membership.branch, "title": membership.title,
               "is_active": membership.is_active, "is_away": membership.is_away}
    form = MemberEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        phone = None
        if data["clear_work_phone"]:
            phone = ""
        elif data["work_phone"]:
            phone = data["work_phone"]
        try:
            services.membership_update(
                actor=request.user, membership=membership, role=data["role"], branch=data["branch"],
                title=data["title"], is_active=data["is_active"], is_away=data["is_away"],
                work_phone=phone, display_name=data["display_name"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("tenancy:members")
    return render(request, "tenancy/member_edit.html", {
        "form": form, "membership": membership, "phone": masked(membership, "work_phone"),
        "password_form": PasswordSetForm(),
        "access_log": access_log_list(target_type="tenancy.membership", target_id=membership.pk)[:20]
        if request.user.has_perm("compliance.view_access_log") else None,
    })


@perm_required("tenancy.manage_members")
def member_password(request, pk: int):
    membership = get_object_or_404(selectors.membership_list(), pk=pk)
    form = PasswordSetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_password_set(actor=request.user, membership=membership,
                                             password=form.cleaned_data["password"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Password set."))
            return redirect("tenancy:member_edit", pk=pk)
    return render(request, "tenancy/member_password.html", {"form": form, "membership": membership})


# --- tenant admin: branches --------------------------------------------------------------------

@perm_required("tenancy.view_branch")
def branch_list(request):
    search = request.GET.get("q", "").strip()
    kind = request.GET.get("kind", "")
    branches = selectors.branch_list(search=search, kind=kind if kind in BranchKind.values else "")
    return render(request, "tenancy/branch_list.html", {
        "branches": branches, "kinds": BranchKind.choices, "filters": {"q": search, "kind": kind},
        "can_manage": request.user.has_perm("tenancy.manage_branches"),
    })


@perm_required("tenancy.manage_branches")
def branch_create(request):
    form = BranchForm(request.POST or None, initial={"kind": BranchKind.BRANCH})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            branch = services.branch_create(actor=request.user, code=data["code"], name=data["name"],
                                            kind=data["kind"], parent=data["parent"],
                                            province=data["province"], city=data["city"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Branch %(name)s created.") % {"name": branch.name})
            return redirect("tenancy:branches")
    return render(request, "tenancy/branch_form.html", {"form": form, "title": _("New branch")})


@perm_required("tenancy.manage_branches")
def branch_edit(request, pk: int):
    branch = get_object_or_404(Branch.objects.all(), pk=pk)
    form = BranchEditForm(request.POST or None, initial={
        "name": branch.name, "parent": branch.parent, "province": branch.province,
        "city": branch.city, "is_active": branch.is_active})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.branch_update(actor=request.user, branch=branch, name=data["name"],
                                   province=data["province"], city=data["city"],
                                   is_active=data["is_active"], parent=data["parent"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("tenancy:branches")
    return render(request, "tenancy/branch_form.html",
                  {"form": form, "title": _("Edit %(name)s") % {"name": branch.name}, "branch": branch})


# --- API tokens --------------------------------------------------------------------------------

@login_required
def api_tokens(request):
    is_admin = request.user.has_perm("tenancy.manage_members")
    form = ApiTokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_key = services.api_token_create(actor=request.user, name=form.cleaned_data["name"],
                                                        for_membership=request.membership)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            form = ApiTokenForm()
    tokens = selectors.api_tokens_of(user=request.user, all_in_tenant=is_admin)
    return render(request, "tenancy/api_tokens.html",
                  {"form": form, "tokens": tokens, "new_key": new_key, "is_admin": is_admin})


@login_required
@require_POST
def api_token_revoke(request, pk: int):
    token = get_object_or_404(selectors.api_tokens_of(user=request.user, all_in_tenant=True), pk=pk)
    try:
        services.api_token_revoke(actor=request.user, token=token)
    except PermissionDenied as exc:
        raise Http404 from exc
    messages.success(request, _("Token revoked."))
    return redirect("tenancy:api_tokens")


# --- personal data reveal ----------------------------------------------------------------------

def revealable_object(model_label: str, pk: int, field_name: str):
    """The tenant-scoped object holding a personal field, or 404."""
    try:
        model = apps.get_model(model_label)
        field = model._meta.get_field(field_name)
    except (LookupError, ValueError, FieldDoesNotExist) as exc:
        raise Http404 from exc
    if not isinstance(field, EncryptedTextField):
        raise Http404
    return get_object_or_404(model._default_manager.all(), pk=pk)


@login_required
def reveal(request, model_label: str, pk: int, field: str):
    """GET: the reason form (htmx fragment); POST: the value, logged."""
    if not request.user.has_perm("tenancy.reveal_pii"):
        raise PermissionDenied
    obj = revealable_object(model_label, pk, field)
    form = RevealForm(request.POST or None)
    if request.method == "POST" and rate_exceeded("reveal", str(request.user.pk)):
        form.is_valid()
        form.add_error(None, _("Too many reveals in a short time. Wait a minute and try again."))
    elif request.method == "POST" and form.is_valid():
        try:
            value = services.pii_reveal(actor=request.user, membership=request.membership, obj=obj,
                                        field_name=field, reason=form.cleaned_data["reason"],
                                        request_id=request.request_id, ip_address=client_ip(request))
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return HttpResponse(format_html('<span class="revealed" data-revealed="1">{}</span>', value))
    return render(request, "tenancy/_reveal_form.html", {
        "form": form, "obj": obj, "field": field, "model_label": model_label,
        "masked_value": masked(obj, field),
    })


# --- two-factor login --------------------------------------------------------------------------

def _safe_next(request) -> str:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next") or request.GET.get("next") or "/"
    return target if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) else "/"


@login_required
def two_factor_setup(request):
    """Enrol an authenticator app: QR code + secret, confirmed by one code."""
    device = two_factor.totp_device_pending(request.user)
    form = TwoFactorTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            two_factor.totp_enrol_confirm(request=request, user=request.user, token=form.cleaned_data["token"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Two-factor login is on. You will be asked for a code at each login."))
            return redirect(_safe_next(request))
    required = request.membership is not None and request.membership.role in settings.CRM_TWO_FACTOR_REQUIRED_ROLES
    return render(request, "tenancy/two_factor_setup.html", {
        "form": form, "qr_svg": two_factor.totp_qr_svg(device), "secret": two_factor.totp_secret_base32(device),
        "required": required, "next": _safe_next(request)})


@login_required
def two_factor_verify(request):
    form = TwoFactorTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            two_factor.totp_verify(request=request, user=request.user, token=form.cleaned_data["token"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return redirect(_safe_next(request))
    return render(request, "tenancy/two_factor_verify.html", {"form": form, "next": _safe_next(request)})


@login_required
@require_POST
def two_factor_disable(request):
    if request.membership.role in settings.CRM_TWO_FACTOR_REQUIRED_ROLES:
        messages.error(request, _("Your role requires two-factor login."))
    else:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        TOTPDevice.objects.filter(user=request.user).delete()
        messages.success(request, _("Two-factor login is off."))
    return redirect("tenancy:profile")


@perm_required("tenancy.manage_members")
@require_POST
def member_two_factor_reset(request, pk: int):
    membership = get_object_or_404(selectors.membership_list(), pk=pk)
    try:
        two_factor.totp_reset(actor=request.user, user=membership.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Two-factor login reset: %(name)s enrols again at the next login.") % {
            "name": membership.user.display_name})
    return redirect("tenancy:member_edit", pk=pk)


# --- notifications -----------------------------------------------------------------------------

@login_required
def notifications(request):
    """The member's in-app notifications (follow-up reminders, new leads …); POST marks read."""
    from .models import Notification

    if request.method == "POST":
        ids = [int(x) for x in request.POST.getlist("id") if x.isdigit()]
        services.notifications_mark_read(membership=request.membership, ids=ids or None)
        return redirect("tenancy:notifications")
    rows = Notification.objects.filter(membership=request.membership).order_by("-created_at", "-id")
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "tenancy/notifications.html", {"page": page})


@login_required
def notifications_badge(request):
    """The unread count next to the bell (loaded by htmx, so pages do not pay for it)."""
    from .models import Notification

    unread = Notification.objects.filter(membership=request.membership, read_at__isnull=True).count()
    if not unread:
        return HttpResponse("")
    return HttpResponse(format_html('<span class="badge rounded-pill text-bg-danger">{}</span>', unread))


# --- business rules ----------------------------------------------------------------------------

@perm_required("tenancy.manage_rules")
def rules(request):
    """Every business rule of every app with the value in force today, its default and history;
    a new value takes effect from a date (rules are versioned, never edited)."""
    from . import rules as rule_registry
    from .forms import RuleSetForm

    form = RuleSetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.rule_set(actor=request.user, key=data["key"], value=data["value"],
                              effective_from=data["effective_from"], note=data["note"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The new value is recorded."))
            return redirect("tenancy:rules")
    rule_registry.load_all_rules()
    history = {}
    for row in rule_registry.all_settings():
        history.setdefault(row.key, []).append(row)
    rows = [{"rule": rule, "current": rule.value(), "history": history.get(key, [])}
            for key, rule in sorted(rule_registry.REGISTRY.items())]
    return render(request, "tenancy/rules.html", {"rows": rows, "form": form})
