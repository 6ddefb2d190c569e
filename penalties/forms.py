"""Forms of the fines pages. Amounts are text fields: the service checks them (two decimals, above
zero, within the catalogue range or with a reason) and its message lands on the field, with what
was typed kept."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tenancy.forms import HtmlDateInput, PlainSelect

from .models import (
    AppealStatus,
    CaseStatus,
    Detector,
    EntryKind,
    PaymentMethod,
    Severity,
    SubjectKind,
    Tier,
    ViolationCategory,
)

BLANK = [("", "—")]
AMOUNT_ATTRS = {"inputmode": "decimal", "autocomplete": "off", "placeholder": "0.00"}


def _amount(label, required=True, help_text=""):
    return forms.CharField(label=label, max_length=20, required=required, help_text=help_text,
                           widget=forms.TextInput(attrs=AMOUNT_ATTRS))


def _text(label, required=True, rows=3, max_length=5000):
    return forms.CharField(label=label, required=required, max_length=max_length,
                           widget=forms.Textarea(attrs={"rows": rows}))


class ProposeForm(forms.Form):
    violation_type = forms.ModelChoiceField(label=_("Violation"), queryset=None)
    subject_kind = forms.ChoiceField(label=_("Fined"), choices=SubjectKind.choices, initial=SubjectKind.EMPLOYEE)
    subject_membership = forms.ModelChoiceField(label=_("Employee"), queryset=None, required=False)
    branch = forms.ModelChoiceField(label=_("Branch"), queryset=None, required=False,
                                    help_text=_("For a fine against a branch (or a regulator's fine)."))
    amount = _amount(_("Amount (CNY)"), required=False,
                     help_text=_("Empty: the catalogue's default amount for this violation."))
    out_of_range_reason = _text(_("Why outside the catalogue range"), required=False, rows=2)
    occurred_on = forms.DateField(label=_("Occurred on"), widget=HtmlDateInput())
    description = _text(pgettext_lazy("fine", "What happened"))
    ticket_number = forms.CharField(label=_("Ticket number (optional)"), max_length=20, required=False)
    waybill_number = forms.CharField(label=_("Waybill number (optional)"), max_length=40, required=False)

    def __init__(self, *args, types=None, members=None, branches=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["violation_type"].queryset = types
        self.fields["subject_membership"].queryset = members
        self.fields["branch"].queryset = branches
        self.fields["subject_membership"].label_from_instance = lambda m: (
            f"{m.user.display_name or m.user.username} ({m.user.username}, {m.get_role_display()})")


class ConfirmForm(forms.Form):
    note = _text(_("Note (optional)"), required=False, rows=2)


class AppealForm(forms.Form):
    grounds = _text(_("Grounds of the appeal"))
    requested_amount = _amount(_("Amount you consider fair (CNY, optional)"), required=False)


class DecideForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Decision"),
                                choices=BLANK + [c for c in AppealStatus.choices if c[0] != AppealStatus.PENDING])
    reduced_to = _amount(_("Reduced to (CNY)"), required=False, help_text=_("Only for a reduction."))
    reason = _text(_("Reasons for the decision"), rows=2)


class VoidForm(forms.Form):
    reason = _text(_("Why the fine is voided"), rows=2)


class PaymentForm(forms.Form):
    amount = _amount(_("Amount received (CNY)"))
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices)
    paid_on = forms.DateField(label=_("Received on"), widget=HtmlDateInput())
    reference = forms.CharField(label=_("Reference (optional)"), max_length=200, required=False)


class EvidenceForm(forms.Form):
    file = forms.FileField(label=_("File (photo or PDF)"))
    description = forms.CharField(label=_("What it shows"), max_length=300, required=False)


class NoteForm(forms.Form):
    body = _text(_("Note"), rows=2)


class CaseFilterForm(forms.Form):
    q = forms.CharField(label=_("Number or text"), required=False, max_length=60)
    status = forms.ChoiceField(label=_("Status"), choices=BLANK + CaseStatus.choices, required=False,
                               widget=PlainSelect)
    tier = forms.ChoiceField(label=_("Tier"), choices=BLANK + Tier.choices, required=False, widget=PlainSelect)
    category = forms.ChoiceField(label=_("Category"), choices=BLANK + ViolationCategory.choices, required=False,
                                 widget=PlainSelect)
    detector = forms.ChoiceField(label=_("Detected by"), choices=BLANK + Detector.choices, required=False,
                                 widget=PlainSelect)
    date_from = forms.DateField(label=_("Occurred from"), required=False, widget=HtmlDateInput())
    date_to = forms.DateField(label=_("to"), required=False, widget=HtmlDateInput())


class LedgerFilterForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=HtmlDateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=HtmlDateInput())
    branch = forms.ModelChoiceField(label=_("Branch"), queryset=None, required=False)
    subject = forms.ModelChoiceField(label=_("Employee"), queryset=None, required=False)
    violation_type = forms.ModelChoiceField(label=_("Violation"), queryset=None, required=False)
    tier = forms.ChoiceField(label=_("Tier"), choices=BLANK + Tier.choices, required=False, widget=PlainSelect)
    kind = forms.ChoiceField(label=_("Entry"), choices=BLANK + EntryKind.choices, required=False, widget=PlainSelect)
    status = forms.ChoiceField(label=_("Fine status"), choices=BLANK + CaseStatus.choices, required=False,
                               widget=PlainSelect)

    def __init__(self, *args, branches=None, members=None, types=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches
        self.fields["subject"].queryset = members
        self.fields["subject"].label_from_instance = lambda m: m.user.display_name or m.user.username
        self.fields["violation_type"].queryset = types


class ViolationTypeForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=40, help_text=_("Capital letters, digits, underscores."))
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=120)
    name_en = forms.CharField(label=_("Name (English)"), max_length=120)
    category = forms.ChoiceField(label=_("Category"), choices=ViolationCategory.choices)
    amount_min = _amount(_("Amount from (CNY)"))
    amount_max = _amount(_("Amount up to (CNY)"))
    default_amount = _amount(_("Default amount (CNY)"))
    default_severity = forms.ChoiceField(label=_("Default severity"), choices=Severity.choices)
    legal_reference = forms.CharField(label=_("Legal reference"), max_length=200, required=False,
                                      help_text=_("Required for a regulator's fine (law and article)."))
    description = _text(_("Description"), required=False, rows=2)
    detector = forms.ChoiceField(label=_("Detector"), choices=BLANK + Detector.choices, required=False,
                                 help_text=_("The automatic check that proposes fines of this type."))
    is_active = forms.BooleanField(label=_("In use"), required=False, initial=True)
    note = forms.CharField(label=_("What changed and why"), max_length=300, required=False)
