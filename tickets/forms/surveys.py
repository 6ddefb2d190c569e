"""Forms of satisfaction surveys: the staff list's filters and the public answer form."""
from __future__ import annotations

from django import forms
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tenancy.forms import HtmlDateInput

from ..models import SurveyKind, SurveyStatus
from ..selectors.surveys import ScoreBand

BLANK = [("", "—")]
CSAT_WORDS = {
    1: pgettext_lazy("csat score", "Very dissatisfied"),
    2: pgettext_lazy("csat score", "Dissatisfied"),
    3: pgettext_lazy("csat score", "Neutral"),
    4: pgettext_lazy("csat score", "Satisfied"),
    5: pgettext_lazy("csat score", "Very satisfied"),
}


class SurveyFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=BLANK + list(SurveyKind.choices))
    status = forms.ChoiceField(label=_("Status"), required=False, choices=BLANK + list(SurveyStatus.choices))
    band = forms.ChoiceField(label=_("Score"), required=False, choices=BLANK + [
        (ScoreBand.LOW, _("Low (CSAT 1–2, NPS 0–6)")), (ScoreBand.MIDDLE, _("Middle (CSAT 3, NPS 7–8)")),
        (ScoreBand.HIGH, _("High (CSAT 4–5, NPS 9–10)")), (ScoreBand.NONE, _("Not answered"))])
    date_from = forms.DateField(label=_("Created from"), required=False, widget=HtmlDateInput())
    date_to = forms.DateField(label=_("Created to"), required=False, widget=HtmlDateInput())

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end is before the start."))
        return data


class SurveyAnswerForm(forms.Form):
    """The score as radio inputs (styled as big buttons), and an optional comment."""

    score = forms.TypedChoiceField(label=_("Your score"), coerce=int, widget=forms.RadioSelect,
                                   error_messages={"required": _("Choose a score."),
                                                   "invalid_choice": _("Choose one of the scores shown.")})
    comment = forms.CharField(label=_("Anything you would like to tell us? (optional)"), required=False,
                              widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, kind: str, comment_max_length: int, **kwargs):
        super().__init__(*args, **kwargs)
        if kind == SurveyKind.CSAT:
            choices = [(n, f"{n} · {CSAT_WORDS[n]}") for n in range(1, 6)]
        else:
            choices = [(n, str(n)) for n in range(0, 11)]
        self.fields["score"].choices = choices
        self.fields["comment"].max_length = comment_max_length
        self.fields["comment"].validators.append(MaxLengthValidator(comment_max_length))
        self.fields["comment"].widget.attrs["maxlength"] = str(comment_max_length)
