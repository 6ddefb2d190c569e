"""Forms of the agent console, the ticket page, the desk set-up pages and the public form."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import (
    AssignMode,
    CustomerClass,
    MacroAction,
    ReplyStage,
    TicketCategory,
    TicketChannel,
    TicketPriority,
    TicketStatus,
)

BLANK = [("", "—")]
AGENT_CHANNELS = [c for c in TicketChannel.choices if c[0] != TicketChannel.SYSTEM]


class LookupForm(forms.Form):
    q = forms.CharField(label=_("Caller's phone, waybill number, customer number or name"), max_length=60,
                        required=False)


class TicketCreateForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=AGENT_CHANNELS, initial=TicketChannel.PHONE)
    category = forms.ChoiceField(label=_("Category"), choices=BLANK + TicketCategory.choices)
    priority = forms.ChoiceField(label=_("Priority"), choices=TicketPriority.choices, initial=TicketPriority.NORMAL)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(label=_("What the customer says"), widget=forms.Textarea(attrs={"rows": 4}),
                                  required=False)
    customer_id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    caller_phone = forms.CharField(label=_("Caller's phone"), max_length=40, required=False)
    caller_name = forms.CharField(label=_("Caller's name"), max_length=80, required=False)
    waybill_number = forms.CharField(label=_("Waybill number"), max_length=40, required=False)
    tags = forms.CharField(label=_("Tags (comma-separated)"), max_length=300, required=False)


class ReplyForm(forms.Form):
    kind = forms.ChoiceField(choices=[("reply", _("Public reply")), ("note", _("Internal note"))], initial="reply",
                             widget=forms.RadioSelect)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 5}), max_length=20000)
    stage = forms.ChoiceField(label=_("Stage"), choices=ReplyStage.choices, initial=ReplyStage.PROGRESS)
    then_status = forms.ChoiceField(label=_("Then"), required=False, choices=[
        ("", _("keep the status")), (TicketStatus.WAITING_CUSTOMER, _("wait for the customer")),
        (TicketStatus.RESOLVED, _("resolve"))])
    macro_id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    kb_articles = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_kb_articles(self) -> tuple[int, ...]:
        raw = self.cleaned_data.get("kb_articles") or ""
        return tuple(dict.fromkeys(int(x) for x in raw.split(",") if x.strip().isdecimal()))[:20]


class DetailsForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=TicketCategory.choices)
    priority = forms.ChoiceField(label=_("Priority"), choices=TicketPriority.choices)
    team = forms.TypedChoiceField(label=_("Team"), coerce=int, empty_value=0, required=False)
    tags = forms.CharField(label=_("Tags"), max_length=300, required=False)
    waybill_number = forms.CharField(label=_("Waybill number"), max_length=40, required=False)
    reason = forms.CharField(label=_("Why (optional)"), max_length=500, required=False)

    def __init__(self, *args, teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [(0, "—"), *((t.pk, t.name) for t in teams)]


class MergeForm(forms.Form):
    duplicates = forms.TypedMultipleChoiceField(label=_("Duplicates to merge into this ticket"), coerce=int,
                                                widget=forms.CheckboxSelectMultiple)
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["duplicates"].choices = [(t.pk, f"{t.number} · {t.subject}") for t in candidates]


class SplitForm(forms.Form):
    subject = forms.CharField(label=_("Subject of the new ticket"), max_length=200)
    category = forms.ChoiceField(label=_("Category"), choices=BLANK + TicketCategory.choices, required=False)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File"))


class TeamForm(forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=30)
    name = forms.CharField(label=_("Name"), max_length=80)
    assign_mode = forms.ChoiceField(label=_("Automatic assignment"), choices=AssignMode.choices)
    lead_id = forms.TypedChoiceField(label=_("Team lead"), coerce=int, empty_value=None, required=False)
    member_ids = forms.TypedMultipleChoiceField(label=_("Members"), coerce=int, required=False,
                                                widget=forms.CheckboxSelectMultiple)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(m.pk, f"{m.user} · {m.get_role_display()}") for m in members]
        self.fields["lead_id"].choices = BLANK + choices
        self.fields["member_ids"].choices = choices


class RoutingRuleForm(forms.Form):
    position = forms.IntegerField(label=_("Order"), min_value=0, max_value=100000, initial=100)
    name = forms.CharField(label=_("Name"), max_length=80)
    category = forms.ChoiceField(label=_("Category"), choices=[("", _("any"))] + TicketCategory.choices,
                                 required=False)
    priority = forms.ChoiceField(label=_("Priority"), choices=[("", _("any"))] + TicketPriority.choices,
                                 required=False)
    branch_id = forms.TypedChoiceField(label=_("Branch or region"), coerce=int, empty_value=None, required=False)
    customer_class = forms.ChoiceField(label=_("Customer"), choices=CustomerClass.choices, required=False)
    team_id = forms.TypedChoiceField(label=_("Send to team"), coerce=int)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, teams=(), branches=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team_id"].choices = [(t.pk, t.name) for t in teams]
        self.fields["branch_id"].choices = [("", _("any"))] + [(b.pk, b.name) for b in branches]


class MacroForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    action = forms.ChoiceField(label=_("Posts as"), choices=MacroAction.choices)
    stage = forms.ChoiceField(label=_("Reply stage"), choices=ReplyStage.choices, initial=ReplyStage.PROGRESS)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 5}),
                           help_text=_("Variables: {customer_name} {ticket_number} {ticket_subject} {waybill_number} "
                                       "{agent_name} {first_response_due} {resolution_due} {status}"))
    set_status = forms.ChoiceField(label=_("Then set status"), choices=BLANK + TicketStatus.choices, required=False)
    set_category = forms.ChoiceField(label=_("Then set category"), choices=BLANK + TicketCategory.choices,
                                     required=False)
    set_priority = forms.ChoiceField(label=_("Then set priority"), choices=BLANK + TicketPriority.choices,
                                     required=False)
    team_id = forms.TypedChoiceField(label=_("Only for team"), coerce=int, empty_value=None, required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team_id"].choices = [("", _("everyone"))] + [(t.pk, t.name) for t in teams]


PUBLIC_CATEGORIES = [c for c in TicketCategory.choices if c[0] not in (TicketCategory.CLAIM,)]


class PublicTicketForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=80)
    phone = forms.CharField(label=_("Mobile phone"), max_length=40)
    email = forms.EmailField(label=_("Email (optional, for our replies)"), required=False)
    waybill_number = forms.CharField(label=_("Waybill number (if about a parcel)"), max_length=40, required=False)
    category = forms.ChoiceField(label=_("What is it about?"), choices=BLANK + PUBLIC_CATEGORIES)
    description = forms.CharField(label=_("Tell us what happened"), widget=forms.Textarea(attrs={"rows": 5}),
                                  max_length=5000)
    consent = forms.BooleanField(label=_("I agree that my contact details are used to handle this request."))
    website = forms.CharField(required=False, widget=forms.TextInput(attrs={"tabindex": "-1",
                                                                            "autocomplete": "off"}))
