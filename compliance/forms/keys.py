from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import RotationKind


class KeyRotationStartForm(forms.Form):
    kind = forms.ChoiceField(label=_("Key"), choices=RotationKind.choices)
    reason = forms.CharField(label=_("Reason"), max_length=300,
                             help_text=_("Why the key is rotated (e.g. yearly rotation, suspected exposure)."))
