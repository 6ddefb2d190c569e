"""Forms of the consent page: look a person up (a phone number or a customer number) and record
an answer for one purpose."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import ConsentPurpose, ConsentSource

BLANK = [("", "—")]


class ConsentLookupForm(forms.Form):
    lookup = forms.CharField(label=_("Phone number or customer number"), max_length=40,
                             widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "C00000001"}))


class ConsentRecordForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=BLANK + ConsentPurpose.choices)
    granted = forms.TypedChoiceField(label=_("Answer"), coerce=lambda v: v == "1", empty_value=None,
                                     choices=BLANK + [("1", _("Agrees")), ("0", _("Withdraws"))])
    source = forms.ChoiceField(label=_("Source"), choices=BLANK + ConsentSource.choices)
    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=300)
