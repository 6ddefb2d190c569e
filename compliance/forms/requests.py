"""Forms of the data-subject request pages: parsing only; the services check the rest (kinds,
clocks, who may act, the confirmation of a deletion) and their messages land on these fields."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tenancy.models import Membership

from ..models import DsrKind, DsrRegime, DsrStatus
from ..models.requests import IdentityMethod

BLANK = [("", "—")]
CUSTOMER_NUMBER_ATTRS = {"autocomplete": "off", "placeholder": "C00000001"}
CLOSE_STATUSES = [(s.value, s.label) for s in (DsrStatus.COMPLETED, DsrStatus.REJECTED, DsrStatus.WITHDRAWN)]


def _text(label, required=True, rows=3, max_length=4000, help_text=""):
    return forms.CharField(label=label, required=required, max_length=max_length, help_text=help_text,
                           widget=forms.Textarea(attrs={"rows": rows}))


def handler_choices():
    """Active members whose role handles data-subject requests (the owners a request can have)."""
    from tenancy.models import Role
    from tenancy.permissions import role_permissions

    roles = [role for role in Role.values if "compliance.handle_dsr" in role_permissions(role)]
    return Membership.objects.filter(is_active=True, role__in=roles).select_related("user").order_by("user__username")


class HandlerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.user.display_name or obj.user.username} ({obj.user.username})"


class DsrFilterForm(forms.Form):
    number = forms.CharField(label=_("Number"), required=False, max_length=24)
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Open")), ("all", _("All")), *DsrStatus.choices])
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All kinds")), *DsrKind.choices])
    clock = forms.ChoiceField(label=_("Clock"), required=False, choices=[
        ("", _("Any clock")), ("overdue", _("Overdue")), ("at_risk", _("At risk")), ("on_track", _("On track"))])
    owner = HandlerChoiceField(label=_("Owner"), required=False, queryset=Membership.objects.none(),
                               empty_label=_("Anyone"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = handler_choices()


class DsrRegisterForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the person asks for"), choices=BLANK + DsrKind.choices)
    regime = forms.ChoiceField(label=_("Law"), choices=DsrRegime.choices, initial=DsrRegime.PIPL,
                               help_text=_("GDPR for people in the EU: the clock is one month."))
    channel = forms.CharField(label=_("Received via"), required=False, max_length=60,
                              help_text=_("Phone call, counter, email, letter…"))
    received_at = forms.DateTimeField(label=_("Received at"), required=False,
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                                 format="%Y-%m-%dT%H:%M"),
                                      help_text=_("Empty: now. The clock starts when the request was received."))
    customer_number = forms.CharField(label=_("Customer number (optional)"), required=False, max_length=20,
                                      widget=forms.TextInput(attrs=CUSTOMER_NUMBER_ATTRS))
    subject_name = forms.CharField(label=_("Name the person gave"), required=False, max_length=120)
    subject_phone = forms.CharField(label=_("Phone number"), required=False, max_length=40,
                                    widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}))
    subject_email = forms.CharField(label=_("Email"), required=False, max_length=200,
                                    widget=forms.TextInput(attrs={"autocomplete": "off"}))
    subject_id_number = forms.CharField(label=_("ID number"), required=False, max_length=40,
                                        widget=forms.TextInput(attrs={"autocomplete": "off"}))
    details = _text(_("What the person asks (in their words)"), required=False, rows=4,
                    help_text=_("For a correction: what is wrong and what it should be."))


class AssignForm(forms.Form):
    owner = HandlerChoiceField(label=_("Owner"), queryset=Membership.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = handler_choices()


class LinkCustomerForm(forms.Form):
    customer_number = forms.CharField(label=_("Customer number"), max_length=20,
                                      widget=forms.TextInput(attrs=CUSTOMER_NUMBER_ATTRS))


class VerifyIdentityForm(forms.Form):
    identity_method = forms.ChoiceField(label=_("How the identity was checked"),
                                        choices=BLANK + IdentityMethod.choices)
    identity_note = forms.CharField(label=_("Note (no personal values)"), required=False, max_length=300,
                                    help_text=_("For example: which document type, which branch."))


class NoteForm(forms.Form):
    body = _text(_("Note"), rows=2)


class CorrectionForm(forms.Form):
    """The customer record's correctable fields; what is left empty keeps its value."""

    name = forms.CharField(label=_("Name"), required=False, max_length=200)
    email = forms.CharField(label=_("Email"), required=False, max_length=200,
                            widget=forms.TextInput(attrs={"autocomplete": "off"}))
    id_number = forms.CharField(label=_("ID number"), required=False, max_length=40,
                                widget=forms.TextInput(attrs={"autocomplete": "off"}))
    delivery_notes = forms.CharField(label=_("Delivery preferences"), required=False, max_length=500)


class EraseForm(forms.Form):
    confirm_number = forms.CharField(label=_("Type the request number to confirm"), max_length=24,
                                     widget=forms.TextInput(attrs={"autocomplete": "off"}))


class ObjectionForm(forms.Form):
    marketing = forms.BooleanField(label=_("Marketing"), required=False, initial=True)
    surveys = forms.BooleanField(label=_("Satisfaction surveys"), required=False)
    service = forms.BooleanField(label=_("Service notifications"), required=False)

    def purposes(self) -> list[str]:
        return [name for name in ("service", "surveys", "marketing") if self.cleaned_data.get(name)]


class CloseForm(forms.Form):
    status = forms.ChoiceField(label=_("Outcome"), choices=BLANK + CLOSE_STATUSES)
    resolution = _text(_("What the person is told"), rows=3)
