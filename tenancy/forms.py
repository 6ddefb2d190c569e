"""HTML forms of the tenancy app (parsing and field-level validation only)."""
from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .models import BranchKind, Role, User
from .normalize import normalize_phone
from .selectors import branch_choices


class BranchChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return "— " * obj.depth + f"{obj.name} ({obj.code})"


BRANCH_LABEL = _("Branch")


def _branch_field(required: bool = False, label=BRANCH_LABEL, kinds=None) -> BranchChoiceField:
    return BranchChoiceField(queryset=branch_choices(kinds=kinds), required=required, label=label)


class PlainSelect(forms.Select):
    """A <select> built in Python instead of one template per option, for long flat lists (every
    agent of a company on the ticket page) where Django's template-per-option rendering costs more
    than the page's SQL. Same markup and attributes as forms.Select; no option groups."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = value if isinstance(value, list | tuple) else [value]
        chosen = {str(v) for v in chosen if v is not None}
        options = format_html_join("", '<option value="{}"{}>{}</option>', (
            (key, " selected" if str(key) in chosen else "", label) for key, label in self.choices))
        return format_html("<select{}>{}</select>", flatatt(self.build_attrs(self.attrs, {**(attrs or {}),
                                                                                        "name": name})), options)


class HtmlDateInput(forms.DateInput):
    """<input type="date">: the browser wants ISO dates whatever the UI language (zh-hans would
    otherwise render 2026/11/23, which the date control discards)."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class PhoneFormField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        return normalize_phone(value) if value else ""


class MemberCreateForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    display_name = forms.CharField(label=_("Display name"), max_length=120)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    branch = forms.ModelChoiceField(queryset=None, required=False, label=_("Branch"))
    title = forms.CharField(label=_("Job title"), max_length=80, required=False)
    work_phone = PhoneFormField(label=_("Work phone"), required=False)
    password = forms.CharField(label=_("Initial password"), widget=forms.PasswordInput(render_value=True))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"] = _branch_field()


class MemberAddExistingForm(forms.Form):
    username = forms.CharField(label=_("Username of the existing login"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    branch = forms.ModelChoiceField(queryset=None, required=False, label=_("Branch"))
    title = forms.CharField(label=_("Job title"), max_length=80, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"] = _branch_field()


class MemberEditForm(forms.Form):
    display_name = forms.CharField(label=_("Display name"), max_length=120)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    branch = forms.ModelChoiceField(queryset=None, required=False, label=_("Branch"))
    title = forms.CharField(label=_("Job title"), max_length=80, required=False)
    work_phone = PhoneFormField(
        label=_("New work phone"), required=False,
        help_text=_("Leave empty to keep the current number."),
    )
    clear_work_phone = forms.BooleanField(label=_("Remove the work phone"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False)
    is_away = forms.BooleanField(label=_("Away (skip in automatic assignment)"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"] = _branch_field()


class PasswordSetForm(forms.Form):
    password = forms.CharField(label=_("New password"), widget=forms.PasswordInput)
    password_again = forms.CharField(label=_("New password again"), widget=forms.PasswordInput)

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password_again"):
            raise ValidationError({"password_again": _("The two passwords differ.")})
        return data


class PasswordChangeForm(PasswordSetForm):
    old_password = forms.CharField(label=_("Current password"), widget=forms.PasswordInput)
    field_order = ["old_password", "password", "password_again"]


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=User._meta.get_field("language").choices)


class BranchForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=20)
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=BranchKind.choices)
    parent = forms.ModelChoiceField(queryset=None, required=False, label=_("Parent"))
    province = forms.CharField(label=_("Province"), max_length=20, required=False)
    city = forms.CharField(label=_("City"), max_length=40, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"] = _branch_field(label=_("Parent"), kinds=[BranchKind.HQ, BranchKind.REGION])


class BranchEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    parent = forms.ModelChoiceField(queryset=None, required=False, label=_("Parent"))
    province = forms.CharField(label=_("Province"), max_length=20, required=False)
    city = forms.CharField(label=_("City"), max_length=40, required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"] = _branch_field(label=_("Parent"), kinds=[BranchKind.HQ, BranchKind.REGION])


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=80,
                           help_text=_("What uses it, e.g. 'tracking system import'."))


class RevealForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300, min_length=4)


def apply_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form's fields, so the page shows it in place and
    keeps what the user typed."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class TwoFactorTokenForm(forms.Form):
    token = forms.CharField(label=_("6-digit code"), max_length=8, min_length=6,
                            widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                          "autofocus": True}))


class RuleSetForm(forms.Form):
    key = forms.CharField(label=_("Rule"), max_length=80, widget=forms.HiddenInput)
    value = forms.CharField(label=_("New value"), max_length=100)
    effective_from = forms.DateField(label=_("In force from"), widget=HtmlDateInput())
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
