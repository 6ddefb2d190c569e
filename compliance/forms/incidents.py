"""Forms of the incident register pages (parsing only: the services check the rest and their
messages land on the fields, with what was typed kept)."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tenancy.forms import BranchChoiceField, HtmlDateInput

from ..models import IncidentSeverity, IncidentStatus
from ..rules import DEFAULT_AUTHORITY

BLANK = [("", "—")]
QUERY_KINDS = [
    ("access_log", _("What one employee revealed or exported (access log)")),
    ("waybills", _("Waybills of a branch, by creation time")),
    ("tickets", _("Tickets of a branch, by creation time")),
    ("customers", _("Customers, by number")),
]
WINDOW_HELP = _("A date (2026-03-01) or a date and time (2026-03-01T09:30).")


class DateTimeLocalInput(forms.DateTimeInput):
    """<input type="datetime-local"> (the browser sends ISO whatever the UI language)."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


def _text(label, required=True, rows=3, max_length=5000):
    return forms.CharField(label=label, required=required, max_length=max_length,
                           widget=forms.Textarea(attrs={"rows": rows}))


def _when(label, required=False, help_text=""):
    return forms.DateTimeField(label=label, required=required, widget=DateTimeLocalInput(), help_text=help_text)


def _member_field(label, required=False):
    field = forms.ModelChoiceField(label=label, queryset=None, required=required)
    field.label_from_instance = lambda m: f"{m.user.display_name or m.user.username} ({m.user.username})"
    return field


class IncidentFilterForm(forms.Form):
    q = forms.CharField(label=_("Number or title"), required=False, max_length=60)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=BLANK + list(IncidentStatus.choices))
    severity = forms.ChoiceField(label=_("Severity"), required=False, choices=BLANK + list(IncidentSeverity.choices))
    branch = BranchChoiceField(label=_("Branch"), queryset=None, required=False)
    overdue = forms.ChoiceField(label=_("Authority report"), required=False,
                                choices=[("", "—"), ("yes", _("Overdue")), ("no", _("Not overdue"))])

    def __init__(self, *args, branches=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches


class IncidentForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = _text(pgettext_lazy("incident", "What happened"), rows=5)
    severity = forms.ChoiceField(label=_("Severity"), choices=IncidentSeverity.choices,
                                 initial=IncidentSeverity.MEDIUM)
    occurred_at = _when(_("Occurred at"), help_text=_("When the leak began, if known."))
    detected_at = _when(_("Detected at"), help_text=_("Empty: now. The authority clock runs from here."))
    branch = BranchChoiceField(label=_("Branch"), queryset=None, required=False)
    owner = _member_field(_("Owner"))

    def __init__(self, *args, branches=None, members=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches
        self.fields["owner"].queryset = members


class AffectedQueryForm(forms.Form):
    """One form for every query kind; the service checks the parameters the chosen kind needs."""

    kind = forms.ChoiceField(label=_("Search"), choices=QUERY_KINDS)
    actor = forms.TypedChoiceField(label=_("Employee (access log)"), required=False, coerce=int, empty_value=None)
    branch = BranchChoiceField(label=_("Branch (with its sub-branches)"), queryset=None, required=False)
    numbers = forms.CharField(label=_("Customer numbers"), required=False, max_length=250_000,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              help_text=_("One per line, or separated by commas."))

    def __init__(self, *args, branches=None, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches
        self.fields["actor"].choices = BLANK + [
            (m.user_id, f"{m.user.display_name or m.user.username} ({m.user.username})") for m in (people or ())]
        # "from" and "to" are the service's parameter names (a Python keyword cannot be a class attribute).
        self.fields["from"] = forms.CharField(label=_("From"), required=False, max_length=40, help_text=WINDOW_HELP)
        self.fields["to"] = forms.CharField(label=_("To"), required=False, max_length=40, help_text=WINDOW_HELP)
        self.order_fields(["kind", "actor", "branch", "from", "to", "numbers"])

    def query(self) -> dict:
        data = self.cleaned_data
        query = {"kind": data["kind"]}
        for name in ("actor", "from", "to", "numbers"):
            if data.get(name) not in (None, ""):
                query[name] = data[name]
        if data.get("branch") is not None:
            query["branch"] = data["branch"].pk
        return query


class ActionForm(forms.Form):
    description = forms.CharField(label=_("Remedial action"), max_length=300)
    owner = _member_field(_("Owner"))
    due_on = forms.DateField(label=_("Due"), required=False, widget=HtmlDateInput())

    def __init__(self, *args, members=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = members


class AuthorityForm(forms.Form):
    authority_name = forms.CharField(label=_("Authority"), max_length=120, required=False, initial=DEFAULT_AUTHORITY)
    reference = forms.CharField(label=_("Reference"), max_length=120, required=False,
                                help_text=_("The authority's case or receipt number, if any."))
    notified_at = _when(_("Reported at"), required=True)


class PeopleForm(forms.Form):
    count = forms.IntegerField(label=_("People told"), min_value=1, max_value=2**31 - 1)
    channel = forms.CharField(label=_("How"), max_length=120, help_text=_("SMS, letter, phone calls …"))
    notified_at = _when(_("Told at"), required=True)


class ViolationForm(forms.Form):
    subject_kind = forms.ChoiceField(label=_("Against"), choices=[("employee", _("An employee")),
                                                                  ("branch", _("A branch"))])
    subject_membership = _member_field(_("Employee"))
    branch = BranchChoiceField(label=_("Branch"), queryset=None, required=False)
    description = _text(pgettext_lazy("fine", "What happened"), rows=3)

    def __init__(self, *args, members=None, branches=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subject_membership"].queryset = members
        self.fields["branch"].queryset = branches

    def subject(self) -> dict:
        """The subject the service expects: an employee or a branch (the other is left out)."""
        data = self.cleaned_data
        if data["subject_kind"] == "branch":
            return {"subject_membership": None, "branch": data.get("branch")}
        return {"subject_membership": data.get("subject_membership"), "branch": None}


class NoteForm(forms.Form):
    body = _text(_("Note"), rows=2)


class ConfirmForm(forms.Form):
    """The status buttons (contain, close) carry no fields; the form holds the service's message."""
