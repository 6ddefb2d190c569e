"""HTML forms of the shipments app (parsing and field-level validation only)."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ConsentMethod, ConsentSource, WaybillStatus

BLANK = [("", "—")]


class WaybillSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=60)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=BLANK + WaybillStatus.choices)
    after = forms.IntegerField(required=False, min_value=1)

    def selector_filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {"q": data.get("q") or "", "status": data.get("status") or ""}


class DeliveryConsentForm(forms.Form):
    method = forms.ChoiceField(label=_("Delivery"), choices=BLANK + ConsentMethod.choices)
    source = forms.ChoiceField(label=_("How the receiver agreed"), choices=BLANK + ConsentSource.choices)
    note = forms.CharField(label=_("Note"), max_length=300, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))
