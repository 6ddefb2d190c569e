"""Forms of the claims pages: filing from a ticket, evidence, assessment, decision, payout, and
the queue's filters. Amounts are text fields: the service checks them (two decimals, above zero)
and its message lands on the field, with what was typed kept."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tenancy.forms import HtmlDateInput, PlainSelect

from ..models import ClaimantRole, ClaimCause, ClaimStatus, ClaimType, EvidenceKind, PayoutMethod

BLANK = [("", "—")]
AMOUNT_ATTRS = {"inputmode": "decimal", "autocomplete": "off", "placeholder": "0.00"}


def _amount(label, required=True, help_text=""):
    return forms.CharField(label=label, max_length=20, required=required, help_text=help_text,
                           widget=forms.TextInput(attrs=AMOUNT_ATTRS))


class ClaimFileForm(forms.Form):
    claim_type = forms.ChoiceField(label=_("Claim type"), choices=BLANK + ClaimType.choices)
    claimant_role = forms.ChoiceField(label=_("Claimant"), choices=ClaimantRole.choices, widget=forms.RadioSelect,
                                      initial=ClaimantRole.RECEIVER)
    claimed_amount = _amount(_("Claimed amount (CNY)"))
    description = forms.CharField(label=pgettext_lazy("claim", "What happened"), required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 3}))


class ClaimEditForm(forms.Form):
    claimant_role = forms.ChoiceField(label=_("Claimant"), choices=ClaimantRole.choices)
    claimed_amount = _amount(_("Claimed amount (CNY)"))
    description = forms.CharField(label=pgettext_lazy("claim", "What happened"), required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 3}))


class EvidenceForm(forms.Form):
    kind = forms.ChoiceField(label=_("What it shows"), choices=EvidenceKind.choices)
    file = forms.FileField(label=_("File (photo or PDF)"))
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class AssessForm(forms.Form):
    assessed_value = _amount(_("Assessed value of the goods (CNY)"), required=False,
                             help_text=_("From the invoice or proof of value; not needed for a delay."))
    damage_percent = forms.CharField(label=_("Damaged share of the value (%)"), max_length=8, required=False,
                                     widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0–100"}),
                                     help_text=_("Damage claims only: 100 when nothing can be used any more."))
    cause = forms.ChoiceField(label=_("Cause"), choices=BLANK + ClaimCause.choices)
    note = forms.CharField(label=_("Assessment note"), required=False, max_length=5000,
                           widget=forms.Textarea(attrs={"rows": 2}))


class ApproveForm(forms.Form):
    amount = _amount(_("Approved amount (CNY)"))
    reason = forms.CharField(label=_("Reason (needed when the amount differs from the rules' amount)"),
                             required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason (the customer is told)"), max_length=5000,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             error_messages={"required": _("Say why the claim is rejected; the customer is told.")})


class PayForm(forms.Form):
    amount = _amount(_("Amount paid (CNY)"))
    method = forms.ChoiceField(label=_("Method"), choices=PayoutMethod.choices)
    payee_name = forms.CharField(label=_("Payee"), max_length=120)
    payee_account = forms.CharField(label=_("Payee account (stored encrypted)"), max_length=80, required=False)
    reference = forms.CharField(label=_("Payment reference"), max_length=80)
    paid_at = forms.DateTimeField(label=_("Paid at (empty: now)"), required=False,
                                  widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                             format="%Y-%m-%dT%H:%M"))
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2}),
                             error_messages={"required": _("Say why the claim is withdrawn.")})


class ClaimNoteForm(forms.Form):
    body = forms.CharField(label=_("Internal note"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class ClaimQueueFilterForm(forms.Form):
    claim_type = forms.ChoiceField(label=_("Type"), choices=BLANK + ClaimType.choices, required=False)
    status = forms.ChoiceField(label=_("Status"), choices=BLANK + ClaimStatus.choices, required=False)
    branch = forms.TypedChoiceField(label=_("Branch"), coerce=int, empty_value=None, required=False,
                                    widget=PlainSelect)
    min_amount = forms.DecimalField(label=_("Amount from"), max_digits=12, decimal_places=2, min_value=0,
                                    required=False)
    max_amount = forms.DecimalField(label=_("to"), max_digits=12, decimal_places=2, min_value=0, required=False)
    search = forms.CharField(label=_("Claim, waybill or ticket number"), max_length=40, required=False)
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=[
        ("", _("Tab default")), ("clock", _("Decision due first")), ("amount", _("Largest amount first")),
        ("new", _("Newest first"))])

    def __init__(self, *args, branches=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].choices = BLANK + [(b.pk, b.name) for b in branches]


class ClaimsReportForm(forms.Form):
    date_from = forms.DateField(label=_("Filed from"), required=False, widget=HtmlDateInput())
    date_to = forms.DateField(label=_("to"), required=False, widget=HtmlDateInput())
    branch = forms.TypedChoiceField(label=_("Branch"), coerce=int, empty_value=None, required=False,
                                    widget=PlainSelect)

    def __init__(self, *args, branches=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].choices = BLANK + [(b.pk, b.name) for b in branches]
