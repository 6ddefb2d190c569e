from django import forms
from django.utils.translation import gettext_lazy as _

from tenancy.forms import HtmlDateInput

from ..models import AccessAction


class AccessLogFilterForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"), required=False,
                               choices=[("", _("All actions")), *AccessAction.choices])
    actor = forms.CharField(label=_("Who (username)"), required=False, max_length=150)
    target_type = forms.CharField(label=_("Record type"), required=False, max_length=100)
    target_id = forms.IntegerField(label=_("Record id"), required=False, min_value=1)
    date_from = forms.DateField(label=_("From"), required=False,
                                widget=HtmlDateInput())
    date_to = forms.DateField(label=_("To"), required=False,
                              widget=HtmlDateInput())
